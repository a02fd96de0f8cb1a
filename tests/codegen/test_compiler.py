"""The compiler: determinism, file layout, names, bodies as literals, the schemas data file, writing."""

from __future__ import annotations

import ast
import json
import os
import random
import subprocess
import sys
from pathlib import Path

import codegen_shop_hypotheses as shop_hyps
import pytest
from codegen_support import config_from_toml

from crossfield.codegen import compile_hypotheses, compile_suite, generate, write_suite
from crossfield.codegen._literals import comment_text, doc_text, py_str, render
from crossfield.codegen._names import Namer, identifier, slug
from crossfield.codegen.compiler import resource_of
from crossfield.errors import HypothesisError
from crossfield.judgment.models import Body, Hypothesis, LiteralValue, Step
from crossfield.spec import Api

HERE = Path(__file__).resolve().parent


def hypotheses() -> list[Hypothesis]:
    return [c.hypothesis for c in shop_hyps.cases()]


def test_same_input_gives_byte_identical_files(shop_api: Api) -> None:
    first = compile_hypotheses(hypotheses(), shop_api)
    shuffled = hypotheses()
    random.Random(7).shuffle(shuffled)
    second = compile_hypotheses(shuffled + shuffled[:3], shop_api)
    assert first == second
    assert list(first) == sorted(first)


def test_determinism_across_processes_and_hash_seeds(tmp_path: Path) -> None:
    """Set iteration order changes with PYTHONHASHSEED; the output must not."""
    script = (
        "import json, sys, hashlib\n"
        f"sys.path.insert(0, {str(HERE)!r})\n"
        "import codegen_shop_hypotheses as h\n"
        "from crossfield.spec import load_spec\n"
        "from crossfield.codegen import compile_hypotheses\n"
        f"api = load_spec({str(HERE.parent / 'golden' / 'codegen' / 'shop_openapi.json')!r}, cache=False)\n"
        "files = compile_hypotheses([c.hypothesis for c in h.cases()], api)\n"
        "print(hashlib.sha256(json.dumps(files, sort_keys=True).encode()).hexdigest())\n"
    )
    digests = set()
    for seed in ("1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        out = subprocess.run(
            [sys.executable, "-c", script], capture_output=True, text=True, env=env, check=True
        )
        digests.add(out.stdout.strip())
    assert len(digests) == 1


def test_layout_one_module_per_resource(shop_api: Api) -> None:
    suite = compile_suite(hypotheses(), shop_api, config=config_from_toml(shop_hyps.SHOP_CONFIG))
    assert set(suite.files) == {
        "conftest.py",
        "crossfield.toml",
        "crossfield_schemas.json",
        "test_orders.py",
        "test_products.py",
        "test_promotions.py",
        "test_refunds.py",
        "test_users.py",
    }
    assert len(suite.tests) == len(hypotheses())
    for hypothesis_id, nodeid in suite.tests.items():
        file, _, name = nodeid.partition("::")
        tree = ast.parse(suite.files[file])
        functions = {f.name: f for f in tree.body if isinstance(f, ast.FunctionDef)}
        assert hypothesis_id in ast.get_docstring(functions[name]) or ""
    rows = suite.generated_tests()
    assert {r["hypothesis_id"] for r in rows} == set(suite.tests)
    assert not suite.warnings


def test_schemas_file_holds_data_for_the_operations_called(shop_api: Api) -> None:
    files = compile_hypotheses(hypotheses()[:1], shop_api, config=config_from_toml(shop_hyps.SHOP_CONFIG))
    data = json.loads(files["crossfield_schemas.json"])
    assert data["format"] == "crossfield.schemas/1"
    assert set(data["operations"]) == {op.id for op in shop_api.operations}
    create = data["operations"]["createOrder"]
    assert (create["method"], create["path"]) == ("POST", "/orders")
    assert create["responses"]["201"] == {"$ref": "#/$defs/Order"}
    assert "Order" in data["$defs"] and "Item" in data["$defs"]
    assert "responses" in data["operations"]["login"], "the login operation of an identity is checked too"
    assert "responses" not in data["operations"]["listProducts"]


def test_identity_warnings(shop_api: Api) -> None:
    suite = compile_suite(hypotheses(), shop_api)
    assert len(suite.warnings) == 2
    assert "identity 'bob'" in suite.warnings[0] and "identity 'carol'" in suite.warnings[1]


