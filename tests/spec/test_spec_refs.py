"""`$ref` resolution: local, relative files in a sub-directory, chains, recursion inside one file and
across files (which must terminate), path items by reference."""

from __future__ import annotations

import time
from pathlib import Path

import jsonschema

from crossfield.spec import Api, load_spec


def _api(specs: Path) -> Api:
    return load_spec(specs / "refs" / "main.yaml", cache=False)


def test_all_operations_load(specs: Path) -> None:
    api = _api(specs)
    assert [op.id for op in api.operations] == ["listTrees", "createThing", "getPair", "getShared"]
    assert api.errors == ()


def test_relative_file_ref_and_chain(specs: Path) -> None:
    api = _api(specs)
    create = api.operation("createThing")
    assert create is not None
    # ThingAlias -> ThingAlias2 -> schemas/common.yaml#/Thing: the chain ends at the real definition.
    fields = {f.path: f for f in create.fields}
    assert fields["body.label"].required and fields["body.label"].type == "string"
    assert fields["body.owner.name"].type == "string"
    # A $ref'd response object in components, whose schema lives in another file.
    assert "response.owner.name" in fields


def test_path_item_ref_to_another_file(specs: Path) -> None:
    api = _api(specs)
    shared = api.operation("getShared")
    assert shared is not None and shared.path == "/shared"
    assert api.field("getShared", "response.name") is not None


def test_recursive_schema_terminates(specs: Path) -> None:
    started = time.perf_counter()
    api = _api(specs)
    assert time.perf_counter() - started < 5
    paths = [f.path for f in api.operation("listTrees").fields]  # type: ignore[union-attr]
    # Flattening stops where a schema recurs on the current path: the recursive fields are listed once.
    assert paths == ["response[].value", "response[].children", "response[].parent"]
    # The cycle lives in $defs: the schema stays finite and serializable.
    node = api.schema_defs["Node"]
    assert node["properties"]["children"]["items"] == {"$ref": "#/$defs/Node"}
    standalone = api.standalone_schema(api.operation("listTrees").success_schema)  # type: ignore[arg-type, union-attr]
    jsonschema.validate([{"value": 1, "children": [{"value": 2, "children": []}]}], standalone)


def test_mutual_recursion_across_files(specs: Path) -> None:
    api = _api(specs)
    paths = [f.path for f in api.operation("getPair").fields]  # type: ignore[union-attr]
    assert paths == ["response.name", "response.b", "response.b.size", "response.b.a"]
    assert set(api.schema_defs) >= {"A", "B"}
    a_schema = api.standalone_schema({"$ref": "#/$defs/A"})
    jsonschema.validate({"name": "x", "b": {"size": 1, "a": {"name": "y"}}}, a_schema)


def test_defs_are_named_after_their_components(specs: Path) -> None:
    api = _api(specs)
    assert {"Thing", "Person", "Node", "A", "B"} <= set(api.schema_defs)
    for schema in api.schema_defs.values():
        assert "$ref" not in schema or str(schema["$ref"]).startswith("#/$defs/")
