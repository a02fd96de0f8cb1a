"""Checks for the benchmark targets under ``datasets/targets`` and the held-out targets under
``datasets/holdout``, ``datasets/unseen``, ``datasets/blind`` and ``datasets/blind2``.

For every target directory this verifies the static files (``openapi.yaml``, ``bugs.yaml``,
``crossfield.toml``) and proves the seeded bugs with behavioural probes (``probes.py``):

* every probe passes against the correct app (``create_app()``),
* every bug's probe fails with ``AssertionError`` against ``create_app(frozenset({bug_id}))``,
* every bug id has a probe,
* every response the correct app sends during the probes conforms to ``openapi.yaml``.
"""

import re
import sys
import tomllib
import types
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, datetime
from functools import cache
from pathlib import Path
from typing import Any

import httpx
import jsonschema
import pytest
import yaml
from fastapi import FastAPI
from fastapi.testclient import TestClient

REPO_ROOT = Path(__file__).resolve().parents[1]
TARGETS_DIR = REPO_ROOT / "datasets" / "targets"

CATEGORIES = frozenset(
    {
        "inter_parameter",
        "state_transition",
        "idempotency",
        "arithmetic_invariant",
        "pagination",
        "concurrency",
        "authorization",
        "temporal_ordering",
        "mass_assignment",
        "rate_limiting",
        "input_validation",
    }
)
BUG_KEYS = frozenset({"id", "title", "category", "operations", "fields", "cross_field", "description"})
HTTP_METHODS = ("get", "put", "post", "delete", "patch", "head", "options", "trace")
FIELD_LOCATIONS = ("body", "query", "path", "header")
REQUIRED_FILES = ("openapi.yaml", "app.py", "bugs.yaml", "crossfield.toml", "probes.py")

Probe = Callable[[TestClient], None]


HOLDOUT_DIR = REPO_ROOT / "datasets" / "holdout"
UNSEEN_DIR = REPO_ROOT / "datasets" / "unseen"
BLIND_DIR = REPO_ROOT / "datasets" / "blind"
BLIND2_DIR = REPO_ROOT / "datasets" / "blind2"


def _discover_targets(root: Path = TARGETS_DIR) -> list[str]:
    if not root.is_dir():
        return []
    return sorted(p.name for p in root.iterdir() if p.is_dir() and not p.name.startswith((".", "_")))


BENCHMARK_TARGETS = _discover_targets(TARGETS_DIR)
# Held-out targets (never used to tune the judge) get the same per-target checks, but stay out of
# the benchmark composition checks.
HOLDOUT_TARGETS = _discover_targets(HOLDOUT_DIR)
# Unseen targets were written without reading the judge; they are held out in the same way.
UNSEEN_TARGETS = _discover_targets(UNSEEN_DIR)
# Blind targets were written without reading the judge either; they are held out in the same way.
BLIND_TARGETS = _discover_targets(BLIND_DIR)
# Second batch of blind targets, held out in the same way.
BLIND2_TARGETS = _discover_targets(BLIND2_DIR)
TARGETS = [*BENCHMARK_TARGETS, *HOLDOUT_TARGETS, *UNSEEN_TARGETS, *BLIND_TARGETS, *BLIND2_TARGETS]
TARGET_DIRS = {
    **{name: TARGETS_DIR / name for name in BENCHMARK_TARGETS},
    **{name: HOLDOUT_DIR / name for name in HOLDOUT_TARGETS},
    **{name: UNSEEN_DIR / name for name in UNSEEN_TARGETS},
    **{name: BLIND_DIR / name for name in BLIND_TARGETS},
    **{name: BLIND2_DIR / name for name in BLIND2_TARGETS},
}


def target_dir(target: str) -> Path:
    return TARGET_DIRS[target]


# --------------------------------------------------------------------------- loading


def _load_module(target: str, stem: str) -> types.ModuleType:
    """Import ``datasets/targets/<target>/<stem>.py`` without writing bytecode into the dataset."""
    path = target_dir(target) / f"{stem}.py"
    name = f"_crossfield_targets.{target}.{stem}"
    module = types.ModuleType(name)
    module.__file__ = str(path)
    sys.modules[name] = module
    exec(compile(path.read_text(encoding="utf-8"), str(path), "exec"), module.__dict__)
    return module


@cache
def app_module(target: str) -> types.ModuleType:
    return _load_module(target, "app")


@cache
def probes_module(target: str) -> types.ModuleType:
    return _load_module(target, "probes")


