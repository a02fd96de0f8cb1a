"""The spec digest and chunking by resource under a token budget."""

from __future__ import annotations

import logging

import pytest

from crossfield.judgment.base import Requirement
from crossfield.judgment.llm import ChunkBuilder, LLMJudge, estimate_tokens
from crossfield.judgment.llm.digest import render_field, render_operation, resource_key, select_requirements
from crossfield.spec import Api, load_spec_from_text
from crossfield.spec.interactions import build_interaction_map


def big_spec(resources: int, ops_per_resource: int = 3, prose: int = 600) -> Api:
    lines = ["openapi: 3.0.3", "info: {title: Big, version: '1'}", "paths:"]
    for r in range(resources):
        lines += [
            f"  /v1/res{r}:",
            "    post:",
            f"      operationId: createRes{r}",
            f"      description: {'Long words about the resource. ' * (prose // 31)}",
            "      requestBody:",
            "        content:",
            "          application/json:",
            "            schema:",
            "              type: object",
            "              required: [name]",
            "              properties:",
            "                name: {type: string, maxLength: 40, description: The name.}",
            "                start: {type: string, format: date}",
            "                end: {type: string, format: date}",
            "      responses: {'201': {description: ok, content: {application/json: {schema: {type: object, properties: {id: {type: string}}}}}}}",
        ]
        for k in range(ops_per_resource - 1):
            lines += [
                f"  /v1/res{r}/{{res_id}}/action{k}:",
                "    post:",
                f"      operationId: act{k}Res{r}",
                f"      description: {'Acting on it changes state. ' * (prose // 28)}",
                "      parameters: [{name: res_id, in: path, required: true, schema: {type: string}}]",
                "      responses: {'200': {description: ok}}",
            ]
    return load_spec_from_text("\n".join(lines) + "\n", name="big.yaml")


def test_field_lines_are_compact_and_complete(api: Api) -> None:
    op = api.operation("createCharge")
    assert op is not None
    amount = op.field("body.amount")
    currency = op.field("body.currency")
    assert amount is not None and currency is not None
    assert render_field(amount, description_limit=140) == (
        "body.amount* integer min=50 max=99999999 \u2014 Amount in the smallest currency unit."
    )
    assert render_field(currency, description_limit=0) == "body.currency* string enum=[usd,eur]"


def test_operation_digest(api: Api) -> None:
    seen: dict[tuple[str, ...], str] = {}
    text = render_operation(api.operation("createCharge"), api, response_seen=seen)  # type: ignore[arg-type]
    assert text.startswith("## createCharge \u2014 POST /charges\nptr: /paths/~1charges/post")
    assert "header.Idempotency-Key string maxLen=255" in text
    assert "body (application/json, required):" in text
    assert "response.amount_refunded integer ro" in text
    again = render_operation(api.operation("getCharge"), api, response_seen=seen)  # type: ignore[arg-type]
    assert "response 200: same fields as createCharge" in again  # identical shapes written once


def test_resources_ignore_version_prefixes_and_parameters(api: Api) -> None:
    big = big_spec(1)
    assert {resource_key(op) for op in big.operations} == {"res0"}
    assert {resource_key(op) for op in api.operations} == {"charges", "customers"}


def test_chunks_fit_the_budget_and_keep_resources_together() -> None:
    api = big_spec(12)
    builder = ChunkBuilder(api, budget_tokens=3000, overhead_tokens=1000)
    chunks = builder.build()
    assert len(chunks) > 1
    assert sorted(op for c in chunks for op in c.operation_ids) == sorted(op.id for op in api.operations)
    for chunk in chunks:
        size = estimate_tokens(chunk.digest) + estimate_tokens(chunk.related) + estimate_tokens(chunk.facts)
        assert size <= builder.content_budget
        resources = {resource_key(op) for op in api.operations if op.id in chunk.operation_ids}
        for resource in resources:  # a resource is never split when it fits a chunk on its own
            members = {op.id for op in api.operations if resource_key(op) == resource}
            assert members <= set(chunk.operation_ids)
    assert [c.index for c in chunks] == list(range(1, len(chunks) + 1))
    assert len({c.name for c in chunks}) == len(chunks)
    assert ChunkBuilder(api, budget_tokens=3000, overhead_tokens=1000).build() == chunks  # deterministic


def test_a_resource_too_big_for_one_chunk_is_split() -> None:
    api = big_spec(1, ops_per_resource=8, prose=1400)
    chunks = ChunkBuilder(api, budget_tokens=2000, overhead_tokens=900).build()
    assert len(chunks) > 1
    assert all(c.name.startswith("res0 (") for c in chunks)


def wide_spec(fields: int, name_length: int) -> Api:
    props = "\n".join(
        f"                {'f' * name_length}{i}: {{type: string, description: {'A long field description. ' * 6}}}"
        for i in range(fields)
    )
    return load_spec_from_text(f"""openapi: 3.0.3
info: {{title: Wide, version: '1'}}
paths:
  /wide:
    post:
      operationId: createWide
      requestBody:
        content:
          application/json:
            schema:
              type: object
              properties:
{props}
      responses: {{'201': {{description: ok}}}}
""")


