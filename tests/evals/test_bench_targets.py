"""Target loading: any directory with the target layout works, imported by path under a unique name."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest
from evals_support import TINY

from crossfield.errors import ConfigError
from crossfield.evals import discover_targets, load_target


def test_tiny_target_loads_bugs_and_headers() -> None:
    target = load_target(TINY)
    assert target.name == "tiny"
    assert [b.id for b in target.bugs] == [
        "discount-exceeds-price",
        "delete-twice-succeeds",
        "negative-price-accepted",
    ]
    assert target.bug("negative-price-accepted").cross_field is False
    assert target.default_headers() == {"Authorization": "Bearer tiny-token"}


def test_any_directory_with_the_layout_is_a_target(tmp_path: Path) -> None:
    copy = tmp_path / "elsewhere" / "my-api"
    shutil.copytree(TINY, copy)
    before = list(sys.path)
    target = load_target(copy)
    app = target.create_app(frozenset({"discount-exceeds-price"}))
    assert app.title == "Tiny Items API"
    assert sys.path == before, "the target's directory stays on sys.path only during the import"
    assert "tiny_rules" not in sys.modules, "sibling modules must not leak into other targets' imports"
    # a second target with the same file names gets its own module
    other = tmp_path / "other" / "my-api-2"
    shutil.copytree(TINY, other)
    assert load_target(other).app_factory() is not target.app_factory()


def test_fresh_state_per_app() -> None:
    from fastapi.testclient import TestClient

    target = load_target(TINY)
    headers = {"Authorization": "Bearer tiny-token"}
    with TestClient(target.create_app()) as client:
        assert client.post("/items", json={"name": "a", "price": 1}, headers=headers).json()["id"] == "it_1"
    with TestClient(target.create_app()) as client:
        assert client.post("/items", json={"name": "a", "price": 1}, headers=headers).json()["id"] == "it_1"


def test_discover_collection_and_names(tmp_path: Path) -> None:
    shutil.copytree(TINY, tmp_path / "a")
    shutil.copytree(TINY, tmp_path / "b")
    (tmp_path / "half-written").mkdir()
    (tmp_path / "half-written" / "app.py").write_text("")
    assert [t.name for t in discover_targets([tmp_path])] == ["a", "b"]
    assert [t.name for t in discover_targets([tmp_path], ["b"])] == ["b"]
    with pytest.raises(ConfigError, match="unknown target"):
        discover_targets([tmp_path], ["nope"])


def test_incomplete_target_is_explained(tmp_path: Path) -> None:
    (tmp_path / "openapi.yaml").write_text("openapi: 3.0.0\n")
    with pytest.raises(ConfigError, match=r"missing app\.py, bugs\.yaml, crossfield\.toml"):
        load_target(tmp_path)


def test_broken_app_is_a_config_error(tmp_path: Path) -> None:
    copy = tmp_path / "broken"
    shutil.copytree(TINY, copy)
    (copy / "app.py").write_text("raise RuntimeError('boom')\n")
    with pytest.raises(ConfigError, match="import failed: RuntimeError: boom"):
        load_target(copy).app_factory()
