"""Golden files: the generated code for a few hypotheses, pinned byte for byte.

The expected files are stored with a `.golden` suffix so pytest never collects them as tests.

A change to the compiler that changes generated code shows up here as a diff to review. To accept it,
regenerate the expected files with `CROSSFIELD_UPDATE_GOLDEN=1 pytest tests/codegen/test_codegen_golden.py`
and commit them with the change."""

from __future__ import annotations

import os
from pathlib import Path

import codegen_shop_hypotheses as shop_hyps
import pytest
from codegen_support import config_from_toml

from crossfield.codegen import compile_hypotheses, write_suite
from crossfield.spec import load_spec

GOLDEN = Path(__file__).resolve().parents[1] / "golden" / "codegen"
EXPECTED = GOLDEN / "expected"
SUFFIX = ".golden"
PINNED = {
    "refund-exceeds-total",
    "offset-skips",
    "oversell",
    "replay-duplicates",
    "orders-readable-by-anyone",
    "role-assignable",
}


def generated() -> dict[str, str]:
    api = load_spec(GOLDEN / "shop_openapi.json", cache=False)
    cases = [c.hypothesis for c in shop_hyps.cases() if c.bug in PINNED]
    return compile_hypotheses(cases, api, config=config_from_toml(shop_hyps.SHOP_CONFIG))


def test_generated_code_matches_the_golden_files() -> None:
    files = generated()
    if os.environ.get("CROSSFIELD_UPDATE_GOLDEN") == "1":
        for stale in EXPECTED.glob("*"):
            stale.unlink()
        write_suite({f"{name}{SUFFIX}": text for name, text in files.items()}, EXPECTED)
        pytest.skip("golden files regenerated")
    expected = {
        p.name.removesuffix(SUFFIX): p.read_text(encoding="utf-8")
        for p in sorted(EXPECTED.glob(f"*{SUFFIX}"))
    }
    assert sorted(files) == sorted(expected), "the set of generated files changed"
    for name, text in files.items():
        assert text == expected[name], f"{name} differs from tests/golden/codegen/expected/{name}{SUFFIX}"