def test_bodies_are_literals_with_captures_as_variables(shop_api: Api) -> None:
    (case,) = [c for c in shop_hyps.cases() if c.bug == "refund-exceeds-total"]
    source = compile_hypotheses([case.hypothesis], shop_api)["test_refunds.py"]
    assert 'json={"items": [{"price": 500, "quantity": 1}]},' in source
    assert 'json={"amount": total - 299},' in source
    assert 'path={"order_id": order_id},' in source
    assert 'order_id = create_order.capture("/id")' in source
    assert "# 201 more than the 200 that remain." in source
    assert "expect=409," in source


def test_duplicate_titles_get_distinct_names(shop_api: Api) -> None:
    base = hypotheses()[0]
    twin = base.model_copy(update={"rationale": "Another reason, another id.", "id": ""})
    twin = Hypothesis.model_validate(twin.model_dump(exclude={"id"}))
    suite = compile_suite([base, twin], shop_api)
    names = sorted(n.partition("::")[2] for n in suite.tests.values())
    assert names == [
        "test_coupon_code_and_gift_card_cannot_be_combined",
        "test_coupon_code_and_gift_card_cannot_be_combined_2",
    ]


def test_ungrounded_hypotheses_are_refused(shop_api: Api) -> None:
    broken = hypotheses()[0].model_copy(
        update={"steps": [Step(id="s", operation="nope", body=Body(overrides={"x": LiteralValue(value=1)}))]}
    )
    with pytest.raises(HypothesisError, match="unknown operation 'nope'"):
        compile_hypotheses([broken], shop_api)


def test_drafts_are_accepted(shop_api: Api) -> None:
    draft = hypotheses()[0].draft()
    assert len(compile_suite([draft], shop_api).tests) == 1


def test_write_suite_and_generate_prune_stale_modules(shop_api: Api, tmp_path: Path) -> None:
    (tmp_path / "test_mine.py").write_text("def test_hand_written():\n    pass\n")
    suite = generate(hypotheses(), shop_api, tmp_path)
    assert (tmp_path / "test_users.py").exists()
    fewer = [h for h in hypotheses() if h.category.value not in ("mass_assignment", "rate_limiting")]
    again = generate(fewer, shop_api, tmp_path)
    assert [p.name for p in again.removed] == ["test_users.py"]
    assert not (tmp_path / "test_users.py").exists()
    assert (tmp_path / "test_mine.py").exists(), "files crossfield did not generate are never touched"
    assert not list(tmp_path.glob(".*.tmp")), "no temporary files are left behind"
    assert suite.out_dir == tmp_path
    with pytest.raises(ValueError, match="outside"):
        write_suite({"../escape.py": "x"}, tmp_path)


def test_resource_names(shop_api: Api) -> None:
    op = shop_api.operation("login")
    assert op is not None and resource_of(op) == "login"
    assert resource_of(op.__class__(id="x", method="get", path="/v2/api/line-items/{id}")) == "line_items"
    assert resource_of(op.__class__(id="x", method="get", path="/{id}")) == "api"
    assert resource_of(op.__class__(id="x", method="get", path="/x", tags=("Ünïcode Tág",))) == "unicode_tag"


# ---- the primitives the compiler builds on ----------------------------------------------------------


def test_identifiers_are_sanitized() -> None:
    assert slug("Refund > remaining!") == "refund_remaining"
    assert slug("tеst") == "tst", "a Cyrillic е is dropped, never kept as a look-alike"
    assert slug("ｉｍｐｏｒｔ") == "import", "full-width letters fold to ASCII"
    assert slug("\u202e\u200b") == "x"
    assert identifier("import") == "import_"
    assert identifier("match") == "match_"
    assert identifier("2fa") == "value_2fa"
    assert identifier("api", reserved=frozenset({"api"})) == "api_"
    namer = Namer(frozenset({"api"}))
    assert [namer.name("step", "charge"), namer.name("capture", "charge"), namer.name("step", "charge")] == [
        "charge",
        "charge_2",
        "charge",
    ]


