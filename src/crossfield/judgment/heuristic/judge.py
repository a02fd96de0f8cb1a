"""The offline heuristic judge: general rules over the spec model, no model calls, deterministic.

Every rule family turns structural and prose facts of an API description (names, types, formats,
descriptions, path shapes, readOnly markers, headers, status codes) into hypotheses with complete,
self-contained scenarios. The judge then grounds them (`finalize`), ranks them by severity x confidence
and keeps the best few per operation, so a reviewer reads what matters first.
"""

from __future__ import annotations

import functools
import hashlib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path

from crossfield.judgment.base import JudgeResult, Requirement, finalize
from crossfield.judgment.heuristic import (
    _rules_arithmetic,
    _rules_authorization,
    _rules_concurrency,
    _rules_consistency,
    _rules_deadlines,
    _rules_idempotency,
    _rules_inter_parameter,
    _rules_mass_assignment,
    _rules_pagination,
    _rules_parentage,
    _rules_rate_limit,
    _rules_state,
    _rules_temporal,
    _rules_thresholds,
)
from crossfield.judgment.heuristic import _vocab as V
from crossfield.judgment.heuristic._analysis import Analysis, analyze
from crossfield.judgment.heuristic._scenario import Builder, Candidate, Context, Rule
from crossfield.judgment.models import (
    Capture,
    CapturedValue,
    Category,
    HypothesisDraft,
    Provenance,
    StatusExpectation,
    Step,
)
from crossfield.spec.model import Api

RULESET_VERSION = "heuristic-v1"

