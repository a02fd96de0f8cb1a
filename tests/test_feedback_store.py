"""The Store API: judge runs, hypotheses, decisions, generated tests, test runs, SQL — and append-only."""

from __future__ import annotations

import itertools
import json
import re
import shutil
import threading
from collections import Counter
from pathlib import Path
from typing import Any

import duckdb
import pytest
from feedback_support import PAYMENTS_SPEC, llm_like_result, payments_api, refund_draft, scripted_result

import crossfield.feedback
from crossfield.errors import CrossfieldError, HypothesisError
from crossfield.feedback import (
    REDACTED,
    Decision,
    RenderedPrompt,
    SpecUnavailableError,
    Store,
    StoreError,
    UnknownHypothesisError,
)
from crossfield.judgment.models import Category, Hypothesis, LiteralValue
from crossfield.spec import load_spec


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return Store.open(tmp_path / "store.duckdb")


def test_record_judge_run_stores_spec_run_calls_prompts_and_hypotheses(store: Store) -> None:
    result = llm_like_result([refund_draft(i) for i in range(3)])
    result.parameters = {"temperature": 0.2, "chunking": "by-tag"}
    prompt = RenderedPrompt("judge-v1", "ph1", "charges", "You are a judge.", "Spec chunk: charges")
    run_id = store.record_judge_run(result, prompts=[prompt])

    api = payments_api()
    (spec,) = store.sql("SELECT * FROM specs")
    assert (spec["spec_hash"], spec["title"], spec["version"]) == (api.content_hash, "Payments API", "1.4.0")
    assert spec["source_path"] == str(PAYMENTS_SPEC)
    assert {op["id"] for op in json.loads(spec["operations"])} == {op.id for op in api.operations}

    (run,) = store.judge_runs()
    assert run["run_id"] == run_id and run["judge"] == "llm" and run["model"] == "test-model"
    assert json.loads(run["parameters"]) == {"temperature": 0.2, "chunking": "by-tag"}
    assert json.loads(run["usage"])["input_tokens"] == 1200 and run["cost_usd"] == pytest.approx(0.01)
    assert (
        "duckdb" in json.loads(run["package_versions"])
        and run["crossfield_version"] == crossfield.__version__
    )
    assert run["hypothesis_count"] == 3

    (call,) = store.sql("SELECT * FROM llm_calls")
    assert (call["run_id"], call["chunk"], call["output_tokens"], call["prompt_key"]) == (
        run_id,
        "charges",
        300,
        prompt.key,
    )
    (stored_prompt,) = store.sql("SELECT * FROM prompts")
    assert (stored_prompt["system_text"], stored_prompt["user_text"]) == (
        "You are a judge.",
        "Spec chunk: charges",
    )

    rows = store.hypotheses(run=run_id)
    assert len(rows) == 3 and {r["status"] for r in rows} == {"undecided"}
    assert {r["hypothesis_id"] for r in rows} == {h.id for h in result.hypotheses}
    assert all(r["hypothesis"]["provenance"]["chunk"] == "charges" for r in rows)
    assert store.sql("SELECT DISTINCT prompt_key FROM hypotheses") == [{"prompt_key": prompt.key}]


def test_the_same_spec_and_prompt_are_stored_once(store: Store) -> None:
    prompt = RenderedPrompt("judge-v1", "ph1", "charges", "S", "U")
    store.record_judge_run(llm_like_result([refund_draft(1)]), prompts=[prompt])
    store.record_judge_run(llm_like_result([refund_draft(1)]), prompts=[prompt])
    counts = store.sql(
        "SELECT (SELECT count(*) FROM specs) AS specs, (SELECT count(*) FROM prompts) AS prompts, "
        "(SELECT count(*) FROM judge_runs) AS runs, (SELECT count(*) FROM hypotheses) AS hyps"
    )[0]
    assert counts == {"specs": 1, "prompts": 1, "runs": 2, "hyps": 2}
    # Without a run filter each hypothesis is listed once; the same content across runs shares its id.
    assert len(store.hypotheses()) == 1