@cache
def load_spec(target: str) -> dict[str, Any]:
    with (target_dir(target) / "openapi.yaml").open(encoding="utf-8") as fh:
        return yaml.safe_load(fh)


@cache
def load_bugs(target: str) -> list[dict[str, Any]]:
    with (target_dir(target) / "bugs.yaml").open(encoding="utf-8") as fh:
        return yaml.safe_load(fh)


def make_app(target: str, bugs: frozenset[str] = frozenset()) -> FastAPI:
    return app_module(target).create_app(bugs)


def probes(target: str) -> dict[str, Probe]:
    return probes_module(target).PROBES


def smoke_probes(target: str) -> list[Probe]:
    return list(getattr(probes_module(target), "SMOKE", []))


def _bug_cases() -> list[Any]:
    cases = []
    for target in TARGETS:
        if not (target_dir(target) / "bugs.yaml").is_file():
            continue  # reported by test_target_layout
        for bug in load_bugs(target) or []:
            if isinstance(bug, dict) and "id" in bug:
                cases.append(pytest.param(target, bug["id"], id=f"{target}:{bug['id']}"))
    return cases


BUG_CASES = _bug_cases()


# --------------------------------------------------------------------------- OpenAPI helpers


def resolve(spec: dict[str, Any], obj: Any) -> Any:
    """Follow local ``$ref`` pointers (``#/components/...``) until a concrete object is reached."""
    seen = set()
    while isinstance(obj, dict) and "$ref" in obj:
        ref = obj["$ref"]
        assert ref.startswith("#/"), f"only local refs are supported: {ref}"
        assert ref not in seen, f"circular $ref {ref}"
        seen.add(ref)
        node: Any = spec
        for part in ref[2:].split("/"):
            part = part.replace("~1", "/").replace("~0", "~")
            assert isinstance(node, dict) and part in node, f"unresolvable $ref {ref}"
            node = node[part]
        obj = node
    return obj


def iter_operations(spec: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any], dict[str, Any]]]:
    for path, item in spec.get("paths", {}).items():
        for method in HTTP_METHODS:
            if method in item:
                yield path, method, item[method], item


def operations_by_id(spec: dict[str, Any]) -> dict[str, tuple[str, str, dict[str, Any], dict[str, Any]]]:
    return {op["operationId"]: (path, method, op, item) for path, method, op, item in iter_operations(spec)}


def operation_parameters(
    spec: dict[str, Any], op: dict[str, Any], item: dict[str, Any]
) -> list[dict[str, Any]]:
    params = {}
    for raw in [*item.get("parameters", []), *op.get("parameters", [])]:
        param = resolve(spec, raw)
        params[(param["in"], param["name"].lower())] = param
    return list(params.values())


_OPENAPI_ONLY_KEYS = frozenset(
    {
        "nullable",
        "readOnly",
        "writeOnly",
        "example",
        "examples",
        "discriminator",
        "xml",
        "externalDocs",
        "deprecated",
    }
)


def to_json_schema(schema: Any) -> Any:
    """Convert an OpenAPI 3.0 schema object into a (Draft 4) JSON Schema.

    ``nullable: true`` also allows ``null``; objects that list ``properties`` but say nothing about
    ``additionalProperties`` are closed, so responses may not carry undocumented fields.
    """
    if not isinstance(schema, dict):
        return schema
    if "$ref" in schema:
        return {"$ref": schema["$ref"]}
    out: dict[str, Any] = {}
    for key, value in schema.items():
        if key in _OPENAPI_ONLY_KEYS:
            continue
        if key == "properties":
            out[key] = {name: to_json_schema(sub) for name, sub in value.items()}
        elif key in ("items", "not") or (key == "additionalProperties" and isinstance(value, dict)):
            out[key] = to_json_schema(value)
        elif key in ("allOf", "anyOf", "oneOf"):
            out[key] = [to_json_schema(sub) for sub in value]
        else:
            out[key] = value
    if "properties" in out and "additionalProperties" not in out:
        out["additionalProperties"] = False
    if schema.get("nullable") is True:
        return {"anyOf": [out, {"type": "null"}]}
    return out


FORMAT_CHECKER = jsonschema.FormatChecker()


@FORMAT_CHECKER.checks("date-time", raises=ValueError)
def _is_date_time(value: object) -> bool:
    if not isinstance(value, str):
        return True
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})", value):
        raise ValueError(f"not an RFC 3339 date-time: {value!r}")
    datetime.fromisoformat(value.replace("Z", "+00:00"))
    return True


@FORMAT_CHECKER.checks("date", raises=ValueError)
def _is_date(value: object) -> bool:
    if isinstance(value, str):
        date.fromisoformat(value)
    return True


