"""crossfield: cross-field API risk hypotheses, compiled into pytest + httpx tests.

The names a notebook needs:

    import crossfield
    api = crossfield.load_spec("openapi.yaml")
    result = crossfield.judge(api)                        # the offline heuristic judge by default
    suite = crossfield.generate(result.hypotheses, api, "tests/api")
    summary = crossfield.run(["specs/"], judge="heuristic", out="out/")   # a whole corpus
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from crossfield._version import __version__
from crossfield.judgment import Hypothesis, HypothesisDraft, judge, make_judge
from crossfield.judgment.base import JudgeResult
from crossfield.judgment.heuristic import HeuristicJudge
from crossfield.spec import Api, Field, Operation, build_interaction_map, load_spec

if TYPE_CHECKING:
    from crossfield.batch import run
    from crossfield.codegen import generate
    from crossfield.feedback import Store

__all__ = [
    "Api",
    "Field",
    "HeuristicJudge",
    "Hypothesis",
    "HypothesisDraft",
    "JudgeResult",
    "Operation",
    "Store",
    "__version__",
    "build_interaction_map",
    "generate",
    "judge",
    "load_spec",
    "make_judge",
    "run",
]

# Heavier layers load on first use, so `import crossfield` stays fast for the CLI and the pytest plugin.
_LAZY = {"generate": "crossfield.codegen", "Store": "crossfield.feedback", "run": "crossfield.batch"}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'crossfield' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(module), name)


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
