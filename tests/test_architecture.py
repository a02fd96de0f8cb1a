"""The layer rules of ARCHITECTURE.md, enforced: a module may only import the layers its row allows."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "crossfield"

# layer -> crossfield subpackages it may import (besides itself). Mirrors ARCHITECTURE.md.
ALLOWED: dict[str, set[str]] = {
    "errors": set(),
    "_version": set(),
    "spec": {"_secrets", "errors", "_version"},
    "judgment": {"_secrets", "spec", "errors", "_version", "testing"},
    "codegen": {"_secrets", "judgment", "spec", "errors", "_version", "feedback", "_serving"},
    "feedback": {"_secrets", "judgment", "spec", "errors", "_version"},
    "batch": {"_secrets", "spec", "judgment", "codegen", "feedback", "errors", "_version"},
    "testing": {"_secrets", "judgment", "errors", "_version"},
    "_serving": set(),
    "_secrets": set(),
    "evals": {"_secrets", "spec", "judgment", "codegen", "feedback", "errors", "_version", "_serving"},
}


def _layer(path: Path) -> str:
    rel = path.relative_to(PACKAGE)
    return rel.parts[0].removesuffix(".py")


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module]
        else:
            continue
        for name in names:
            parts = name.split(".")
            if parts[0] == "crossfield" and len(parts) > 1:
                found.add(parts[1])
    return found


MODULES = sorted(p for p in PACKAGE.rglob("*.py") if _layer(p) in ALLOWED)


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_module_imports_only_allowed_layers(path: Path) -> None:
    layer = _layer(path)
    forbidden = _imports(path) - ALLOWED[layer] - {layer}
    assert not forbidden, (
        f"{path.relative_to(PACKAGE)} ({layer}) imports {sorted(forbidden)}; see ARCHITECTURE.md"
    )
