"""Shared fixtures of the spec tests: the hand-written specs under tests/fixtures/specs and an isolated cache."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

SPECS = Path(__file__).resolve().parents[1] / "fixtures" / "specs"


@pytest.fixture
def specs() -> Path:
    return SPECS


@pytest.fixture(autouse=True)
def _isolated_cache(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> Iterator[None]:
    """No test reads or writes the user's cache directory."""
    monkeypatch.setenv("CROSSFIELD_CACHE_DIR", str(tmp_path_factory.mktemp("crossfield-cache")))
    yield
