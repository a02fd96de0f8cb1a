"""The offline heuristic judge: general rules over the spec model, no model calls, deterministic.

Every rule family turns structural and prose facts of an API description (names, types, formats,
descriptions, path shapes, readOnly markers, headers, status codes) into hypotheses with complete,
self-contained scenarios. The judge then grounds them (`finalize`), ranks them by severity x confidence
and keeps the best few per operation, so a reviewer reads what matters first.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path

from crossfield.judgment.base import JudgeResult, Requirement, finalize
from crossfield.judgment.heuristic import (
    _rules_arithmetic,
    _rules_authorization,
    _rules_concurrency,
    _rules_idempotency,
    _rules_inter_parameter,
    _rules_mass_assignment,
    _rules_pagination,
    _rules_rate_limit,
    _rules_state,
    _rules_temporal,
)
from crossfield.judgment.heuristic._analysis import analyze
from crossfield.judgment.heuristic._scenario import Builder, Candidate, Context, Rule
from crossfield.judgment.models import Category, HypothesisDraft, Provenance
from crossfield.spec.model import Api

RULESET_VERSION = "heuristic-v1"

RULE_FAMILIES: Mapping[str, Rule] = {
    "inter_parameter": _rules_inter_parameter.rules,
    "temporal": _rules_temporal.rules,
    "state": _rules_state.rules,
    "arithmetic": _rules_arithmetic.rules,
    "idempotency": _rules_idempotency.rules,
    "pagination": _rules_pagination.rules,
    "concurrency": _rules_concurrency.rules,
    "authorization": _rules_authorization.rules,
    "mass_assignment": _rules_mass_assignment.rules,
    "rate_limit": _rules_rate_limit.rules,
}

_CATEGORY_ORDER = {c: i for i, c in enumerate(Category)}


def ruleset_hash() -> str:
    """sha256 of the rule modules' source: changes whenever a rule changes, so outputs are traceable."""
    digest = hashlib.sha256()
    here = Path(__file__).parent
    for path in sorted(here.glob("*.py")):
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


@dataclass(frozen=True)
class HeuristicConfig:
    """Knobs of the heuristic judge.

    `identities`: names of the main identity and of a second one, as the code generator maps them to
    configured credentials (`crossfield.toml`); ownership tests need the second. `per_operation` and
    `max_hypotheses` cap the output; `families` restricts the rule families run (None: all)."""

    identities: tuple[str, str] = ("default", "other")
    per_operation: int = 4
    max_hypotheses: int = 60
    min_score: float = 0.0
    families: tuple[str, ...] | None = None


class HeuristicJudge:
    """Judge an API with general rules; see the module docstring."""

    name = "heuristic"

    def __init__(self, config: HeuristicConfig | None = None, **overrides: object) -> None:
        base = config or HeuristicConfig()
        if overrides:
            base = replace(base, **overrides)  # type: ignore[arg-type]
        self.config = base

    def judge(self, api: Api, *, requirements: list[Requirement] | None = None) -> JudgeResult:
        cfg = self.config
        prompt_hash = ruleset_hash()
        result = JudgeResult(
            judge=self.name,
            model=None,
            prompt_id=RULESET_VERSION,
            prompt_hash=prompt_hash,
            api=api,
            parameters={
                "identities": list(cfg.identities),
                "per_operation": cfg.per_operation,
                "max_hypotheses": cfg.max_hypotheses,
                "families": list(cfg.families) if cfg.families else None,
            },
        )
        candidates = self.candidates(api)
        chosen = select(
            candidates, per_operation=cfg.per_operation, limit=cfg.max_hypotheses, min_score=cfg.min_score
        )
        provenance = Provenance(
            judge=self.name,
            prompt_id=RULESET_VERSION,
            prompt_hash=prompt_hash,
            spec_hash=api.content_hash,
            api_version=api.version,
        )
        finalize(chosen, api, provenance, result)
        result.finished_at = datetime.now(UTC).isoformat()
        return result

    def candidates(self, api: Api) -> list[Candidate]:
        """Every candidate of every selected rule family, before ranking and capping."""
        ctx = Context(analysis=analyze(api), builder=Builder(analyze(api), self.config.identities))
        ctx.builder.a = ctx.analysis
        out: list[Candidate] = []
        for family, rule in RULE_FAMILIES.items():
            if self.config.families is not None and family not in self.config.families:
                continue
            out.extend(rule(ctx))
        return out


def _key(c: Candidate) -> tuple[float, int, str, str]:
    return (-c.draft.score, _CATEGORY_ORDER[c.draft.category], c.operation, c.draft.title)


def select(
    candidates: Sequence[Candidate], *, per_operation: int, limit: int, min_score: float = 0.0
) -> list[HypothesisDraft]:
    """Rank by score (severity x confidence), drop duplicates (same category and fields), keep at most
    `per_operation` per operation and `limit` overall. Stable: ties break on category, operation, title."""
    ranked = sorted(candidates, key=_key)
    per_op: dict[str, int] = {}
    seen: set[tuple[str, frozenset[tuple[str, str]]]] = set()
    out: list[HypothesisDraft] = []
    for c in ranked:
        if c.draft.score < min_score or c.draft.field_key in seen:
            continue
        if per_op.get(c.operation, 0) >= per_operation:
            continue
        seen.add(c.draft.field_key)
        per_op[c.operation] = per_op.get(c.operation, 0) + 1
        out.append(c.draft)
        if len(out) >= limit:
            break
    return out