def test_prompt_text_on_llm_calls_is_picked_up(store: Store) -> None:
    """A judge may attach the rendered text to its call records instead of passing prompts=."""
    result = llm_like_result([refund_draft(1)])

    class CallWithText:
        def __init__(self, call: Any) -> None:
            self.__dict__.update({k: getattr(call, k) for k in call.__slots__})
            self.system_prompt, self.user_prompt = "sys text", "user text"

    result.calls = [CallWithText(result.calls[0])]  # type: ignore[list-item]
    store.record_judge_run(result)
    assert store.sql("SELECT system_text, user_text FROM prompts") == [
        {"system_text": "sys text", "user_text": "user text"}
    ]


def test_hypotheses_filters_and_shapes(store: Store) -> None:
    first = store.record_judge_run(
        scripted_result([refund_draft(1, confidence=0.9), refund_draft(2, confidence=0.3)])
    )
    second = store.record_judge_run(
        scripted_result([refund_draft(3, category=Category.STATE_TRANSITION, confidence=0.5)])
    )
    assert [r["confidence"] for r in store.hypotheses()] == [0.9, 0.5, 0.3]  # best score first
    assert len(store.hypotheses(run=first)) == 2 and len(store.hypotheses(run=second)) == 1
    (transition,) = store.hypotheses(category="state_transition", as_="models")
    assert isinstance(transition, Hypothesis) and transition.category is Category.STATE_TRANSITION
    assert store.hypotheses(spec_hash="nope") == []
    store.decide(transition.id, "accept", reviewer="ana")
    assert [r["status"] for r in store.hypotheses(status="accepted")] == ["accepted"]
    assert len(store.hypotheses(status="undecided")) == 2
    df = store.hypotheses(as_="pandas")
    assert list(df["status"]) == ["undecided", "accepted", "undecided"]
    with pytest.raises(StoreError, match="unknown status"):
        store.hypotheses(status="maybe")


def test_decisions_supersede_without_erasing_history(store: Store) -> None:
    store.record_judge_run(scripted_result([refund_draft(1), refund_draft(2)]))
    h1, h2 = (r["hypothesis_id"] for r in store.hypotheses())
    d1 = store.decide(h1, "accept", reviewer="ana", note="clear rule")
    d2 = store.decide(h1, "reject", reviewer="bo", reason="duplicate", note="same as h2")
    history = store.decisions(h1)
    assert [(d["decision_id"], d["action"], d["supersedes"]) for d in history] == [
        (d1, "accept", None),
        (d2, "reject", d1),
    ]
    assert store.sql("SELECT decision_id FROM current_decisions WHERE hypothesis_id = ?", [h1]) == [
        {"decision_id": d2}
    ]
    status = {r["hypothesis_id"]: r["status"] for r in store.hypotheses()}
    assert status == {h1: "rejected", h2: "undecided"}
    assert store.accepted_hypotheses() == []


def test_accepted_hypotheses_returns_originals_and_rewrites(store: Store) -> None:
    run = store.record_judge_run(scripted_result([refund_draft(1), refund_draft(2), refund_draft(3)]))
    a, b, c = (h.id for h in store.hypotheses(run=run, as_="models"))
    store.decide(a, "accept", reviewer="ana")
    store.decide(
        b, "rewrite", reviewer="ana", rewritten=refund_draft(40, title="Refunds are capped by the charge")
    )
    store.decide(c, "reject", reviewer="ana", reason="not_risky")
    accepted = store.accepted_hypotheses()
    assert [h.title for h in accepted] == [store.hypothesis(a).title, "Refunds are capped by the charge"]
    rewritten = accepted[1]
    assert rewritten.id == rewritten.content_id() != b
    assert (
        rewritten.provenance.judge == "human"
        and rewritten.provenance.spec_hash == payments_api().content_hash
    )
    assert store.decisions(b)[0]["rewritten_id"] == rewritten.id
    assert store.accepted_hypotheses(spec_hash="other") == []
    assert len(store.accepted_hypotheses(spec_hash=payments_api().content_hash)) == 2


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"action": "approve"}, "unknown action"),
        ({"action": "reject"}, "a reject needs a reason"),
        ({"action": "reject", "reason": "boring"}, "unknown reason"),
        ({"action": "rewrite"}, "needs the rewritten hypothesis"),
        ({"action": "accept", "rewritten": refund_draft(9)}, "only a rewrite"),
        ({"action": "accept", "reviewer": " "}, "needs a reviewer"),
    ],
)
def test_bad_decisions_are_refused_before_anything_is_stored(
    store: Store, kwargs: dict[str, Any], message: str
) -> None:
    store.record_judge_run(scripted_result([refund_draft(1)]))
    (hid,) = (r["hypothesis_id"] for r in store.hypotheses())
    args = {"reviewer": "ana", **kwargs}
    action = args.pop("action")
    with pytest.raises(StoreError, match=message):
        store.decide(hid, action, **args)
    assert store.decisions() == []


