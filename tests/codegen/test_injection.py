"""Hostile text in a spec or a hypothesis never becomes code.

Titles, rationales, notes, evidence, operation ids, paths, tags, parameter and property names, enum
values, examples and literal values full of quotes, triple quotes, backslashes, line breaks of every
kind, NUL, bidi overrides, homoglyphs and `__import__('os').system(...)` produce modules that parse, whose
every call is one of the runtime's methods (or `pytest.mark.crossfield`, `Paging`), whose source holds
no invisible character, and whose literals and docstrings give the hostile text back as data."""

from __future__ import annotations

import ast
import importlib.util
import json
import keyword
import re
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crossfield.codegen import compile_hypotheses, write_suite
from crossfield.codegen._files import CONFTEST
from crossfield.judgment.grounding import grounding_problems
from crossfield.judgment.models import (
    Body,
    Capture,
    CapturedValue,
    Category,
    CollectionExpectation,
    FieldRef,
    Hypothesis,
    LiteralValue,
    Pagination,
    Provenance,
    RelationExpectation,
    RequestValue,
    SameResponseExpectation,
    Severity,
    SpecEvidence,
    StatusExpectation,
    Step,
    SynthesizedValue,
    UniqueValue,
)
from crossfield.spec import Api, load_spec_from_text

HOSTILE = [
    "'); __import__('os').system('echo pwned') #",
    '"""; __import__("os").system("id"); """',
    "'''\nimport os\nos.system('rm -rf /')\n'''",
    "\\",
    '\\"',
    "line1\nline2\r\nline3\rline4\x0bline5\x0cline6",
    "{__import__('os').system('id')}",
    "f'{1+1}' and {x!r}",
    "\u2028import os\u2029os.system('id')",
    "\u202eevil\u202c \u2066isolated\u2069",
    "nul\x00byte",
    "\ufeffbom \u200bzero-width",
    "\u0442\u0435st homoglyph \uff49\uff4d\uff50\uff4f\uff52\uff54",
    "# -*- coding: rot13 -*-",
    "\\N{LATIN SMALL LETTER A} \\x41 \\u0041",
    "exec(open('/etc/passwd').read())",
    "\x85next-line \x1c\x1d\x1e separators",
]
# (Lone surrogates cannot reach the compiler: a hypothesis with one has no content id. The literal
# renderer still handles them; see test_literals.py.)
EVIL_OP = "x'); __import__('os').system('id') #\n\"\"\""
EVIL_PROP = 'a"b\'\n__import__("os")'
EVIL_QUERY = "q\"\n'; import os"
EVIL_HEADER = "X-Evil\"'\\"
EVIL_PATH = "/items/{item_id}/a'b\"c\\d\n#"

