"""The load cache: a second load of an unchanged spec is served from the cache; editing the spec or any
file it references invalidates the entry; a corrupt entry is ignored and rewritten."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from crossfield.spec import load_spec
from crossfield.spec import loader as loader_module


@pytest.fixture
def parses(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Records every time the loader actually parses a main document."""
    calls: list[str] = []
    real = loader_module.parse_document

    def counting(data: bytes, file: str) -> object:
        calls.append(file)
        return real(data, file)

    monkeypatch.setattr(loader_module, "parse_document", counting)
    return calls


@pytest.fixture
def refs_copy(specs: Path, tmp_path: Path) -> Path:
    target = tmp_path / "refs"
    shutil.copytree(specs / "refs", target)
    return target / "main.yaml"


def test_second_load_hits_the_cache(refs_copy: Path, tmp_path: Path, parses: list[str]) -> None:
    cache = tmp_path / "cache"
    first = load_spec(refs_copy, cache=cache)
    second = load_spec(refs_copy, cache=cache)
    assert len(parses) == 1
    assert second == first
    assert [op.fields for op in second.operations] == [op.fields for op in first.operations]
    assert second.schema_defs == first.schema_defs
    # The interaction map travels with the cached API.
    assert "interactions" in vars(second)
    assert second.interactions.counts() == first.interactions.counts()


def test_default_cache_dir_follows_the_environment(
    refs_copy: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, parses: list[str]
) -> None:
    monkeypatch.setenv("CROSSFIELD_CACHE_DIR", str(tmp_path / "env-cache"))
    load_spec(refs_copy)
    load_spec(refs_copy)
    assert len(parses) == 1
    assert list((tmp_path / "env-cache" / "specs").glob("*.pickle"))


def test_cache_false_always_parses(refs_copy: Path, parses: list[str]) -> None:
    load_spec(refs_copy, cache=False)
    load_spec(refs_copy, cache=False)
    assert len(parses) == 2


def test_changing_the_main_file_invalidates(refs_copy: Path, tmp_path: Path, parses: list[str]) -> None:
    cache = tmp_path / "cache"
    load_spec(refs_copy, cache=cache)
    refs_copy.write_text(refs_copy.read_text().replace("title: Refs", "title: Refs v2"))
    api = load_spec(refs_copy, cache=cache)
    assert api.title == "Refs v2"
    assert len(parses) == 2


def test_changing_a_referenced_file_invalidates(refs_copy: Path, tmp_path: Path, parses: list[str]) -> None:
    cache = tmp_path / "cache"
    before = load_spec(refs_copy, cache=cache)
    assert before.field("createThing", "body.color") is None
    common = refs_copy.parent / "schemas" / "common.yaml"
    common.write_text(
        common.read_text().replace("    label:\n", "    color:\n      type: string\n    label:\n")
    )
    after = load_spec(refs_copy, cache=cache)
    assert len(parses) == 2
    assert after.field("createThing", "body.color") is not None


def test_a_corrupt_entry_is_ignored_and_rewritten(refs_copy: Path, tmp_path: Path, parses: list[str]) -> None:
    cache = tmp_path / "cache"
    load_spec(refs_copy, cache=cache)
    (entry,) = cache.glob("*.pickle")
    entry.write_bytes(b"\x80\x05not a pickle at all")
    api = load_spec(refs_copy, cache=cache)
    assert api.title == "Refs"
    assert len(parses) == 2
    load_spec(refs_copy, cache=cache)
    assert len(parses) == 2  # rewritten by the second load


def test_an_entry_of_another_type_is_ignored(refs_copy: Path, tmp_path: Path, parses: list[str]) -> None:
    import pickle

    cache = tmp_path / "cache"
    load_spec(refs_copy, cache=cache)
    (entry,) = cache.glob("*.pickle")
    entry.write_bytes(pickle.dumps({"api": "not an Api"}))
    assert load_spec(refs_copy, cache=cache).title == "Refs"
    assert len(parses) == 2