def test_deciding_an_unknown_hypothesis_fails(store: Store) -> None:
    with pytest.raises(UnknownHypothesisError, match="h_nothere"):
        store.decide("h_nothere", "accept", reviewer="ana")
    with pytest.raises(UnknownHypothesisError):
        store.hypothesis("h_nothere")


def test_a_rewrite_must_pass_the_contract(store: Store) -> None:
    store.record_judge_run(scripted_result([refund_draft(1)]))
    (hid,) = (r["hypothesis_id"] for r in store.hypotheses())
    # model_construct skips validation: the store validates again. One field is too few for a cross-field category.
    bad = refund_draft(2).model_construct(**{**dict(refund_draft(2)), "fields": refund_draft(2).fields[:1]})
    with pytest.raises(HypothesisError, match="at least two interacting fields"):
        store.decide(hid, "rewrite", reviewer="ana", rewritten=bad)
    assert store.decisions() == []


def test_a_rewrite_must_be_grounded_in_the_spec(store: Store) -> None:
    store.record_judge_run(scripted_result([refund_draft(1)]))
    (hid,) = (r["hypothesis_id"] for r in store.hypotheses())
    draft = refund_draft(2)
    step = draft.steps[0].model_copy(update={"operation": "createChargeTwice"})
    ungrounded = draft.model_copy(update={"steps": [step, draft.steps[1]]})
    with pytest.raises(HypothesisError, match="createChargeTwice") as info:
        store.decide(hid, "rewrite", reviewer="ana", rewritten=ungrounded)
    assert info.value.problems
    # A literal the schema forbids while the step expects success is also a grounding problem.
    body = draft.steps[0].body.model_copy(update={"overrides": {"amount": LiteralValue(value=1)}})  # type: ignore[union-attr]
    too_small = draft.model_copy(
        update={"steps": [draft.steps[0].model_copy(update={"body": body}), draft.steps[1]]}
    )
    with pytest.raises(HypothesisError, match="invalid for its own schema"):
        store.decide(hid, "rewrite", reviewer="ana", rewritten=too_small)
    assert store.decisions() == []


def test_rewrite_grounding_uses_the_passed_api_or_the_recorded_spec_file(
    store: Store, tmp_path: Path
) -> None:
    spec_copy = tmp_path / "payments.yaml"
    shutil.copy(PAYMENTS_SPEC, spec_copy)
    api = load_spec(spec_copy, cache=False)
    result = scripted_result([refund_draft(1), refund_draft(2)])
    result.api = api  # recorded with the copy's path
    store.record_judge_run(result)
    h1, h2 = (r["hypothesis_id"] for r in store.hypotheses())
    store.decide(h1, "rewrite", reviewer="ana", rewritten=refund_draft(30))  # loaded from spec_copy
    spec_copy.write_text(spec_copy.read_text() + "\n# edited\n")
    with pytest.raises(SpecUnavailableError, match="has changed since it was judged"):
        store.decide(h2, "rewrite", reviewer="ana", rewritten=refund_draft(31))
    spec_copy.unlink()
    with pytest.raises(SpecUnavailableError, match="cannot load spec"):
        store.decide(h2, "rewrite", reviewer="ana", rewritten=refund_draft(31))
    store.decide(h2, "rewrite", reviewer="ana", rewritten=refund_draft(31), api=api)  # explicit api works
    other = load_spec_text_variant(tmp_path)
    with pytest.raises(SpecUnavailableError, match="the api passed"):
        store.decide(h2, "rewrite", reviewer="ana", rewritten=refund_draft(32), api=other)
    assert len(store.decisions()) == 2