RUNTIME_METHODS = frozenset(
    {
        "call",
        "repeat",
        "concurrent",
        "walk",
        "unique",
        "expect_status",
        "expect_conforms",
        "expect_relation",
        "expect_same_as",
        "expect_contains",
        "expect_not_contains",
        "expect_each_once",
        "expect_count_equals_total",
        "expect_count_delta",
        "expect_count",
        "capture",
        "capture_header",
        "sent",
    }
)
ALLOWED_NODES = (
    ast.Module,
    ast.Expr,
    ast.Constant,
    ast.ImportFrom,
    ast.Import,
    ast.alias,
    ast.FunctionDef,
    ast.arguments,
    ast.arg,
    ast.Name,
    ast.Load,
    ast.Store,
    ast.Attribute,
    ast.Call,
    ast.keyword,
    ast.Assign,
    ast.Dict,
    ast.List,
    ast.UnaryOp,
    ast.USub,
    ast.BinOp,
    ast.Add,
    ast.Sub,
)
IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def hostile_api() -> Api:
    spec = {
        "openapi": "3.1.0",
        "info": {"title": "Evil \"\"\" API\n'''", "version": "1\u2028import os"},
        "paths": {
            EVIL_PATH: {
                "post": {
                    "operationId": EVIL_OP,
                    "tags": ["\u00dcn\u00efcode \u202e tag\n\"'"],
                    "description": HOSTILE[1],
                    "parameters": [
                        {"name": "item_id", "in": "path", "required": True, "schema": {}},
                        {
                            "name": EVIL_QUERY,
                            "in": "query",
                            "required": True,
                            "schema": {"type": "string", "enum": ['"""\n__import__(\'os\')']},
                        },
                        {"name": EVIL_HEADER, "in": "header", "schema": {"type": "string"}},
                    ],
                    "requestBody": {
                        "required": True,
                        "content": {
                            "application/json": {
                                "schema": {
                                    "type": "object",
                                    "required": [EVIL_PROP, "nul\u0000"],
                                    "properties": {
                                        EVIL_PROP: {"examples": ["'''\\"]},
                                        "nul\u0000": {"type": "integer"},
                                        "{f}": {"description": HOSTILE[0]},
                                        "items": {
                                            "type": "array",
                                            "items": {
                                                "type": "object",
                                                "properties": {"\u202e": {"type": "string"}},
                                            },
                                        },
                                    },
                                }
                            }
                        },
                    },
                    "responses": {
                        "200": {
                            "description": 'ok\n"""',
                            "content": {
                                "application/json": {
                                    "schema": {"type": "object", "properties": {"data": {"type": "array"}}}
                                }
                            },
                        }
                    },
                }
            },
            "/list": {
                "get": {
                    "operationId": "list\u202e\"''",
                    "tags": ['Evil"List'],
                    "parameters": [
                        {"name": "lim'it", "in": "query", "schema": {"type": "integer"}},
                        {"name": 'off"set', "in": "query", "schema": {"type": "integer"}},
                    ],
                    "responses": {
                        "200": {
                            "description": "x",
                            "content": {"application/json": {"schema": {"type": "object"}}},
                        }
                    },
                }
            },
        },
    }
    return load_spec_from_text(json.dumps(spec), name="evil.json")


def hostile_hypothesis(text: str, value: Any, *, title: str | None = None) -> Hypothesis:
    """A grounded hypothesis with `text` in every free-text slot and `value` in every literal."""
    list_op = "list\u202e\"''"
    return Hypothesis(
        title=(title if title is not None else text)[:160].ljust(3, "x"),
        rationale=(text * 2)[:800].ljust(3, "x"),
        category=Category.INTER_PARAMETER,
        severity=Severity.HIGH,
        confidence=0.5,
        fields=[
            FieldRef(operation=EVIL_OP, path=f"body.{EVIL_PROP}"),
            FieldRef(operation=EVIL_OP, path=f"query.{EVIL_QUERY}"),
        ],
        evidence=[SpecEvidence(pointer=text, text=text)],
        requirement_ids=[text[:20]],
        change=text,
        steps=[
            Step(
                id="import",
                operation=EVIL_OP,
                identity="class",
                params={
                    "path.item_id": LiteralValue(value=value),
                    f"query.{EVIL_QUERY}": SynthesizedValue(),
                    f"header.{EVIL_HEADER}": UniqueValue(name="lambda"),
                },
                body=Body(
                    overrides={
                        EVIL_PROP: LiteralValue(value=value),
                        "{f}": LiteralValue(value={text: [text, value]}),
                    },
                    omit=["items.0.\u202e"],
                    include_optional=True,
                ),
                captures=[
                    Capture(name="yield", pointer=text),
                    Capture(name="api", pointer=text, source="header"),
                ],
                expect=[
                    StatusExpectation(band="2xx"),
                    RelationExpectation(pointer=text, op="eq", against=LiteralValue(value=value)),
                    RelationExpectation(
                        pointer=text, op="ne", against=CapturedValue(name="yield", plus=-1.5)
                    ),
                ],
                note=text,
            ),
            Step(
                id="pytest",
                operation=EVIL_OP,
                params={
                    "path.item_id": CapturedValue(name="api"),
                    f"query.{EVIL_QUERY}": RequestValue(step="import", path=f"query.{EVIL_QUERY}"),
                },
                body=Body(mode="literal", value={text: value}),
                repeat=3,
                expect=[SameResponseExpectation(step="import", pointers=[text])],
                note=text,
            ),
            Step(
                id="float",
                operation=list_op,
                paginate=Pagination(
                    style="offset",
                    size_param="query.lim'it",
                    offset_param='query.off"set',
                    items_pointer=text,
                    total_pointer=text,
                ),
                expect=[
                    CollectionExpectation(
                        check="contains", value=CapturedValue(name="yield"), id_pointer=text
                    ),
                    CollectionExpectation(
                        check="each_once", ids=[LiteralValue(value=value)], items_pointer=text
                    ),
                ],
                note=text,
            ),
        ],
        provenance=Provenance(judge=text, model=text, prompt_id=text, prompt_hash=text),
    )


