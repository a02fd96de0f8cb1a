"""The heuristic judge on `workshops.yaml`, a small spec written for these tests: a read-only supply
counter on a parent (seats left) consumed by a child create, and a paginated list reporting its page count."""

from __future__ import annotations

from pathlib import Path

import pytest

from crossfield.judgment.heuristic import HeuristicJudge
from crossfield.judgment.models import (
    CapturedValue,
    Category,
    GroupExpectation,
    Hypothesis,
    LiteralValue,
    RelationExpectation,
)
from crossfield.spec import load_spec

HERE = Path(__file__).parent


@pytest.fixture(scope="module")
def hyps() -> list[Hypothesis]:
    result = HeuristicJudge(per_operation=10, max_hypotheses=200).judge(load_spec(HERE / "workshops.yaml"))
    assert result.dropped == []
    return result.hypotheses


def test_concurrent_consumers_of_a_read_only_counter(hyps: list[Hypothesis]) -> None:
    found = [h for h in hyps if h.category is Category.CONCURRENCY and "seats_remaining" in h.title]
    assert len(found) == 1
    h = found[0]
    create = h.steps[0]
    assert create.operation == "createWorkshop"
    assert create.body is not None and create.body.overrides["seats"] == LiteralValue(value=1)
    burst = next(s for s in h.steps if s.concurrent > 1)
    assert burst.operation == "register" and burst.concurrent > 1
    group = [e for e in burst.expect if isinstance(e, GroupExpectation)]
    assert group and group[0].band == "2xx" and group[0].max_count == 1
    read = h.steps[-1]
    assert read.operation == "getWorkshop"
    assert (
        RelationExpectation(pointer="/seats_remaining", op="ge", against=LiteralValue(value=0)) in read.expect
    )


def test_page_after_the_reported_last_page_is_empty(hyps: list[Hypothesis]) -> None:
    h = next(h for h in hyps if h.category is Category.PAGINATION)
    assert "total_pages" in h.title
    walk = next(s for s in h.steps if s.paginate is not None)
    assert walk.paginate is not None and walk.paginate.style == "page"
    assert [c.pointer for c in walk.captures] == ["/total_pages"]
    probe = h.steps[-1]
    assert probe.id.startswith("page_after_last") and probe.paginate is None
    assert probe.params["query.page"] == CapturedValue(name=walk.captures[0].name, plus=1)
    assert probe.params["query.per_page"] == LiteralValue(value=2)
    assert RelationExpectation(pointer="/results", op="len_eq", against=LiteralValue(value=0)) in probe.expect
