"""The code-generation step of the harness: compile accepted hypotheses into a suite directory.

Kept apart from the orchestration so the harness depends on one narrow fact about the code generator:
which tests it wrote, for which hypothesis.
"""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from crossfield.judgment.models import Hypothesis
from crossfield.spec.model import Api


@dataclass(slots=True)
class CompiledSuite:
    path: Path
    test_count: int = 0
    compiled_ids: set[str] = field(default_factory=set)
    warnings: list[str] = field(default_factory=list)


def compile_suite(
    hypotheses: Sequence[Hypothesis], api: Api, out_dir: Path, config_path: Path
) -> CompiledSuite:
    """Generate the suite into a fresh `out_dir` (a stale suite must never be rerun by mistake)."""
    from crossfield.codegen import generate  # the compiler is heavy; import it only when compiling

    if out_dir.exists():
        shutil.rmtree(out_dir)
    suite = CompiledSuite(path=out_dir)
    if not hypotheses:
        out_dir.mkdir(parents=True)
        return suite
    generated = generate(list(hypotheses), api, out_dir, config=config_path)
    suite.test_count = len(generated.tests)
    suite.compiled_ids = set(generated.tests)
    suite.warnings = list(generated.warnings)
    return suite