def assert_safe_module(source: str, name: str) -> ast.Module:
    assert all(ch == "\n" or ch.isprintable() for ch in source), (
        f"{name}: an invisible character in the source"
    )
    tree = ast.parse(source, filename=name)
    compile(tree, name, "exec")
    for node in ast.walk(tree):
        assert isinstance(node, ALLOWED_NODES), (
            f"{name}: {type(node).__name__} at line {getattr(node, 'lineno', '?')}"
        )
        if isinstance(node, ast.Name):
            assert IDENT.match(node.id) and node.id.isascii(), node.id
            assert node.id not in {
                "__import__",
                "eval",
                "exec",
                "open",
                "compile",
                "getattr",
                "os",
                "sys",
                "globals",
            }
        if isinstance(node, ast.Call):
            func = node.func
            if isinstance(func, ast.Name):
                assert func.id in {"Paging", "float"}, f"{name}: call to {func.id}"
            else:
                assert isinstance(func, ast.Attribute), f"{name}: call of a {type(func).__name__}"
                if func.attr in RUNTIME_METHODS:
                    assert isinstance(func.value, ast.Name), f"{name}: {func.attr} on a computed object"
                else:
                    assert ast.unparse(func) == "pytest.mark.crossfield", (
                        f"{name}: call to {ast.unparse(func)}"
                    )
        if isinstance(node, ast.Import):
            assert [a.name for a in node.names] == ["pytest"]
        if isinstance(node, ast.ImportFrom):
            assert node.module in ("__future__", "crossfield.codegen.runtime"), node.module
    for stmt in tree.body:
        assert isinstance(stmt, ast.Expr | ast.Import | ast.ImportFrom | ast.FunctionDef), type(stmt).__name__
        if isinstance(stmt, ast.FunctionDef):
            assert re.fullmatch(r"test_[a-z0-9_]+", stmt.name) and not keyword.iskeyword(stmt.name)
            assert [a.arg for a in stmt.args.args] == ["api"]
            (decorator,) = stmt.decorator_list
            assert isinstance(decorator, ast.Call) and not decorator.args
            assert all(isinstance(k.value, ast.Constant) for k in decorator.keywords)
            doc, *rest = stmt.body
            assert (
                isinstance(doc, ast.Expr)
                and isinstance(doc.value, ast.Constant)
                and isinstance(doc.value.value, str)
            )
            for inner in rest:
                assert isinstance(inner, ast.Assign | ast.Expr), type(inner).__name__
                if isinstance(inner, ast.Assign):
                    (target,) = inner.targets
                    assert isinstance(target, ast.Name)
                assert isinstance(inner.value, ast.Call)
    return tree


