"""The heuristic judge on `catalog.yaml`: objects a client cannot create are found by listing them (only
available ones), and an array of ids in a body names one such object, a fresh one per request."""

from __future__ import annotations

from pathlib import Path

import pytest

from crossfield.judgment.heuristic import HeuristicJudge
from crossfield.judgment.models import CapturedValue, Hypothesis, LiteralValue
from crossfield.spec import load_spec

HERE = Path(__file__).parent


@pytest.fixture(scope="module")
def hyps() -> list[Hypothesis]:
    result = HeuristicJudge(per_operation=10, max_hypotheses=200).judge(load_spec(HERE / "catalog.yaml"))
    assert result.dropped == []  # an override of `glass_ids.0` is grounded: an element of a plain array
    return result.hypotheses


def test_catalog_objects_are_found_by_listing_and_array_ids_refer_to_them(hyps: list[Hypothesis]) -> None:
    second = next(h for h in hyps if "second cancel" in h.title)
    ops = [s.operation for s in second.steps]
    assert ops[:3] == ["listTastings", "listGlasses", "bookTasting"]
    find_tasting, find_glass, book = second.steps[:3]
    assert [c.pointer for c in find_tasting.captures] == ["/items/0/id"]
    assert find_glass.params["query.state"] == LiteralValue(value="available")
    assert find_glass.params["path.tastingId"] == CapturedValue(name=find_tasting.captures[0].name)
    assert book.body is not None
    assert book.body.overrides["glass_ids.0"] == CapturedValue(name=find_glass.captures[0].name)


def test_each_request_takes_its_own_listed_item() -> None:
    """Two bookings in one scenario ask for two different glasses, and share the one tasting: glasses
    are listed `available` again before each booking (the first of that list: the one taken before has
    left it); tastings, listed without a filter, would be taken in turn (the next item)."""
    from crossfield.judgment.heuristic._analysis import analyze
    from crossfield.judgment.heuristic._scenario import Builder

    analysis = analyze(load_spec(HERE / "catalog.yaml"))
    builder = Builder(analysis, ("default", "other"))
    sc = builder.scenario()
    bookings = analysis.resources["/tastings/{tastingId}/bookings"]
    assert builder.create(sc, bookings, identity="default") is not None
    assert builder.create(sc, bookings, identity="default") is not None
    finds = {s.operation: [] for s in sc.steps}
    for s in sc.steps:
        finds[s.operation].append(s.captures[0].pointer if s.captures else None)
    assert finds["listTastings"] == ["/items/0/id"]
    assert finds["listGlasses"] == ["/items/0/id", "/items/0/id"]
    ops = [s.operation for s in sc.steps]
    assert ops == ["listTastings", "listGlasses", "bookTasting", "listGlasses", "bookTasting"]
    tastings = analysis.resources["/tastings"]
    assert builder.existing(sc, tastings, identity="default") is not None
    assert sc.steps[-1].captures[0].pointer == "/items/1/id"
