"""Fixtures for the LLM judge tests (helpers live in llm_support.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from llm_support import HERE, example_draft

from crossfield.spec import Api, load_spec_from_text


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No real keys, base URLs or price files from the environment; a private cache directory."""
    monkeypatch.setenv("CROSSFIELD_CACHE_DIR", str(tmp_path / "cache"))
    for name in (
        "ANTHROPIC_API_KEY",
        "OPENAI_API_KEY",
        "CROSSFIELD_OPENAI_API_KEY",
        "CROSSFIELD_OPENAI_BASE_URL",
        "CROSSFIELD_PRICES",
        "ANTHROPIC_BASE_URL",
        "OPENAI_BASE_URL",
    ):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture(scope="session")
def api_text() -> str:
    return (HERE / "payments_mini.yaml").read_text(encoding="utf-8")


@pytest.fixture
def api(api_text: str) -> Api:
    return load_spec_from_text(api_text, name="payments_mini.yaml")


@pytest.fixture(scope="session")
def example() -> dict[str, Any]:
    return example_draft()