def import_module(path: Path) -> Any:
    spec = importlib.util.spec_from_file_location(f"crossfield_injection_{abs(hash(path))}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def api() -> Api:
    return hostile_api()


def test_the_hostile_hypotheses_ground(api: Api) -> None:
    for text in HOSTILE:
        assert grounding_problems(hostile_hypothesis(text, text), api) == []


def test_hostile_text_stays_data(api: Api, tmp_path: Path) -> None:
    hypotheses = [
        hostile_hypothesis(text, value) for text in HOSTILE for value in (text, {text: [1, None, 2.5]})
    ]
    files = compile_hypotheses(hypotheses, api)
    write_suite(files, tmp_path)
    python = {name: text for name, text in files.items() if name.endswith(".py")}
    assert python.pop("conftest.py") == CONFTEST, "the conftest never varies with the input"
    assert set(python) == {"test_unicode_tag.py"}, "file names are sanitized slugs"
    json.loads(files["crossfield_schemas.json"])
    for name, source in python.items():
        assert_safe_module(source, name)
        module = import_module(tmp_path / name)
        tests = {n: f for n, f in vars(module).items() if n.startswith("test_")}
        assert len(tests) == len(hypotheses), "one test per hypothesis, names deduplicated"
        by_id = {f.pytestmark[0].kwargs["hypothesis"]: f for f in tests.values()}
        for hyp in hypotheses:
            function = by_id[hyp.id]
            assert function.pytestmark[0].kwargs["claim"] == hyp.title, "the claim survives exactly"
            assert function.__doc__ is not None
            assert " ".join(hyp.title.split()) in " ".join(function.__doc__.split()), (
                "the docstring keeps the title"
            )
            assert hyp.id in function.__doc__


def test_keywords_and_runtime_names_never_become_variables(api: Api) -> None:
    (source,) = [
        t
        for n, t in compile_hypotheses([hostile_hypothesis("x" * 5, 1)], api).items()
        if n.startswith("test_")
    ]
    tree = ast.parse(source)
    assigned = {
        t.id
        for node in ast.walk(tree)
        if isinstance(node, ast.Assign)
        for t in node.targets
        if isinstance(t, ast.Name)
    }
    assert assigned, "captures and steps become variables"
    for name in assigned:
        assert not keyword.iskeyword(name) and not keyword.issoftkeyword(name)
        assert name not in {"api", "pytest", "float", "Paging", "ApiSession"}
    assert {"import_", "yield_", "api_", "lambda_"} <= assigned


def test_generated_code_only_calls_the_runtime_even_when_run(api: Api, tmp_path: Path) -> None:
    """Importing a generated module runs only its decorators; nothing hostile executes."""
    files = compile_hypotheses([hostile_hypothesis(HOSTILE[0], HOSTILE[0])], api)
    write_suite(files, tmp_path)
    before = set(sys.modules)
    import_module(tmp_path / "test_unicode_tag.py")
    assert not {"os.system", "subprocess"} & (set(sys.modules) - before)


def test_the_conftest_is_static_and_only_wires_the_runtime() -> None:
    tree = ast.parse(CONFTEST)
    calls = {ast.unparse(n.func) for n in ast.walk(tree) if isinstance(n, ast.Call)}
    assert calls == {
        "config.addinivalue_line",
        "pytest.fixture",
        "suite_settings",
        "SpecBook.load",
        "open_session",
        "quota_tests_last",
        "Path",
    }
    imports = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
    assert imports == {"__future__", "collections.abc", "pathlib", "crossfield.codegen.runtime"}


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    text=st.text(min_size=3, max_size=60),
    value=st.recursive(
        st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
        lambda children: (
            st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3)
        ),
        max_leaves=8,
    ),
)
def test_any_text_and_any_value_compile_to_safe_code(api: Api, text: str, value: Any) -> None:
    files = compile_hypotheses(
        [hostile_hypothesis(text, value), hostile_hypothesis(text, value, title="Fixed title")], api
    )
    for name, source in files.items():
        if name.startswith("test_"):
            tree = assert_safe_module(source, name)
            literals = [n.value for n in ast.walk(tree) if isinstance(n, ast.Constant)]
            assert text in literals or text[:160] in literals