def test_a_cached_spec_moved_elsewhere_reports_its_new_path(refs_copy: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    load_spec(refs_copy, cache=cache)
    moved = tmp_path / "moved"
    shutil.copytree(refs_copy.parent, moved)
    api = load_spec(moved / "main.yaml", cache=cache)
    assert api.source_path == str(moved / "main.yaml")
    assert "interactions" in vars(api)  # still served with its interaction map


def test_unwritable_cache_directory_only_costs_speed(refs_copy: Path, tmp_path: Path) -> None:
    blocker = tmp_path / "file-not-dir"
    blocker.write_text("x")
    assert load_spec(refs_copy, cache=blocker / "cache").title == "Refs"


def test_entries_of_other_versions_are_pruned(refs_copy: Path, tmp_path: Path) -> None:
    from crossfield.spec._source import content_hash

    cache = tmp_path / "cache"
    cache.mkdir()
    digest = content_hash(refs_copy.read_bytes())
    stale = cache / f"{digest}-0123456789ab-1.pickle"
    stale.write_bytes(b"old")
    other = cache / ("0" * 64 + "-0123456789ab-1.pickle")
    other.write_bytes(b"another spec")
    load_spec(refs_copy, cache=cache)
    assert not stale.exists()
    assert other.exists()
    assert len(list(cache.glob(f"{digest}-*.pickle"))) == 1


_AWKWARD = """
openapi: 3.0.3
info: {title: Awkward, version: "1"}
paths:
  /things:
    post:
      operationId: createThing
      requestBody:
        content:
          application/json:
            schema:
              type: object
              properties:
                a.b: {type: string}
                x/y: {type: string}
                t~0: {type: string}
                arr[]: {type: array, items: {type: object, properties: {in.ner: {type: integer}}}}
                plain: {type: array, items: {$ref: '#/components/schemas/Thing'}}
      responses:
        "201":
          description: created
          content:
            application/json:
              schema: {$ref: '#/components/schemas/Thing'}
  /things/{id}:
    get:
      operationId: getThing
      parameters: [{name: id, in: path, required: true, schema: {type: string}}]
      responses:
        "200":
          description: one
          content:
            application/json:
              schema: {$ref: '#/components/schemas/Thing'}
components:
  schemas:
    Thing:
      allOf:
        - {$ref: '#/components/schemas/Base'}
        - type: object
          properties:
            label: {type: string}
            tags: {type: array, items: {type: object, properties: {k.v: {type: string}}}}
    Base:
      type: object
      properties:
        id: {type: string}
"""


def test_field_pointers_survive_the_cache_whatever_the_property_names(tmp_path: Path) -> None:
    """Pointers are stored compactly in the cache and rebuilt from the path when read: names holding
    `.`, `/`, `~` or `[]` must come back exactly."""
    spec = tmp_path / "awkward.yaml"
    spec.write_text(_AWKWARD)
    cold = load_spec(spec, cache=False)
    cache = tmp_path / "cache"
    load_spec(spec, cache=cache)
    warm = load_spec(spec, cache=cache)
    expected = {(op.id, f.path): f.pointer for op in cold.operations for f in op.fields}
    got = {(op.id, f.path): f.pointer for op in warm.operations for f in op.fields}
    assert got == expected
    assert expected["createThing", "body.x/y"].endswith("/properties/x~1y")
    assert expected["createThing", "body.t~0"].endswith("/properties/t~00")
    assert expected["createThing", "body.plain[].tags[].k.v"] == (
        "/components/schemas/Thing/allOf/1/properties/tags/items/properties/k.v"
    )
    assert expected["getThing", "response.id"] == "/components/schemas/Base/properties/id"
    assert [op.fields for op in warm.operations] == [op.fields for op in cold.operations]


def test_fields_below_a_shared_schema_are_shared_between_operations(tmp_path: Path) -> None:
    spec = tmp_path / "awkward.yaml"
    spec.write_text(_AWKWARD)
    api = load_spec(spec, cache=False)
    create, get = api.operation("createThing"), api.operation("getThing")
    assert create is not None and get is not None
    for path in ("response.id", "response.label", "response.tags[].k.v"):
        assert create.field(path) is get.field(path), path
