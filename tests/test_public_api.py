"""Every public package's `__all__` is complete and importable, and the version is in one place."""

from __future__ import annotations

import importlib
import tomllib
from pathlib import Path

import pytest

import crossfield

PUBLIC_PACKAGES = [
    "crossfield",
    "crossfield.spec",
    "crossfield.judgment",
    "crossfield.codegen",
    "crossfield.feedback",
    "crossfield.evals",
    "crossfield.batch",
]


@pytest.mark.parametrize("name", PUBLIC_PACKAGES)
def test_all_names_exist(name: str) -> None:
    module = importlib.import_module(name)
    missing = [n for n in module.__all__ if not hasattr(module, n)]
    assert not missing
    assert sorted(module.__all__) == sorted(set(module.__all__)), "duplicates in __all__"


@pytest.mark.parametrize("name", PUBLIC_PACKAGES)
def test_all_lists_every_public_name(name: str) -> None:
    module = importlib.import_module(name)
    public = {
        n
        for n, v in vars(module).items()
        if not n.startswith("_")
        and not isinstance(v, type(importlib))
        and getattr(v, "__module__", "").startswith("crossfield")
    }
    assert public <= set(module.__all__), (
        f"public names not in __all__: {sorted(public - set(module.__all__))}"
    )


def test_version_matches_pyproject() -> None:
    pyproject = tomllib.loads((Path(__file__).resolve().parents[1] / "pyproject.toml").read_text())
    assert crossfield.__version__ == pyproject["project"]["version"]
