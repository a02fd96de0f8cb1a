"""Changed-operations runs (`--since OLD NEW`): judge only what changed, and say which change each
hypothesis is about.

The judge sees a sub-API of the new version: the operations the diff touches (added, or changed in any
field) plus the operations linked to them in the interaction map (the producers whose ids they consume
and the consumers of what they produce), because a cross-request risk in a changed operation usually
needs its neighbours to set up or observe it. Removed operations cannot be judged: they are only counted.

Each hypothesis is then tagged with the change it targets, most specific first: a change to one of its
fields (or to a parent of one: `body.shipping added` covers `body.shipping.city`), then a change to an
operation it uses (request-side changes before response-side ones: hypotheses are about what callers
send), then a change to an operation linked to one it uses.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from dataclasses import dataclass, field

from crossfield.judgment.models import Hypothesis
from crossfield.spec.diff import Change, ChangeKind, SpecDiff, diff_specs
from crossfield.spec.model import Api


@dataclass(frozen=True, slots=True)
class ChangeScope:
    """The part of the new API worth judging after a change, and why each operation is in it."""

    api: Api
    diff: SpecDiff
    changed: tuple[str, ...]
    linked: tuple[str, ...]
    neighbours: dict[str, frozenset[str]] = field(default_factory=dict)


def change_scope(old: Api, new: Api) -> ChangeScope:
    """The sub-API of `new` to judge: operations touched by the diff from `old`, and their linked ones."""
    diff = diff_specs(old, new)
    changed = diff.touched_operations
    neighbours: dict[str, set[str]] = {}
    if changed:
        for link in new.interactions.links:
            if link.producer != link.consumer:
                neighbours.setdefault(link.producer, set()).add(link.consumer)
                neighbours.setdefault(link.consumer, set()).add(link.producer)
    changed_set = set(changed)
    linked = tuple(
        op.id for op in new.operations
        if op.id not in changed_set and any(n in changed_set for n in neighbours.get(op.id, ()))
    )  # fmt: skip
    keep = changed_set | set(linked)
    sub = dataclasses.replace(new, operations=tuple(op for op in new.operations if op.id in keep))
    frozen = {k: frozenset(v) for k, v in neighbours.items()}
    return ChangeScope(api=sub, diff=diff, changed=changed, linked=linked, neighbours=frozen)


def tag_hypotheses(hypotheses: Iterable[Hypothesis], scope: ChangeScope) -> list[Hypothesis]:
    """Each hypothesis with `change` set to the change it targets (`Change.tag()`).

    `change` is excluded from the content id, so tagging keeps ids stable: the same claim judged in a full
    run and in a `--since` run is one hypothesis."""
    by_op = scope.diff.by_operation()
    out = []
    for h in hypotheses:
        target = _target(h, by_op, scope.neighbours)
        out.append(h.model_copy(update={"change": target.tag()}) if target is not None else h)
    return out


def _target(
    h: Hypothesis, by_op: dict[str, list[Change]], neighbours: dict[str, frozenset[str]]
) -> Change | None:
    refs = [(f.operation, f.path) for f in h.fields]
    for op, path in refs:
        for c in by_op.get(op, ()):
            if c.field is not None and _covers(c.field, path):
                return c
    used = list(dict.fromkeys([op for op, _ in refs] + [s.operation for s in h.steps]))
    for op in used:
        changes = by_op.get(op)
        if changes:
            return _headline(changes)
    for op in used:
        for other in sorted(neighbours.get(op, ())):
            changes = by_op.get(other)
            if changes:
                return _headline(changes)
    return None


def _covers(changed: str, path: str) -> bool:
    """True when a change at `changed` is about `path`: the same field or one of its ancestors."""
    return path == changed or path.startswith(changed + ".") or path.startswith(changed + "[]")


def _headline(changes: list[Change]) -> Change:
    """The change that best names what happened to an operation for a judge of requests: its addition,
    else a change to what a caller sends (breaking first), else a breaking change, else the first."""

    def rank(c: Change) -> int:
        if c.kind is ChangeKind.OPERATION_ADDED:
            return 0
        request = c.field is not None and not c.field.startswith("response")
        return (1 if c.breaking else 2) if request else (3 if c.breaking else 4)

    return min(changes, key=rank)