def path_regex(template: str) -> re.Pattern[str]:
    pattern = re.sub(r"\\\{[^/]+?\\\}", "[^/]+", re.escape(template))
    return re.compile(f"^{pattern}$")


@dataclass
class SpecChecker:
    spec: dict[str, Any]

    def __post_init__(self) -> None:
        schemas = self.spec.get("components", {}).get("schemas", {})
        self.components = {"schemas": {name: to_json_schema(s) for name, s in schemas.items()}}
        routes = [(path_regex(path), path) for path in self.spec["paths"]]
        # Literal segments win over templated ones (e.g. /users/me before /users/{user_id}).
        self.routes = sorted(routes, key=lambda r: r[1].count("{"))
        self._validators: dict[int, jsonschema.Draft4Validator] = {}

    def validator(self, schema: dict[str, Any]) -> jsonschema.Draft4Validator:
        cached = self._validators.get(id(schema))
        if cached is None:
            root = {"allOf": [to_json_schema(schema)], "components": self.components}
            cached = self._validators[id(schema)] = jsonschema.Draft4Validator(
                root, format_checker=FORMAT_CHECKER
            )
        return cached

    def operation_for(self, method: str, url_path: str) -> tuple[str, dict[str, Any]]:
        for regex, template in self.routes:
            if regex.match(url_path):
                item = self.spec["paths"][template]
                assert method in item, f"{method.upper()} {url_path}: method not documented for {template}"
                return template, item[method]
        raise AssertionError(f"{method.upper()} {url_path}: no documented path matches")

    def check_response(self, response: httpx.Response) -> str:
        """Assert that ``response`` is documented; return the operationId it belongs to."""
        method = response.request.method.lower()
        url_path = response.request.url.path
        where = f"{method.upper()} {url_path} -> {response.status_code}"
        _, op = self.operation_for(method, url_path)
        responses = op["responses"]
        status = str(response.status_code)
        documented = responses.get(status) or responses.get(f"{status[0]}XX") or responses.get("default")
        assert documented is not None, f"{where}: status not documented ({sorted(responses)})"
        documented = resolve(self.spec, documented)
        for name, header in documented.get("headers", {}).items():
            header = resolve(self.spec, header)
            if header.get("required"):
                assert name in response.headers, f"{where}: required header {name} missing"
        content = documented.get("content")
        if not content:
            assert response.content == b"", f"{where}: body returned but none documented"
            return op["operationId"]
        assert "application/json" in content, f"{where}: only JSON responses are supported by this check"
        assert response.headers.get("content-type", "").startswith("application/json"), where
        schema = content["application/json"].get("schema")
        if schema is not None:
            errors = sorted(self.validator(schema).iter_errors(response.json()), key=str)
            assert not errors, (
                f"{where}: response does not match the schema: {errors[0].message} at {list(errors[0].absolute_path)}"
            )
        return op["operationId"]


def body_field_schema(spec: dict[str, Any], op: dict[str, Any], dotted: str) -> Any:
    body = resolve(spec, op.get("requestBody"))
    assert body, f"{op['operationId']} has no request body"
    schema = body["content"]["application/json"]["schema"]
    for segment in dotted.split("."):
        is_array = segment.endswith("[]")
        name = segment[:-2] if is_array else segment
        schema = _property(spec, schema, name)
        assert schema is not None, f"{op['operationId']}: body has no property {name!r} ({dotted})"
        if is_array:
            schema = resolve(spec, schema)
            assert schema.get("type") == "array", f"{op['operationId']}: {name} is not an array"
            schema = schema["items"]
    return schema


def _property(spec: dict[str, Any], schema: Any, name: str) -> Any:
    schema = resolve(spec, schema)
    if name in schema.get("properties", {}):
        return schema["properties"][name]
    for part in schema.get("allOf", []):
        found = _property(spec, part, name)
        if found is not None:
            return found
    return None


# --------------------------------------------------------------------------- clients


def make_client(app: FastAPI, log: list[httpx.Response] | None = None) -> TestClient:
    client = TestClient(app)
    if log is not None:

        def record(response: httpx.Response) -> None:
            response.read()
            log.append(response)

        client.event_hooks = {"request": [], "response": [record]}
    return client


def run_probe(
    target: str, probe: Probe, bugs: frozenset[str] = frozenset(), log: list[httpx.Response] | None = None
) -> None:
    probe(make_client(make_app(target, bugs), log))


# --------------------------------------------------------------------------- static checks


