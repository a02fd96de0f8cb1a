"""Every way a spec can fail to load raises a typed error that says which file, which line when it is
known, and which JSON pointer; a single broken operation is reported beside the good ones instead."""

from __future__ import annotations

from pathlib import Path

import pytest

from crossfield.errors import (
    NotAnApiDescriptionError,
    SpecError,
    SpecFileNotFoundError,
    SpecParseError,
    UnresolvableRefError,
    UnsupportedVersionError,
)
from crossfield.spec import load_spec


def test_missing_file(tmp_path: Path) -> None:
    missing = tmp_path / "nope.yaml"
    with pytest.raises(SpecFileNotFoundError) as info:
        load_spec(missing, cache=False)
    assert info.value.file == str(missing)
    assert "not found" in info.value.message
    assert info.value.hint


def test_directory_is_not_a_spec(tmp_path: Path) -> None:
    with pytest.raises(SpecFileNotFoundError):
        load_spec(tmp_path, cache=False)


def test_not_yaml(specs: Path) -> None:
    path = specs / "bad" / "not-yaml.yaml"
    with pytest.raises(SpecParseError) as info:
        load_spec(path, cache=False)
    err = info.value
    assert err.file == str(path)
    assert err.line is not None and 8 <= err.line <= 10
    assert "YAML" in err.message
    assert f"{path}:{err.line}" in str(err)


def test_invalid_json(tmp_path: Path) -> None:
    path = tmp_path / "broken.json"
    path.write_text('{\n  "openapi": "3.0.0",\n  "info": {,\n}\n')
    with pytest.raises(SpecParseError) as info:
        load_spec(path, cache=False)
    assert info.value.line == 3


def test_binary_file(tmp_path: Path) -> None:
    path = tmp_path / "image.yaml"
    path.write_bytes(b"\x89PNG\r\n\x1a\n\xff\xfe\x00")
    with pytest.raises(SpecParseError, match="not a text file"):
        load_spec(path, cache=False)


def test_not_an_api_description(specs: Path) -> None:
    path = specs / "bad" / "not-api.yaml"
    with pytest.raises(NotAnApiDescriptionError) as info:
        load_spec(path, cache=False)
    assert (info.value.file, info.value.line, info.value.pointer) == (str(path), 1, "")
    assert info.value.hint and "OpenAPI" in info.value.hint


def test_a_list_is_not_an_api_description(tmp_path: Path) -> None:
    path = tmp_path / "list.yaml"
    path.write_text("- a\n- b\n")
    with pytest.raises(NotAnApiDescriptionError, match="list"):
        load_spec(path, cache=False)


@pytest.mark.parametrize(
    ("name", "pointer", "version"),
    [("unsupported.yaml", "/openapi", "4.0.0"), ("swagger-1.2.yaml", "/swagger", "1.2")],
)
def test_unsupported_version(specs: Path, name: str, pointer: str, version: str) -> None:
    path = specs / "bad" / name
    with pytest.raises(UnsupportedVersionError) as info:
        load_spec(path, cache=False)
    assert info.value.file == str(path)
    assert info.value.line == 1
    assert info.value.pointer == pointer
    assert version in info.value.message


def test_unresolvable_ref(specs: Path) -> None:
    path = specs / "bad" / "unresolvable-ref.yaml"
    with pytest.raises(UnresolvableRefError) as info:
        load_spec(path, cache=False)
    err = info.value
    assert err.file is not None and Path(err.file).resolve() == path.resolve()
    assert err.line == 15  # the line of the `$ref`
    assert err.pointer == "/paths/~1things/get/responses/200/content/application~1json/schema/$ref"
    assert "/components/schemas/Missing" in err.message
    assert isinstance(err, SpecError) and err.to_dict()["kind"] == "unresolvable-ref"


def test_remote_ref_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "remote.yaml"
    path.write_text(
        "openapi: 3.0.3\ninfo: {title: R, version: '1'}\npaths:\n  /a:\n    get:\n      responses:\n"
        "        '200':\n          description: ok\n          content:\n            application/json:\n"
        "              schema: {$ref: 'https://example.com/s.yaml#/S'}\n"
    )
    with pytest.raises(UnresolvableRefError, match="network") as info:
        load_spec(path, cache=False)
    assert info.value.line == 11


def test_one_broken_operation_is_reported_beside_the_good_ones(specs: Path) -> None:
    api = load_spec(specs / "bad" / "one-broken-op.yaml", cache=False)
    assert [op.id for op in api.operations] == ["good", "alsoGood"]
    assert len(api.errors) == 1
    error = api.errors[0]
    assert error.pointer == "/paths/~1broken/get"
    assert "nowhere.yaml" in error.message
    assert error.line == 21


def test_ref_loop_is_an_error_not_a_hang(tmp_path: Path) -> None:
    path = tmp_path / "loop.yaml"
    path.write_text(
        "openapi: 3.0.3\ninfo: {title: L, version: '1'}\npaths:\n  /a:\n    get:\n      parameters:\n"
        "        - $ref: '#/components/parameters/P'\n      responses:\n        '200': {description: ok}\n"
        "  /b:\n    get:\n      responses:\n        '200': {description: ok}\n"
        "components:\n  parameters:\n    P: {$ref: '#/components/parameters/Q'}\n    Q: {$ref: '#/components/parameters/P'}\n"
    )
    api = load_spec(path, cache=False)
    assert [op.id for op in api.operations] == ["GET /b"]
    assert "loops" in api.errors[0].message