def load_spec_text_variant(tmp_path: Path) -> Any:
    variant = tmp_path / "variant.yaml"
    variant.write_text(PAYMENTS_SPEC.read_text() + "\n# another version\n")
    return load_spec(variant, cache=False)


def test_decide_many_is_all_or_nothing(store: Store) -> None:
    run = store.record_judge_run(scripted_result([refund_draft(i) for i in range(4)]))
    ids = [h.id for h in store.hypotheses(run=run, as_="models")]
    good = [Decision(hid, "accept", "ana") for hid in ids[:3]]
    with pytest.raises(UnknownHypothesisError):
        store.decide_many([*good, Decision("h_missing", "accept", "ana")])
    with pytest.raises(StoreError):
        store.decide_many([*good, Decision(ids[3], "reject", "ana")])  # no reason
    assert store.decisions() == []
    made = store.decide_many(
        [*good, Decision(ids[0], "reject", "bo", reason="other", note="changed my mind")]
    )
    history = store.decisions(ids[0])
    assert [d["decision_id"] for d in history] == [made[0], made[3]]
    assert history[1]["supersedes"] == made[0]


def test_generated_tests_and_test_runs(store: Store) -> None:
    run = store.record_judge_run(scripted_result([refund_draft(1)]))
    (hid,) = (h.id for h in store.hypotheses(run=run, as_="models"))

    class Generated:
        hypothesis_id, file, test_name = hid, "test_refunds.py", "test_refund_capped"

    assert (
        store.add_generated_tests(
            [Generated(), {"hypothesis_id": hid, "file": "t.py", "test_name": "t2"}], suite_dir="out/suite"
        )
        == 2
    )
    with pytest.raises(StoreError, match="needs hypothesis_id, file and test_name"):
        store.add_generated_tests([{"hypothesis_id": hid}], suite_dir="x")
    store.add_test_run(
        run_id="tr_1",
        started_at="2025-06-01T10:00:00+02:00",
        finished_at="2025-06-01T10:00:05+02:00",
        base_url="http://127.0.0.1:8000",
        suite_dir="out/suite",
        results=[
            {
                "test_id": "t.py::t2",
                "hypothesis_id": hid,
                "outcome": "failed",
                "duration_s": 0.4,
                "message": "500",
            },
            {
                "test_id": "t.py::t3",
                "hypothesis_id": None,
                "outcome": "passed",
                "duration_s": 0.1,
                "message": None,
            },
        ],
        exchanges=[_exchange(hid)],
    )
    (tr,) = store.sql("SELECT * FROM test_runs")
    assert tr["started_at"].isoformat() == "2025-06-01T08:00:00"  # stored as UTC
    assert store.sql("SELECT outcome, count(*) AS n FROM test_results GROUP BY 1 ORDER BY 1") == [
        {"outcome": "failed", "n": 1},
        {"outcome": "passed", "n": 1},
    ]
    (x,) = store.sql("SELECT * FROM http_exchanges")
    assert (x["method"], x["status"], x["step"], x["seq"]) == ("POST", 201, "create_charge", 0)
    assert json.loads(x["request_headers"])["Idempotency-Key"] == "idem-1"
    with pytest.raises(duckdb.ConstraintException):  # the same run id twice is refused, not merged
        store.add_test_run(run_id="tr_1", started_at="2025-06-01T10:00:00", finished_at="2025-06-01T10:00:01",
                           base_url="http://x", suite_dir="s", results=[], exchanges=[])  # fmt: skip