def test_an_operation_too_big_alone_is_rendered_shorter(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="crossfield")
    [chunk] = ChunkBuilder(wide_spec(150, 1), budget_tokens=900, overhead_tokens=850).build()
    assert "token budget 900 leaves 50 tokens" in caplog.text  # the builder says the budget is too small
    assert not chunk.oversize
    assert "A long field description" not in chunk.digest  # descriptions dropped, fields kept
    assert "body.f0 string" in chunk.digest and "90 more body fields" in chunk.digest


def test_an_operation_too_big_even_in_its_shortest_form_is_flagged() -> None:
    flagged: list[tuple[str, int]] = []
    [chunk] = ChunkBuilder(wide_spec(80, 60), budget_tokens=900, overhead_tokens=850).build(
        on_oversize=lambda name, size: flagged.append((name, size))
    )
    assert chunk.oversize and flagged[0][0] == "wide" and flagged[0][1] > 800


def test_max_operations_per_chunk(api: Api) -> None:
    chunks = ChunkBuilder(api, budget_tokens=50_000, max_operations=1).build()
    assert [len(c.operation_ids) for c in chunks] == [1] * len(api.operations)


def test_facts_and_related_operations(api: Api) -> None:
    imap = build_interaction_map(api)
    chunks = ChunkBuilder(api, budget_tokens=50_000, interaction_map=imap, max_operations=1).build()
    refund = next(c for c in chunks if c.operation_ids == ("createRefund",))
    assert "- link:" in refund.facts and '"consumer":"createRefund"' in refund.facts
    assert "- createCharge \u2014 POST /charges" in refund.related  # the producer of charge_id
    assert "requires body.amount:integer" in refund.related


def test_related_operations_without_an_interaction_map(api: Api) -> None:
    chunks = ChunkBuilder(api, budget_tokens=50_000, max_operations=1).build()
    refund = next(c for c in chunks if c.operation_ids == ("createRefund",))
    assert refund.facts == "" and "- createCharge \u2014 POST /charges" in refund.related


def test_judge_reports_the_prompt_size_of_every_chunk(api: Api) -> None:
    judge = LLMJudge("anthropic", api_key="x", cache=False, chunk_operations=2)
    prepared = judge.prepare(api)
    assert len(prepared) == 3
    for item in prepared:
        assert item.prompt_tokens == estimate_tokens(item.system) + estimate_tokens(
            judge._schema_json
        ) + estimate_tokens(item.user)
        assert item.prompt_tokens <= judge.budget_tokens
        assert f"# Part {item.chunk.index} of 3: {item.name}" in item.user
    assert len({p.request_key for p in prepared}) == 3


def test_large_requirement_sets_are_filtered_per_chunk(api: Api) -> None:
    many = [Requirement(f"REQ-{i}", "Unrelated filler about invoices and shipping. " * 5) for i in range(60)]
    many.append(Requirement("REQ-999", "A refund never exceeds the charge amount."))
    ops = [api.operation("createRefund")]
    picked = select_requirements(many, ops, budget_tokens=500)  # type: ignore[arg-type]
    assert [r.id for r in picked] == ["REQ-999"]
    assert select_requirements(many[:2], ops, budget_tokens=5000) == many[:2]  # type: ignore[arg-type]


@pytest.mark.parametrize("budget", [900, 1_500, 50_000])
@pytest.mark.parametrize("with_map", [True, False])
def test_a_growing_chunk_measures_what_it_renders(api: Api, budget: int, with_map: bool) -> None:
    """Packing adds operations to a running size; it must equal the size of the chunk rendered anew, facts
    cut to their budget, shared response shapes and related operations included."""
    imap = build_interaction_map(api) if with_map else None
    builder = ChunkBuilder(api, budget_tokens=budget, overhead_tokens=0, interaction_map=imap)
    ops = list(api.operations) * 2  # the second round meets every response shape and fact again
    pack = builder.pack()
    for n, op in enumerate(ops, 1):
        pack.add([op])
        fresh = ChunkBuilder(api, budget_tokens=budget, overhead_tokens=0, interaction_map=imap)
        texts = fresh.render(ops[:n])
        assert pack.render() == texts
        assert pack.size() == fresh.size(ops[:n]) == sum(estimate_tokens(t) for t in texts)


def test_requirements_match_whole_words_only(api: Api) -> None:
    ops = [api.operation("createRefund")]
    reqs = [
        Requirement("A", "createrefunds is another word"),
        Requirement("B", "(createRefund) must be idempotent"),
        Requirement("C", "refund_amount and xcharges are other words"),
        Requirement("D", "x" * 4000),
    ]
    picked = select_requirements(reqs, ops, budget_tokens=100)  # type: ignore[arg-type]
    assert [r.id for r in picked] == ["B"]
