"""`make_judge`: a judge from a short spec string, the way the CLI and configuration name judges.

    make_judge("heuristic")                      the offline rule-based judge (no key, no network)
    make_judge("scripted", batches=[[draft]])    queued drafts, for tests and notebooks
    make_judge("anthropic/claude-sonnet-5-5")    an LLM judge; also openai/MODEL, openai-compatible/MODEL
    make_judge("anthropic")                      an LLM judge with the provider's default model

Options go to the judge's constructor. LLM-only options (prompt, concurrency, base_url, ...) are ignored by
the heuristic and scripted judges, so a CLI can pass its options through unconditionally. The LLM and
heuristic packages are imported only when asked for.
"""

from __future__ import annotations

from typing import Any

from crossfield.errors import JudgeError
from crossfield.judgment.base import Judge, ScriptedJudge

LLM_OPTIONS = frozenset(
    {
        "api_key",
        "backend",
        "base_url",
        "budget_tokens",
        "cache",
        "cache_dir",
        "chunk_operations",
        "concurrency",
        "extra_params",
        "http_client",
        "interaction_map",
        "max_retries",
        "max_tokens",
        "prices",
        "progress",
        "prompt",
        "request_timeout",
        "retry",
        "split_by",
        "temperature",
        "transport",
    }
)


def make_judge(spec: str | Judge = "heuristic", **options: Any) -> Judge:
    """A judge for `spec` ("heuristic", "scripted" or "provider/model"); a `Judge` is returned as is."""
    if not isinstance(spec, str):
        if isinstance(spec, Judge):
            return spec
        raise JudgeError(f"not a judge: {spec!r}")
    name = spec.strip()
    if name in ("heuristic", "scripted"):
        rest = {k: v for k, v in options.items() if k not in LLM_OPTIONS and v is not None}
        if name == "scripted":
            batches = rest.pop("batches", [])
            return ScriptedJudge(batches, repeat=bool(rest.pop("repeat", False)))
        try:
            from crossfield.judgment.heuristic import HeuristicJudge
        except ImportError as exc:
            raise JudgeError(
                f"the heuristic judge is not available in this build ({exc}); use --judge PROVIDER/MODEL"
            ) from exc
        try:
            return HeuristicJudge(**rest)
        except TypeError as exc:
            raise JudgeError(f"invalid option for the heuristic judge: {exc}") from exc
    from crossfield.judgment.llm import LLMJudge

    llm_options = {k: v for k, v in options.items() if v is not None}
    try:
        return LLMJudge(name, **llm_options)
    except TypeError as exc:
        raise JudgeError(f"invalid option for the LLM judge {name!r}: {exc}") from exc