def _exchange(hid: str, **headers: str) -> dict[str, Any]:
    return {
        "test_id": "t.py::t2",
        "hypothesis_id": hid,
        "step": "create_charge",
        "seq": 0,
        "method": "post",
        "url": "http://127.0.0.1:8000/charges",
        "request_headers": {"Content-Type": "application/json", "Idempotency-Key": "idem-1", **headers},
        "request_body": '{"amount": 1000}',
        "status": 201,
        "response_headers": {"content-type": "application/json"},
        "response_body": '{"id": "ch_1"}',
        "duration_ms": 12.5,
        "started_at": "2025-06-01T08:00:01Z",
    }


def test_credentials_are_redacted_before_insert(store: Store) -> None:
    secrets = {
        "Authorization": "Bearer sk_live_abc",
        "Cookie": "session=abc",
        "X-API-Key": "k-123",
        "X-Auth-Token": "t-456",
        "Proxy-Authorization": "Basic xyz",
    }
    exchange = _exchange("h_x", **secrets)
    exchange["response_headers"] = {"Set-Cookie": "session=zzz", "X-Request-Id": "r1"}
    exchange["url"] = "http://user:pw@127.0.0.1:8000/charges?api_key=k-123&limit=2&access_token=t"
    store.add_test_run(
        run_id="tr_secret", started_at="2025-06-01T10:00:00", finished_at="2025-06-01T10:00:01",
        base_url="http://127.0.0.1:8000?token=abc", suite_dir="s", results=[], exchanges=[exchange],
    )  # fmt: skip
    (x,) = store.sql("SELECT * FROM http_exchanges")
    request = json.loads(x["request_headers"])
    assert {k: request[k] for k in secrets} == dict.fromkeys(secrets, REDACTED)
    assert request["Idempotency-Key"] == "idem-1" and request["Content-Type"] == "application/json"
    assert json.loads(x["response_headers"]) == {"Set-Cookie": REDACTED, "X-Request-Id": "r1"}
    assert "pw" not in x["url"] and "k-123" not in x["url"] and "limit=2" in x["url"]
    assert "abc" not in store.sql("SELECT base_url FROM test_runs")[0]["base_url"]
    everything = json.dumps(store.sql("SELECT * FROM http_exchanges"), default=str)
    for value in ("sk_live_abc", "session=abc", "k-123", "t-456", "session=zzz", "xyz"):
        assert value not in everything


def test_sql_is_read_only(store: Store) -> None:
    store.record_judge_run(scripted_result([refund_draft(1)]))
    assert store.sql("SELECT count(*) AS n FROM hypotheses WHERE category = ?", ["arithmetic_invariant"]) == [
        {"n": 1}
    ]
    assert store.sql_df("SELECT * FROM specs").shape[0] == 1
    assert store.sql("DESCRIBE hypotheses")
    for statement in (
        "UPDATE hypotheses SET title = 'x'",
        "DELETE FROM decisions",
        "DROP TABLE decisions",
        "INSERT INTO decisions (decision_id) VALUES ('x')",
        "SELECT 1; DELETE FROM decisions",
    ):
        with pytest.raises(StoreError):
            store.sql(statement)
    assert store.sql("SELECT count(*) AS n FROM hypotheses") == [{"n": 1}]


def test_a_closed_store_refuses_work(tmp_path: Path) -> None:
    with Store.open(tmp_path / "s.duckdb") as store:
        assert store.hypotheses() == []
    with pytest.raises(StoreError, match="closed"):
        store.hypotheses()


def test_store_errors_are_crossfield_errors() -> None:
    assert issubclass(StoreError, CrossfieldError) and issubclass(UnknownHypothesisError, StoreError)


def test_default_path_comes_from_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert Store.open().path == Path("crossfield.duckdb")
    monkeypatch.setenv("CROSSFIELD_STORE", str(tmp_path / "env.duckdb"))
    assert Store.open().path == tmp_path / "env.duckdb"


