"""The heuristic judge on `albums.yaml`: a child reached through another identity's own parent, a child
named in the body that belongs to another parent, a lifecycle written through a status field, an
operation the spec limits to some states after an action leaves them, and server-controlled fields
sent together on create."""

from __future__ import annotations

from pathlib import Path

import pytest

from crossfield.judgment.heuristic import HeuristicJudge
from crossfield.judgment.heuristic._rules_state import allowed_states
from crossfield.judgment.models import (
    CapturedValue,
    Hypothesis,
    LiteralValue,
    RelationExpectation,
    StatusExpectation,
    Step,
)
from crossfield.spec import load_spec

HERE = Path(__file__).parent


@pytest.fixture(scope="module")
def hyps() -> list[Hypothesis]:
    result = HeuristicJudge(per_operation=10, max_hypotheses=200).judge(load_spec(HERE / "albums.yaml"))
    assert result.dropped == []
    return result.hypotheses


def _titled(hyps: list[Hypothesis], *words: str) -> Hypothesis:
    found = [h for h in hyps if all(w in h.title for w in words)]
    assert found, f"no hypothesis with {words}: {[h.title for h in hyps]}"
    return found[0]


def _band(step: Step) -> str | None:
    return next((e.band for e in step.expect if isinstance(e, StatusExpectation)), None)


def _body(step: Step, name: str) -> object:
    assert step.body is not None
    return step.body.overrides[name]


def test_a_child_is_not_reached_through_another_identitys_own_parent(hyps: list[Hypothesis]) -> None:
    h = _titled(hyps, "deletePhoto", "through its own album")
    albums = [s for s in h.steps if s.operation == "createAlbum"]
    assert [s.identity for s in albums] == ["default", "other"]
    photo = next(s for s in h.steps if s.operation == "addPhoto")
    crossed, control = [s for s in h.steps if s.operation == "deletePhoto"]
    # the other identity names its own album and the owner's photo
    assert crossed.identity == "other" and _band(crossed) == "4xx"
    assert crossed.params["path.albumId"] == CapturedValue(name=albums[1].captures[0].name)
    assert crossed.params["path.photoId"] == CapturedValue(name=photo.captures[0].name)
    # the owner still has it, and can delete it through its own album
    read = next(s for s in h.steps if s.operation == "getPhoto")
    assert h.steps.index(crossed) < h.steps.index(read) < h.steps.index(control)
    assert control.identity == "default" and _band(control) == "2xx"
    assert control.params["path.albumId"] == CapturedValue(name=albums[0].captures[0].name)


def test_a_child_of_another_parent_named_in_the_body_is_refused(hyps: list[Hypothesis]) -> None:
    h = _titled(hyps, "setCover", "photo of another album")
    own, foreign = [s for s in h.steps if s.operation == "setCover"]
    assert [_band(own), _band(foreign)] == ["2xx", "4xx"]
    assert own.params["path.albumId"] == foreign.params["path.albumId"]
    photos = {s.captures[0].name: s for s in h.steps if s.operation == "addPhoto"}
    foreign_photo = photos[_body(foreign, "photoId").name]  # type: ignore[attr-defined]
    # the foreign photo was added to a second album, not the one in the path
    assert foreign_photo.params["path.albumId"] != foreign.params["path.albumId"]
    assert photos[_body(own, "photoId").name].params["path.albumId"] == own.params["path.albumId"]  # type: ignore[attr-defined]


def test_a_final_state_written_through_the_status_field_cannot_be_undone(hyps: list[Hypothesis]) -> None:
    h = _titled(hyps, "updatePrint", "set to `cancelled`", "`queued`")
    writes = [s for s in h.steps if s.operation == "updatePrint"]
    assert [(_body(s, "status"), _band(s)) for s in writes] == [
        (LiteralValue(value="queued"), "2xx"),  # positive control on a fresh print
        (LiteralValue(value="cancelled"), "2xx"),
        (LiteralValue(value="queued"), "4xx"),
    ]
    assert (
        writes[0].params["path.printId"]
        != writes[1].params["path.printId"]
        == writes[2].params["path.printId"]
    )
    read = h.steps[-1]
    assert read.operation == "getPrint"
    assert (
        RelationExpectation(pointer="/status", op="eq", against=LiteralValue(value="cancelled"))
        in read.expect
    )


def test_an_operation_limited_to_some_states_is_refused_after_an_action_leaves_them(
    hyps: list[Hypothesis],
) -> None:
    h = _titled(hyps, "addPhoto", "after `publish`")
    adds = [s for s in h.steps if s.operation == "addPhoto"]
    publish = next(s for s in h.steps if s.operation == "publishAlbum")
    assert [_band(s) for s in adds] == ["2xx", "4xx"]
    assert h.steps.index(publish) < h.steps.index(adds[1])
    assert adds[1].params["path.albumId"] == publish.params["path.albumId"] != adds[0].params["path.albumId"]
    assert "`draft`" in h.rationale


def test_allowed_states_reads_only_limiting_sentences() -> None:
    values = ("draft", "submitted", "approved", "rejected")
    assert allowed_states("Owner only; the report must be `draft` or `rejected`.", values) == {
        "draft",
        "rejected",
    }
    assert allowed_states("Only while the report is a draft.", values) == {"draft"}
    assert allowed_states("Returns the report, draft or submitted.", values) == frozenset()


def test_server_controlled_fields_are_sent_together_and_flags_compared_with_a_control(
    hyps: list[Hypothesis],
) -> None:
    h = _titled(hyps, "createAlbum", "server-controlled fields")
    plain, forged = [s for s in h.steps if s.operation == "createAlbum"]
    assert set(forged.body.overrides) >= {"status", "featured", "owner_id"}  # type: ignore[union-attr]
    assert not {"status", "featured", "owner_id"} & set(plain.body.overrides)  # type: ignore[union-attr]
    # the enum behind `allOf: [$ref]` is the field's: a valid state is forged, not an invalid string
    assert _body(forged, "status") == LiteralValue(value="published")
    control_read, read_back = [s for s in h.steps if s.operation == "getAlbum"]
    relations = {e.pointer: e for e in read_back.expect if isinstance(e, RelationExpectation)}
    captured = {c.pointer: c.name for c in control_read.captures}
    # a flag or a state is compared with what the server chose for the control object...
    assert relations["/featured"].op == "eq"
    assert relations["/featured"].against == CapturedValue(name=captured["/featured"])
    assert relations["/status"].against == CapturedValue(name=captured["/status"])
    # ...a free value must simply not be the forged one
    assert relations["/owner_id"].op == "ne"
    assert relations["/owner_id"].against == _body(forged, "owner_id")