def test_targets_discovered() -> None:
    assert len(BENCHMARK_TARGETS) >= 5, (
        f"expected at least five targets in {TARGETS_DIR}, found {BENCHMARK_TARGETS}"
    )
    clashes = set(BENCHMARK_TARGETS) & set(HOLDOUT_TARGETS)
    assert not clashes, f"held-out targets must not reuse benchmark target names: {sorted(clashes)}"
    names = [*BENCHMARK_TARGETS, *HOLDOUT_TARGETS, *UNSEEN_TARGETS, *BLIND_TARGETS, *BLIND2_TARGETS]
    reused = sorted({name for name in names if names.count(name) > 1})
    assert not reused, (
        f"target names must be unique across benchmark, holdout, unseen, blind and blind2: {reused}"
    )


@pytest.mark.parametrize("target", TARGETS)
def test_target_layout(target: str) -> None:
    missing = [name for name in REQUIRED_FILES if not (target_dir(target) / name).is_file()]
    assert not missing, f"{target}: missing {missing}"


@pytest.mark.parametrize("target", TARGETS)
def test_openapi_document(target: str) -> None:
    spec = load_spec(target)
    assert isinstance(spec, dict)
    assert str(spec.get("openapi", "")).startswith("3."), "not an OpenAPI 3 document"
    assert spec["info"].get("title") and spec["info"].get("version")
    schemes = spec.get("components", {}).get("securitySchemes", {})
    assert schemes, "no securitySchemes"
    assert "Error" in spec["components"]["schemas"]
    ids = [op.get("operationId") for _, _, op, _ in iter_operations(spec)]
    assert ids, "no operations"
    assert all(ids), "every operation needs an operationId"
    assert len(ids) == len(set(ids)), "duplicate operationIds"
    for path, method, op, item in iter_operations(spec):
        where = f"{method.upper()} {path}"
        assert op.get("summary"), f"{where}: missing summary"
        assert op.get("responses"), f"{where}: no responses"
        assert any(code.startswith("2") for code in op["responses"]), f"{where}: no 2xx response"
        assert "401" in op["responses"], f"{where}: 401 not documented"
        names = {p["name"] for p in operation_parameters(spec, op, item) if p["in"] == "path"}
        assert names == set(re.findall(r"\{([^}]+)\}", path)), f"{where}: path parameters do not match"
        for code, response in op["responses"].items():
            response = resolve(spec, response)
            for media in response.get("content", {}).values():
                if "schema" in media:
                    SpecChecker(spec).validator(media["schema"])  # refs must resolve
            if code.startswith(("4", "5")) and response.get("content"):
                schema = response["content"]["application/json"]["schema"]
                assert schema == {"$ref": "#/components/schemas/Error"}, (
                    f"{where} {code}: use the Error schema"
                )
    for name, schema in spec["components"]["schemas"].items():
        jsonschema.Draft4Validator.check_schema(to_json_schema(schema))
        assert resolve(spec, schema) is not None, name


@pytest.mark.parametrize("target", TARGETS)
def test_crossfield_toml(target: str) -> None:
    with (target_dir(target) / "crossfield.toml").open("rb") as fh:
        config = tomllib.load(fh)
    identities = config["identities"]
    assert len(identities) >= 2, "at least two identities are needed for ownership bugs"
    assert config["default_identity"] in identities
    spec = load_spec(target)
    header_names = set()
    for scheme in spec["components"]["securitySchemes"].values():
        if scheme["type"] == "apiKey":
            assert scheme["in"] == "header"
            header_names.add(scheme["name"].lower())
        elif scheme["type"] == "http":
            header_names.add("authorization")
    for name, identity in identities.items():
        headers = identity["headers"]
        assert isinstance(headers, dict) and headers, name
        assert {h.lower() for h in headers} & header_names, f"{name}: no header of the securityScheme"
    # The identities must actually authenticate, as distinct users.
    client = make_client(make_app(target))
    probe_path = next(
        path for path, method, _, _ in iter_operations(spec) if method == "get" and "{" not in path
    )
    assert client.get(probe_path).status_code == 401
    for identity in identities.values():
        assert client.get(probe_path, headers=identity["headers"]).status_code == 200


