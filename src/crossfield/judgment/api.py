"""`judge(...)`: judge a spec in one call, with any judge. The lead re-exports it as `crossfield.judge`.

result = judge("openapi.yaml")                                    # heuristic, offline
result = judge(api, model="anthropic/claude-sonnet-5-5", requirements="reqs.md", prompt="v2")
result.to_set().model_dump_json()
"""

from __future__ import annotations

import os
from typing import Any

from crossfield.judgment.base import Judge, JudgeResult, Requirement
from crossfield.judgment.registry import make_judge
from crossfield.judgment.requirements import load_requirements
from crossfield.spec.loader import load_spec
from crossfield.spec.model import Api


def judge(
    api_or_path: Api | str | os.PathLike[str],
    model: str | Judge = "heuristic",
    *,
    requirements: list[Requirement] | str | os.PathLike[str] | None = None,
    **options: Any,
) -> JudgeResult:
    """Judge an `Api` or a spec file with `model` ("heuristic", "scripted", "provider/model" or a judge).

    `requirements` is a list of `Requirement`s or a requirements file (Markdown/text with ids like REQ-12).
    Other options go to the judge (see `make_judge`)."""
    api = api_or_path if isinstance(api_or_path, Api) else load_spec(api_or_path)
    if isinstance(requirements, str | os.PathLike):
        requirements = load_requirements(requirements)
    return make_judge(model, **options).judge(api, requirements=requirements)
