"""Training-data exports: each line validated against its format, built from current decisions only, with
prompts from the store (or the documented fallback), and the pairs formed as documented."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import pytest
from feedback_support import llm_like_result, refund_draft, scripted_result

from crossfield.feedback import FALLBACK_SYSTEM, ExportFilters, RenderedPrompt, Store, StoreError, export
from crossfield.feedback._formats import LINE_SCHEMAS, validate_file, validate_record
from crossfield.judgment.models import Category, HypothesisDraft

JSONL_FORMATS = ["openai-sft", "openai-dpo", "trl-preference", "trl-kto"]
PROMPT = RenderedPrompt("judge-v1", "ph1", "charges", "You are the judge.", "Here is the charges chunk.")


def _answer(draft: HypothesisDraft) -> str:
    return draft.model_dump_json()


@pytest.fixture
def labelled(tmp_path: Path) -> dict[str, Any]:
    """An LLM run (with a stored prompt) and a heuristic run, each hypothesis with a decision."""
    store = Store.open(tmp_path / "export.duckdb")
    llm_drafts = [refund_draft(i) for i in range(4)]
    llm_run = store.record_judge_run(llm_like_result(llm_drafts), prompts=[PROMPT])
    heuristic_drafts = [refund_draft(10, category=Category.STATE_TRANSITION), refund_draft(11)]
    heuristic_run = store.record_judge_run(scripted_result(heuristic_drafts))
    by_title = {h.title: h.id for h in store.hypotheses(as_="models")}
    ids = [by_title[d.title] for d in llm_drafts + heuristic_drafts]
    rewrite = refund_draft(40, title="Refunds are capped at the captured amount")
    store.decide(ids[0], "accept", reviewer="ana")
    store.decide(ids[1], "reject", reviewer="ana", reason="wrong")
    store.decide(ids[2], "rewrite", reviewer="ana", rewritten=rewrite)
    store.decide(ids[3], "accept", reviewer="ana")
    store.decide(ids[3], "reject", reviewer="bo", reason="duplicate")  # supersedes the accept
    store.decide(ids[4], "accept", reviewer="ana")
    # ids[5] stays undecided: no label, in no export.
    return {
        "store": store, "ids": ids, "llm": llm_drafts, "heuristic": heuristic_drafts, "rewrite": rewrite,
        "runs": (llm_run, heuristic_run), "tmp": tmp_path,
    }  # fmt: skip


def _lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


@pytest.mark.parametrize("fmt", JSONL_FORMATS)
def test_every_line_matches_its_format(labelled: dict[str, Any], fmt: str) -> None:
    out = labelled["tmp"] / f"{fmt}.jsonl"
    summary = export(labelled["store"], fmt, out)
    assert summary.records == len(out.read_text().splitlines()) > 0
    assert validate_file(fmt, out) == []


def test_sft_has_accepted_and_rewritten_answers_with_their_prompts(labelled: dict[str, Any]) -> None:
    out = labelled["tmp"] / "sft.jsonl"
    export(labelled["store"], "openai-sft", out)
    lines = _lines(out)
    answers = [line["messages"][-1]["content"] for line in lines]
    llm, heuristic = labelled["llm"], labelled["heuristic"]
    assert answers == [_answer(llm[0]), _answer(labelled["rewrite"]), _answer(heuristic[0])]
    # The LLM hypotheses carry the rendered prompt that produced them...
    assert lines[0]["messages"][:2] == [
        {"role": "system", "content": PROMPT.system},
        {"role": "user", "content": PROMPT.user},
    ]
    assert lines[1]["messages"][:2] == lines[0]["messages"][:2]
    # ...the heuristic one gets the fallback: fixed system text, the operations involved.
    system, user = lines[2]["messages"][0]["content"], lines[2]["messages"][1]["content"]
    assert system == FALLBACK_SYSTEM
    assert user.startswith("API: Payments API 1.4.0\nOperations involved:\n- createCharge: POST /charges")
    assert "body.amount (integer, required, min 50, max 99999999)" in user
    assert "- createRefund: POST /charges/{charge_id}/refunds" in user and "listCharges" not in user
    # The answer is a draft: what a judge writes, without id or provenance.
    assert "provenance" not in json.loads(answers[0]) and "id" not in json.loads(answers[0])


def test_preference_pairs_are_rewrites_then_good_vs_bad_for_the_same_prompt(labelled: dict[str, Any]) -> None:
    out = labelled["tmp"] / "dpo.jsonl"
    export(labelled["store"], "openai-dpo", out)
    pairs = [
        (p["preferred_output"][0]["content"], p["non_preferred_output"][0]["content"]) for p in _lines(out)
    ]
    llm, rewrite = labelled["llm"], labelled["rewrite"]
    # The rewrite over its original; then, for the one shared LLM prompt, good answers {llm0, rewrite}
    # against bad ones {llm1, llm3}: max(2, 2) = 2 pairs. The heuristic run has no rejected answer.
    assert pairs == [
        (_answer(rewrite), _answer(llm[2])),
        (_answer(llm[0]), _answer(llm[1])),
        (_answer(rewrite), _answer(llm[3])),
    ]
    assert all(p["input"]["messages"][0]["content"] == PROMPT.system for p in _lines(out))
    trl = labelled["tmp"] / "trl.jsonl"
    export(labelled["store"], "trl-preference", trl)
    assert [(p["chosen"][0]["content"], p["rejected"][0]["content"]) for p in _lines(trl)] == pairs


def test_kto_labels_every_current_decision(labelled: dict[str, Any]) -> None:
    out = labelled["tmp"] / "kto.jsonl"
    export(labelled["store"], "trl-kto", out)
    llm, heuristic, rewrite = labelled["llm"], labelled["heuristic"], labelled["rewrite"]
    assert [(line["completion"][0]["content"], line["label"]) for line in _lines(out)] == [
        (_answer(llm[0]), True),
        (_answer(llm[1]), False),
        (_answer(rewrite), True),
        (_answer(llm[2]), False),
        (_answer(llm[3]), False),  # the superseded accept is history, not a label
        (_answer(heuristic[0]), True),
    ]


def test_heuristic_hypotheses_about_the_same_operations_share_a_prompt_and_pair(tmp_path: Path) -> None:
    store = Store.open(tmp_path / "h.duckdb")
    store.record_judge_run(scripted_result([refund_draft(1), refund_draft(2)]))
    good, bad = (r["hypothesis_id"] for r in store.hypotheses())
    store.decide(good, "accept", reviewer="r")
    store.decide(bad, "reject", reviewer="r", reason="not_risky")
    out = tmp_path / "pairs.jsonl"
    assert export(store, "trl-preference", out).records == 1
    assert validate_file("trl-preference", out) == []


def test_filters(labelled: dict[str, Any]) -> None:
    store, tmp = labelled["store"], labelled["tmp"]

    def count(**filters: Any) -> int:
        return export(store, "trl-kto", tmp / "f.jsonl", ExportFilters(**filters)).records

    assert count() == 6
    assert count(category="state_transition") == 1
    assert count(model="test-model") == 5 and count(model="other") == 0
    assert count(prompt_id="judge-v1") == 5
    today = datetime.now(UTC).date()
    assert count(since=today.isoformat()) == 6 and count(until=today.isoformat()) == 6  # until is inclusive
    assert count(until=(today - timedelta(days=1)).isoformat()) == 0
    assert count(since=(today + timedelta(days=1)).isoformat()) == 0
    assert count(since=datetime.now(UTC) + timedelta(hours=1)) == 0
    assert count(until=(datetime.now(UTC) + timedelta(minutes=5)).isoformat()) == 6
    with pytest.raises(StoreError, match="not a date"):
        count(since="last week")


def test_parquet_is_a_snapshot_of_every_table(labelled: dict[str, Any]) -> None:
    store, out = labelled["store"], labelled["tmp"] / "snapshot"
    summary = export(store, "parquet", out)
    names = {p.stem for p in out.glob("*.parquet")}
    assert {"hypotheses", "decisions", "current_decisions", "judge_runs", "llm_calls", "prompts", "specs",
            "generated_tests", "test_runs", "test_results", "http_exchanges", "schema_migrations"} <= names  # fmt: skip
    con = duckdb.connect()
    for name in names:
        parquet_rows = con.execute(f"SELECT count(*) FROM read_parquet('{out / name}.parquet')").fetchone()[0]
        assert (
            parquet_rows == summary.tables[name] == store.sql(f'SELECT count(*) AS n FROM "{name}"')[0]["n"]
        )
    con.close()
    import pyarrow.parquet as pq

    assert pq.read_table(out / "decisions.parquet").num_rows == 6
    export(store, "parquet", out)  # writing again overwrites
    with pytest.raises(StoreError, match="full snapshots"):
        export(store, "parquet", out, ExportFilters(category="pagination"))


def test_unknown_format(labelled: dict[str, Any]) -> None:
    with pytest.raises(StoreError, match="unknown export format"):
        export(labelled["store"], "csv", labelled["tmp"] / "x")


def test_an_empty_store_exports_empty_files(tmp_path: Path) -> None:
    store = Store.open(tmp_path / "empty.duckdb")
    for fmt in JSONL_FORMATS:
        assert export(store, fmt, tmp_path / f"{fmt}.jsonl").records == 0
        assert (tmp_path / f"{fmt}.jsonl").read_text() == ""


# ---- the validators themselves -------------------------------------------------------------------------


def _good() -> str:
    return _answer(refund_draft(1))


@pytest.mark.parametrize(
    ("fmt", "record", "problem"),
    [
        ("openai-sft", {"messages": [{"role": "user", "content": "hi"}]}, "too short"),
        ("openai-sft", {"messages": [{"role": "system", "content": "s"}, {"role": "user", "content": "u"}]}, "last message"),
        ("openai-sft", {"messages": [{"role": "user", "content": "u"}, {"role": "assistant", "content": "{}"}]}, "not a valid hypothesis"),
        ("openai-sft", {"messages": [{"role": "assistant", "content": _good()}, {"role": "assistant", "content": _good()}]}, "messages/0"),
        ("openai-dpo", {"input": {"messages": [{"role": "user", "content": "u"}]}, "preferred_output": [{"role": "assistant", "content": _good()}]}, "non_preferred_output"),
        ("openai-dpo", {"input": {"messages": [{"role": "user", "content": "u"}]}, "preferred_output": [{"role": "assistant", "content": _good()}], "non_preferred_output": [{"role": "assistant", "content": _good()}]}, "identical"),
        ("trl-preference", {"prompt": "u", "chosen": [], "rejected": []}, "is not of type"),
        ("trl-kto", {"prompt": [{"role": "user", "content": "u"}], "completion": [{"role": "assistant", "content": _good()}], "label": "yes"}, "is not of type 'boolean'"),
        ("trl-kto", {"prompt": [{"role": "user", "content": "u"}], "completion": [{"role": "assistant", "content": _good()}], "label": True, "extra": 1}, "Additional properties"),
    ],
)  # fmt: skip
def test_validators_reject_bad_lines(fmt: str, record: dict[str, Any], problem: str) -> None:
    problems = validate_record(fmt, record)
    assert problems and any(problem in p for p in problems), problems


def test_line_schemas_are_valid_json_schemas() -> None:
    import jsonschema

    for schema in LINE_SCHEMAS.values():
        jsonschema.Draft202012Validator.check_schema(schema)