@pytest.mark.parametrize("target", TARGETS)
def test_bugs_yaml(target: str) -> None:
    bugs = load_bugs(target)
    spec = load_spec(target)
    ops = operations_by_id(spec)
    assert isinstance(bugs, list) and len(bugs) >= 6, "expected at least six bugs per target"
    ids = [bug.get("id") for bug in bugs]
    assert len(ids) == len(set(ids)), "duplicate bug ids"
    for bug in bugs:
        where = f"{target}:{bug.get('id')}"
        assert set(bug) == BUG_KEYS, f"{where}: keys {sorted(set(bug) ^ BUG_KEYS)}"
        assert re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", bug["id"]), f"{where}: id is not kebab-case"
        assert isinstance(bug["title"], str) and bug["title"].strip()
        assert isinstance(bug["description"], str) and len(bug["description"].strip()) > 30
        assert bug["category"] in CATEGORIES, f"{where}: unknown category {bug['category']}"
        assert isinstance(bug["cross_field"], bool)
        assert (bug["category"] == "input_validation") == (not bug["cross_field"]), (
            f"{where}: input_validation is for single-field bugs, and only those"
        )
        assert isinstance(bug["operations"], list) and bug["operations"]
        for op_id in bug["operations"]:
            assert op_id in ops, f"{where}: unknown operation {op_id}"
        assert isinstance(bug["fields"], list) and bug["fields"]
        for field in bug["fields"]:
            op_id, sep, location_path = field.partition(":")
            location, _, dotted = location_path.partition(".")
            assert sep and dotted and location in FIELD_LOCATIONS, f"{where}: malformed field {field!r}"
            assert op_id in bug["operations"], f"{where}: {field} refers to an operation not listed"
            _, _, op, item = ops[op_id]
            if location == "body":
                body_field_schema(spec, op, dotted)
            else:
                params = {(p["in"], p["name"].lower()) for p in operation_parameters(spec, op, item)}
                assert (location, dotted.lower()) in params, (
                    f"{where}: {op_id} has no {location} parameter {dotted}"
                )
        if not bug["cross_field"]:
            assert len(bug["fields"]) == 1, f"{where}: a single-field bug names one field"


@pytest.mark.parametrize("target", TARGETS)
def test_bug_ids_match_app_and_probes(target: str) -> None:
    ids = {bug["id"] for bug in load_bugs(target)}
    assert set(app_module(target).BUG_IDS) == ids, "app.BUG_IDS and bugs.yaml disagree"
    missing = ids - set(probes(target))
    assert not missing, f"bugs without a probe: {sorted(missing)}"
    extra = set(probes(target)) - ids
    assert not extra, f"probes for unknown bugs: {sorted(extra)}"
    with pytest.raises(ValueError):
        make_app(target, frozenset({"no-such-bug"}))


def test_benchmark_composition() -> None:
    all_bugs = [bug for target in BENCHMARK_TARGETS for bug in load_bugs(target)]
    assert len(all_bugs) >= 32
    cross = sum(bug["cross_field"] for bug in all_bugs)
    assert cross * 3 >= 2 * len(all_bugs), f"only {cross}/{len(all_bugs)} bugs are cross-field"
    missing = CATEGORIES - {bug["category"] for bug in all_bugs}
    assert not missing, f"categories without a bug: {sorted(missing)}"
    for target in BENCHMARK_TARGETS:
        controls = [bug for bug in load_bugs(target) if not bug["cross_field"]]
        assert 1 <= len(controls) <= 2, f"{target}: expected one or two single-field control bugs"


# --------------------------------------------------------------------------- behaviour


@pytest.mark.parametrize(("target", "bug_id"), BUG_CASES)
def test_probe_passes_on_correct_app(target: str, bug_id: str) -> None:
    run_probe(target, probes(target)[bug_id])


@pytest.mark.parametrize(("target", "bug_id"), BUG_CASES)
def test_probe_fails_on_buggy_variant(target: str, bug_id: str) -> None:
    with pytest.raises(AssertionError):
        run_probe(target, probes(target)[bug_id], frozenset({bug_id}))


@pytest.mark.parametrize("target", TARGETS)
def test_smoke_probes_pass_on_correct_app(target: str) -> None:
    for probe in smoke_probes(target):
        run_probe(target, probe)


@pytest.mark.parametrize("target", TARGETS)
def test_correct_app_responses_match_openapi(target: str) -> None:
    spec = load_spec(target)
    checker = SpecChecker(spec)
    log: list[httpx.Response] = []
    for probe in [*probes(target).values(), *smoke_probes(target)]:
        run_probe(target, probe, log=log)
    assert log, "the probes sent no requests"
    exercised = set()
    for response in log:
        assert response.status_code < 500, f"server error: {response.request.method} {response.request.url}"
        exercised.add(checker.check_response(response))
    unexercised = set(operations_by_id(spec)) - exercised
    assert not unexercised, f"operations never exercised by the probes: {sorted(unexercised)}"
