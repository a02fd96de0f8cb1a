"""Rate limiting: only when the spec documents one (a 429 response, or prose with a limit), a burst of
calls must meet at least one 429. The first call alone succeeds (positive control)."""

from __future__ import annotations

from crossfield.judgment.heuristic import _vocab as V
from crossfield.judgment.heuristic._scenario import OK, Candidate, Context, candidate
from crossfield.judgment.models import Category, GroupExpectation, Severity
from crossfield.spec.model import Operation

_MAX_BURST = 200


def _documented(op: Operation, api_text: str) -> tuple[bool, int | None]:
    texts = [op.description, *(r.description for r in op.responses)]
    has_429 = any(r.status == "429" for r in op.responses)
    prose = " ".join(texts)
    if not has_429 and not V.RATE_LIMIT_PROSE.search(prose):
        return False, None
    for text in (prose, api_text):
        m = V.RATE_NUMBER.search(text)
        if m:
            return True, int(m.group(1))
    return True, None


def rules(ctx: Context) -> list[Candidate]:
    out: list[Candidate] = []
    for op in ctx.api.operations:
        limited, limit = _documented(op, ctx.api.description)
        if not limited:
            continue
        role = ctx.analysis.op_role.get(op.id)
        if op.parameters_in("path") or not (op.method.lower() == "get" or role == "create"):
            continue
        if limit is not None and limit + 1 > _MAX_BURST:
            continue
        burst = min((limit or 50) + 10, _MAX_BURST)
        b = ctx.builder
        sc = b.scenario()
        # the burst runs as the second identity, so the main identity's quota stays free for other tests
        if (
            b.invoke(
                sc,
                op,
                identity=ctx.other,
                expect=[OK],
                name="single_call",
                note="positive control: one call succeeds",
            )
            is None
        ):
            continue
        body = sc.steps[-1].body
        sc.add(
            sc.steps[-1].model_copy(
                update={
                    "id": sc.name("burst"),
                    "repeat": burst,
                    "expect": [GroupExpectation(codes=[429], min_count=1)],
                    "note": f"{burst} calls in a row",
                    "body": body,
                    "captures": [],
                }
            )
        )
        fields = [(op, p.field_path) for p in op.parameters][:1] + [
            (op, f.path) for f in op.fields if f.location == "body" and f.required
        ][:1]
        made = candidate(
            op,
            title=f"{op.id}: a burst of {burst} calls is rate limited (429)",
            rationale="The spec documents a rate limit; without enforcement one client can exhaust the service.",
            category=Category.RATE_LIMITING,
            severity=Severity.MEDIUM if role == "create" else Severity.LOW,
            confidence=0.6 if limit is None else 0.75,
            fields=fields or [(op, f.path) for f in op.fields[:1]],
            steps=sc.steps,
        )
        if made is not None:
            out.append(made)
    return out