RULE_FAMILIES: Mapping[str, Rule] = {
    "inter_parameter": _rules_inter_parameter.rules,
    "thresholds": _rules_thresholds.rules,
    "consistency": _rules_consistency.rules,
    "parentage": _rules_parentage.rules,
    "temporal": _rules_temporal.rules,
    "deadlines": _rules_deadlines.rules,
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


@functools.cache
def ruleset_hash() -> str:
    """sha256 of the rule modules' source: changes whenever a rule changes, so outputs are traceable (and
    batch runs judged with other rules are judged again). Read once per process, like the modules."""
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
    prompt_id: str = RULESET_VERSION
    """The rule set's version (the `prompt_id` of results and provenance)."""

    def __init__(self, config: HeuristicConfig | None = None, **overrides: object) -> None:
        base = config or HeuristicConfig()
        if overrides:
            base = replace(base, **overrides)  # type: ignore[arg-type]
        self.config = base

    @property
    def prompt_hash(self) -> str:
        """`ruleset_hash()`: the `prompt_hash` of results and provenance, and of batch runs' resume key."""
        return ruleset_hash()

    def judge(self, api: Api, *, requirements: list[Requirement] | None = None) -> JudgeResult:
        cfg = self.config
        prompt_id, prompt_hash = self.prompt_id, self.prompt_hash
        result = JudgeResult(
            judge=self.name,
            model=None,
            prompt_id=prompt_id,
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
            prompt_id=prompt_id,
            prompt_hash=prompt_hash,
            spec_hash=api.content_hash,
            api_version=api.version,
        )
        finalize(chosen, api, provenance, result)
        result.finished_at = datetime.now(UTC).isoformat()
        return result

    def candidates(self, api: Api) -> list[Candidate]:
        """Every candidate of every selected rule family, before ranking and capping."""
        analysis = analyze(api)
        ctx = Context(analysis=analysis, builder=Builder(analysis, self.config.identities))
        out: list[Candidate] = []
        for family, rule in RULE_FAMILIES.items():
            if self.config.families is not None and family not in self.config.families:
                continue
            out.extend(rule(ctx))
        restricted = ctx.analysis.restricted
        released = (_release(ctx.analysis, c) for c in out if not _needs_a_role(c, restricted))
        return [c for c in released if c is not None]


def _needs_a_role(c: Candidate, restricted: frozenset[str]) -> bool:
    """Whether a scenario's evidence expects success from an operation reserved for a role. A setup step
    may call one: if the configured identity lacks the role, the server refuses it and the test is
    skipped as not evaluated, rather than failing."""
    for step in c.draft.steps:
        if step.operation not in restricted or step.setup:
            continue
        bands = [e for e in step.expect if isinstance(e, StatusExpectation)]
        if not bands or any(e.band == "2xx" or any(200 <= code < 300 for code in e.codes) for e in bands):
            return True
    return False


_HOLDING_LIMIT = re.compile(
    r"\bat most\b[^.]{0,40}\b(?:active|open|concurrent|outstanding|simultaneous)\b"
    r"|\b(?:hold|have|keep|own)s? at most\b",
    re.I,
)
_ANY_OUTCOME = StatusExpectation(codes=[200, 201, 202, 204, 400, 403, 404, 409, 410, 422])


def _release(a: Analysis, c: Candidate) -> Candidate | None:
    """Objects a caller may only hold a limited number of at once (`at most N active loans`) are
    released at the end of every scenario that opened them (their final action, any outcome), so
    scenarios do not use up each other's allowance on a shared server. A scenario that needs more
    than two of them at once (a pagination walk) could hit the unknown allowance itself: dropped."""
    steps = list(c.draft.steps)
    held: dict[tuple[str, str], int] = {}
    names = {s.id for s in steps}
    extra: list[Step] = []
    for i, step in enumerate(steps):
        res = a.by_op.get(step.operation)
        if res is None or res.create is None or res.create.id != step.operation or res.id_param is None:
            continue
        if not _HOLDING_LIMIT.search(res.create.description or "") or not any(
            isinstance(e, StatusExpectation) and e.band == "2xx" for e in step.expect
        ):
            continue
        final = next(
            (x for x in res.actions if x.verb in V.FINAL_VERBS and x.op.method.lower() == "post"), None
        )
        if (
            final is None
            or final.op.parameter("path", res.id_param) is None
            or len(final.op.parameters_in("path")) != 1
        ):
            continue
        key = (res.key, step.identity)
        held[key] = held.get(key, 0) + step.concurrent * step.repeat
        if held[key] > 2:
            return None
        if not step.captures and res.id_pointer and step.concurrent == 1 and step.repeat == 1:
            name = f"held_{res.name}_{i}"[:40]
            names.add(name)
            step = step.model_copy(update={"captures": [Capture(name=name, pointer=res.id_pointer)]})
            steps[i] = step
        for cap in step.captures[:1]:
            n, base = 2, f"release_{cap.name}"[:40]
            name = base
            while name in names:
                name, n = f"{base[:36]}_{n}", n + 1
            names.add(name)
            extra.append(
                Step(
                    id=name,
                    operation=final.op.id,
                    identity=step.identity,
                    params={f"path.{res.id_param}": CapturedValue(name=cap.name)},
                    expect=[_ANY_OUTCOME],
                    note="cleanup: release what the scenario held (any outcome)",
                    repeat=1,
                )
            )
            if step.concurrent > 1 or step.repeat > 1:
                break
    if not extra:
        return c
    return Candidate(c.operation, c.draft.model_copy(update={"steps": [*steps, *extra]}))


def _key(c: Candidate) -> tuple[float, int, str, str]:
    return (-c.draft.score, _CATEGORY_ORDER[c.draft.category], c.operation, c.draft.title)


def select(
    candidates: Sequence[Candidate], *, per_operation: int, limit: int, min_score: float = 0.0
) -> list[HypothesisDraft]:
    """Rank by score (severity x confidence), drop duplicates (same category and fields), keep at most
    `per_operation` per operation and `limit` overall. An operation's slots go first to the best claim
    of each category, then to the next best of any: three variants of one idempotency claim must not
    crowd out the only temporal one. Stable: ties break on category, operation, title."""
    ranked = [c for c in sorted(candidates, key=_key) if c.draft.score >= min_score]
    unique: list[Candidate] = []
    seen: set[tuple[str, frozenset[tuple[str, str]]]] = set()
    for c in ranked:
        if c.draft.field_key not in seen:
            seen.add(c.draft.field_key)
            unique.append(c)
    firsts: set[int] = set()
    kinds: set[tuple[str, str]] = set()
    for i, c in enumerate(unique):
        if (c.operation, c.draft.category) not in kinds:
            kinds.add((c.operation, c.draft.category))
            firsts.add(i)
    per_op: dict[str, int] = {}
    kept: set[int] = set()
    for i in [*sorted(firsts), *(i for i in range(len(unique)) if i not in firsts)]:
        op = unique[i].operation
        if per_op.get(op, 0) < per_operation:
            per_op[op] = per_op.get(op, 0) + 1
            kept.add(i)
    return [unique[i].draft for i in sorted(kept)][:limit]