def test_threads_of_one_process_can_write_at_once(store: Store) -> None:
    run = store.record_judge_run(scripted_result([refund_draft(i) for i in range(40)]))
    ids = [r["hypothesis_id"] for r in store.hypotheses(run=run)]
    errors: list[BaseException] = []

    def review(part: list[str]) -> None:
        try:
            for hid in part:
                store.decide(hid, "accept", reviewer=threading.current_thread().name)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=review, args=(ids[i::4],)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert store.sql("SELECT count(*) AS n, count(DISTINCT seq) AS seqs FROM decisions") == [
        {"n": 40, "seqs": 40}
    ]


# ---- append-only -----------------------------------------------------------------------------------

PACKAGE_DIRS = [
    Path(crossfield.feedback.__file__).parent,
    Path(crossfield.feedback.__file__).parents[1] / "cli",
]
_MUTATION = re.compile(
    r"\bUPDATE\s+\w+\s+SET\b|\bDELETE\s+FROM\b|\bTRUNCATE\b|\bDO\s+UPDATE\b|\bDROP\s+TABLE\b", re.I
)


def test_no_update_or_delete_statement_in_the_library() -> None:
    offenders = [
        f"{path.name}: {match.group(0)}"
        for folder in PACKAGE_DIRS
        for path in sorted(folder.glob("*.py"))
        for match in _MUTATION.finditer(path.read_text())
    ]
    assert offenders == []


def _snapshot(path: Path) -> dict[str, Counter[tuple[Any, ...]]]:
    con = duckdb.connect(str(path))
    try:
        tables = [
            t
            for (t,) in con.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_type = 'BASE TABLE'"
            ).fetchall()
        ]
        return {t: Counter(con.execute(f'SELECT * FROM "{t}"').fetchall()) for t in tables}
    finally:
        con.close()


def test_every_operation_only_appends(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Behaviourally: trace every statement the store sends, and check that old rows never change."""
    path = tmp_path / "audit.duckdb"
    statements: list[str] = []
    real_connect = duckdb.connect

    class Traced:
        def __init__(self, con: Any) -> None:
            self._con = con

        def execute(self, query: str, *args: Any) -> Any:
            statements.append(query)
            return self._con.execute(query, *args)

        def __getattr__(self, name: str) -> Any:
            return getattr(self._con, name)

    monkeypatch.setattr(duckdb, "connect", lambda *a, **k: Traced(real_connect(*a, **k)))
    store = Store.open(path)
    snapshots = [_snapshot(path)]
    run = store.record_judge_run(llm_like_result([refund_draft(i) for i in range(3)]))
    snapshots.append(_snapshot(path))
    a, b, c = (h.id for h in store.hypotheses(run=run, as_="models"))
    for step in (
        lambda: store.decide(a, "accept", reviewer="ana"),
        lambda: store.decide(a, "reject", reviewer="ana", reason="wrong"),
        lambda: store.decide(b, "rewrite", reviewer="ana", rewritten=refund_draft(50)),
        lambda: store.decide(c, "accept", reviewer="ana"),
        lambda: store.record_judge_run(scripted_result([refund_draft(1), refund_draft(60)])),
        lambda: store.add_generated_tests([{"hypothesis_id": c, "file": "f.py", "test_name": "t"}], suite_dir="s"),
        lambda: store.add_test_run(run_id="tr", started_at="2025-01-01T00:00:00", finished_at="2025-01-01T00:00:01",
                                   base_url="http://x", suite_dir="s", results=[], exchanges=[_exchange(c)]),
    ):  # fmt: skip
        step()
        snapshots.append(_snapshot(path))
    for before, after in itertools.pairwise(snapshots):
        for table, rows in before.items():
            assert not rows - after[table], f"rows of {table} changed or vanished"
    assert sum(snapshots[-1]["decisions"].values()) == 4
    assert statements and not [s for s in statements if _MUTATION.search(s)]
