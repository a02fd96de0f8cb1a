"""The heuristic judge on `studio.yaml`: a filtered page walk that must leave out an object moved to
another state, a reference to an ended object, and idempotency keys scoped to the caller."""

from __future__ import annotations

from pathlib import Path

import pytest

from crossfield.judgment.heuristic import HeuristicJudge
from crossfield.judgment.models import (
    CapturedValue,
    CollectionExpectation,
    Hypothesis,
    RelationExpectation,
    StatusExpectation,
    Step,
    UniqueValue,
)
from crossfield.spec import load_spec

HERE = Path(__file__).parent


@pytest.fixture(scope="module")
def hyps() -> list[Hypothesis]:
    result = HeuristicJudge(per_operation=10, max_hypotheses=200).judge(load_spec(HERE / "studio.yaml"))
    assert result.dropped == []
    return result.hypotheses


def _titled(hyps: list[Hypothesis], *words: str) -> Hypothesis:
    found = [h for h in hyps if all(w in h.title for w in words)]
    assert found, f"no hypothesis with {words}: {[h.title for h in hyps]}"
    return found[0]


def _band(step: Step) -> str | None:
    return next((e.band for e in step.expect if isinstance(e, StatusExpectation)), None)


def test_a_filtered_walk_leaves_out_an_object_moved_to_another_state(hyps: list[Hypothesis]) -> None:
    h = _titled(hyps, "listSessions", "filtered by `status`")
    walk = h.steps[-1]
    assert walk.paginate is not None and isinstance(walk.params["query.status"], CapturedValue)
    moved = next(s for s in h.steps if s.operation == "cancelSession")
    assert h.steps.index(moved) < len(h.steps) - 1
    checks = {e.check: e for e in walk.expect if isinstance(e, CollectionExpectation)}
    assert set(checks) == {"each_once", "not_contains", "count_equals_total"}
    assert len(checks["each_once"].ids) == 5
    assert checks["not_contains"].value == moved.params["path.sessionId"]


def test_a_reference_to_an_ended_object_is_refused(hyps: list[Hypothesis]) -> None:
    h = _titled(hyps, "bookSession", "ended by `removeRoom`")
    books = [s for s in h.steps if s.operation == "bookSession"]
    assert [_band(s) for s in books] == ["2xx", "4xx"]
    live, ended = books
    end = next(s for s in h.steps if s.operation == "removeRoom")
    assert h.steps.index(end) < h.steps.index(ended)
    assert ended.body is not None and live.body is not None
    assert ended.body.overrides["roomId"] == end.params["path.roomId"]
    assert ended.body.overrides["roomId"] != live.body.overrides["roomId"]
    assert ended.captures == []
    # two requests, two keys: the refused one is not a replay of the accepted one
    assert live.params["header.Idempotency-Key"] != ended.params["header.Idempotency-Key"]


def test_keys_scoped_to_the_caller(hyps: list[Hypothesis]) -> None:
    h = _titled(hyps, "bookSession", "another identity reusing")
    owner, other = [s for s in h.steps if s.operation == "bookSession"]
    key = owner.params["header.Idempotency-Key"]
    assert isinstance(key, UniqueValue) and other.params["header.Idempotency-Key"] == key
    assert (owner.identity, other.identity) == ("default", "other")
    ne = [e for e in other.expect if isinstance(e, RelationExpectation)]
    assert ne and ne[0].op == "ne" and ne[0].against == CapturedValue(name=owner.captures[0].name)