def test_literals_round_trip() -> None:
    values = [
        "it's",
        'say "hi"',
        "both ' and \"",
        "\\",
        "\u2028\u202e\x00\r\n\t",
        "lone \ud800 surrogate",
        {"\udfff": ["\ud800", None, True, 1.5, -3, 10**30]},
        [],
        {},
    ]
    for value in values:
        assert ast.literal_eval(render(value)) == value
    assert py_str("plain") == '"plain"'
    assert ast.unparse(ast.parse(render(float("nan")), mode="eval")) == "float('nan')"
    assert render(-0.0) == "-0.0"


def test_docstring_and_comment_text_cannot_escape() -> None:
    hostile = 'a"""b\\"\n\r\u2028\u202e\x00 c'
    text = doc_text(hostile)
    assert '"""' not in text and "\n" not in text and "\r" not in text
    doc = ast.literal_eval('"""' + text + '\n"""')
    assert doc.strip() == 'a"""b\\" \u202e\x00 c'
    comment = comment_text(hostile)
    assert "\n" not in comment and "\r" not in comment and "\u2028" not in comment
    assert "\\u202e" in comment and "\\x00" in comment
    tree = ast.parse(f"# {comment}\nx = 1\n")
    assert len(tree.body) == 1


def test_every_expectation_on_every_step_kind_maps_to_a_runtime_method(shop_api: Api) -> None:
    """Whatever the contract allows, the generated call exists on the object the step returns."""
    from crossfield.codegen.runtime import Group, Response, Walk
    from crossfield.judgment.models import (
        Category,
        CollectionExpectation,
        ConformsExpectation,
        FieldRef,
        GroupExpectation,
        Pagination,
        RelationExpectation,
        SameResponseExpectation,
        Severity,
        StatusExpectation,
    )

    common = [
        StatusExpectation(band="2xx"),
        ConformsExpectation(),
        RelationExpectation(pointer="/total", op="ge", against=LiteralValue(value=0)),
        SameResponseExpectation(step="base", pointers=["/limit"]),
        CollectionExpectation(check="contains", value=LiteralValue(value="x"), items_pointer="/data"),
        CollectionExpectation(check="not_contains", value=LiteralValue(value="x")),
        CollectionExpectation(check="each_once"),
        CollectionExpectation(check="count_delta", baseline_step="base", delta=0),
    ]
    kinds = {
        "call": ({}, []),
        "repeat": ({"repeat": 2}, [GroupExpectation(band="2xx", min_count=2)]),
        "concurrent": ({"concurrent": 2}, [GroupExpectation(codes=[200], max_count=2)]),
        "walk": (
            {
                "paginate": Pagination(
                    style="offset",
                    size_param="query.limit",
                    offset_param="query.offset",
                    total_pointer="/total",
                )
            },
            [CollectionExpectation(check="count_equals_total")],
        ),
    }
    classes = {"api.call": Response, "api.repeat": Group, "api.concurrent": Group, "api.walk": Walk}
    for kind, (shape, extra) in kinds.items():
        hyp = Hypothesis(
            title=f"Every expectation on a {kind} step",
            rationale="Coverage of the contract by the runtime.",
            category=Category.PAGINATION,
            severity=Severity.LOW,
            confidence=0.1,
            fields=[
                FieldRef(operation="listProducts", path="query.limit"),
                FieldRef(operation="listProducts", path="query.offset"),
            ],
            steps=[
                Step(id="base", operation="listProducts"),
                Step(id="checked", operation="listProducts", expect=[*common, *extra], **shape),  # type: ignore[arg-type]
            ],
        )
        (source,) = [t for n, t in compile_hypotheses([hyp], shop_api).items() if n.startswith("test_")]
        tree = ast.parse(source)
        types: dict[str, type] = {}
        for node in ast.walk(tree):
            if isinstance(node, ast.Assign) and isinstance(node.value, ast.Call):
                func = ast.unparse(node.value.func)
                if func in classes:
                    types[node.targets[0].id] = classes[func]  # type: ignore[attr-defined]
        methods = [
            (node.func.value.id, node.func.attr)
            for node in ast.walk(tree)
            if isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and isinstance(node.func.value, ast.Name)
            and node.func.value.id in types
        ]
        assert len(methods) >= len(common) + len(extra) - 1, kind
        for var, method in methods:
            assert hasattr(types[var], method), f"{kind}: {types[var].__name__} has no {method}"
