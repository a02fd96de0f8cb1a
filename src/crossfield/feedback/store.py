"""`Store`: the feedback store's Python API, for notebooks, the CLI and the pytest plugin.

One DuckDB file holds everything crossfield learns: which specs were judged, each judge run with its LLM
calls and prompts, every hypothesis, every review decision, the tests generated from accepted hypotheses
and every result and HTTP exchange of their runs. The store is append-only — a later decision supersedes
an earlier one, nothing is updated in place or deleted — so it doubles as the audit trail and as the
source of training data (`crossfield.feedback.export`).

A `Store` holds no connection: each method opens the file, works in one transaction, and closes it (see
`_locking`), so any number of processes can use the same store in turn without seeing DuckDB's
single-process lock.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, Literal, TypeVar, overload

import duckdb

from crossfield.errors import SpecError
from crossfield.feedback import _locking, _rows
from crossfield.feedback._decide import Decision, check_decision, rewritten_hypothesis
from crossfield.feedback._prompts import RenderedPrompt
from crossfield.feedback._redact import redact_url
from crossfield.feedback._schema import current_version, migrate
from crossfield.feedback._util import new_id, to_utc, utc_now
from crossfield.feedback.errors import SpecUnavailableError, StoreError, UnknownHypothesisError
from crossfield.judgment.base import JudgeResult
from crossfield.judgment.models import Hypothesis, HypothesisDraft
from crossfield.spec.model import Api

if TYPE_CHECKING:
    import pandas

T = TypeVar("T")
Status = Literal["undecided", "accepted", "rejected", "rewritten"]
STATUSES: tuple[str, ...] = ("undecided", "accepted", "rejected", "rewritten")
DEFAULT_FILENAME = "crossfield.duckdb"
_READ_ONLY_STATEMENTS = {"SELECT", "EXPLAIN", "PRAGMA"}

_STATUS_SQL = """CASE d.action WHEN 'accept' THEN 'accepted' WHEN 'reject' THEN 'rejected'
    WHEN 'rewrite' THEN 'rewritten' ELSE 'undecided' END"""
_SCORE_SQL = """coalesce(h.score, h.confidence * CASE h.severity WHEN 'low' THEN 1 WHEN 'medium' THEN 2
    WHEN 'high' THEN 3 WHEN 'critical' THEN 4 ELSE 0 END)"""
LATEST_HYPOTHESES_SQL = """(SELECT * FROM hypotheses
    QUALIFY row_number() OVER (PARTITION BY hypothesis_id ORDER BY created_at DESC, run_id DESC) = 1)"""
"""Each hypothesis once, as recorded by its most recent judge run."""


def default_store_path() -> Path:
    """`$CROSSFIELD_STORE`, else `crossfield.duckdb` in the current directory."""
    return Path(os.environ.get("CROSSFIELD_STORE") or DEFAULT_FILENAME)


class Store:
    """The feedback store. Open with `Store.open(path)`; use it with or without `with`."""

    def __init__(self, path: Path, *, timeout: float) -> None:
        self.path = path
        self.timeout = timeout
        self._closed = False

    # ---- lifecycle ----------------------------------------------------------------------------------

    @classmethod
    def open(cls, path: str | os.PathLike[str] | None = None, *, timeout: float | None = None) -> Store:
        """Open (creating or upgrading) the store at `path` (default: `default_store_path()`).

        `timeout` bounds how long any operation waits while another process uses the file (default 30 s,
        or `$CROSSFIELD_STORE_TIMEOUT`); past it a `StoreBusyError` names the holder."""
        resolved = Path(path) if path is not None else default_store_path()
        resolved.parent.mkdir(parents=True, exist_ok=True)
        store = cls(resolved, timeout=_locking.default_timeout() if timeout is None else timeout)
        store._write(migrate)
        return store

    def close(self) -> None:
        """Mark the store closed. No connection is held between operations, so nothing else is released."""
        self._closed = True

    def __enter__(self) -> Store:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Store({str(self.path)!r})"

    @property
    def schema_version(self) -> int:
        return self._run(current_version)

    # ---- plumbing -----------------------------------------------------------------------------------

    def _check_open(self) -> None:
        if self._closed:
            raise StoreError(f"{self!r} is closed; open it again with Store.open()")

    def _write(self, work: Callable[[Any], T]) -> T:
        self._check_open()
        return _locking.write(self.path, self.timeout, work)

    def _run(self, work: Callable[[Any], T]) -> T:
        self._check_open()
        with _locking.connection(self.path, self.timeout) as con:
            return work(con)

    def _rows(
        self, query: str, params: Sequence[Any] | Mapping[str, Any] | None = None
    ) -> list[dict[str, Any]]:
        def fetch(con: Any) -> list[dict[str, Any]]:
            cur = con.execute(query, params) if params is not None else con.execute(query)
            names = [d[0] for d in cur.description]
            return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]

        return self._run(fetch)

    def _df(self, query: str, params: Sequence[Any] | Mapping[str, Any] | None = None) -> pandas.DataFrame:
        def fetch(con: Any) -> pandas.DataFrame:
            cur = con.execute(query, params) if params is not None else con.execute(query)
            return cur.df()

        return self._run(fetch)

    # ---- judge runs ---------------------------------------------------------------------------------

    def record_judge_run(self, result: JudgeResult, *, prompts: Iterable[RenderedPrompt] = ()) -> str:
        """Store a judge run — its spec, run metadata, LLM calls, rendered prompts and hypotheses — in one
        transaction, and return the new run id.

        `prompts` are the rendered prompts the judge sent (for training-data exports); calls that carry
        `system_prompt`/`user_prompt` attributes contribute theirs too."""
        run_id = new_id("jr")
        tables = _rows.judge_run_rows(result, run_id, prompts)

        def work(con: Any) -> str:
            for table, (columns, rows) in tables.items():
                _rows.insert_rows(con, table, columns, rows, ignore_existing=table in ("specs", "prompts"))
            return run_id

        return self._write(work)

    def judge_runs(self) -> list[dict[str, Any]]:
        """Every judge run, newest first (JSON columns as text)."""
        return self._rows("SELECT * FROM judge_runs ORDER BY recorded_at DESC, run_id DESC")

    # ---- hypotheses ---------------------------------------------------------------------------------

    @overload
    def hypotheses(
        self, run: str | None = ..., category: str | None = ..., status: str | None = ...,
        spec_hash: str | None = ..., *, as_: Literal["rows"] = ...,
    ) -> list[dict[str, Any]]: ...  # fmt: skip
    @overload
    def hypotheses(
        self, run: str | None = ..., category: str | None = ..., status: str | None = ...,
        spec_hash: str | None = ..., *, as_: Literal["models"],
    ) -> list[Hypothesis]: ...  # fmt: skip
    @overload
    def hypotheses(
        self, run: str | None = ..., category: str | None = ..., status: str | None = ...,
        spec_hash: str | None = ..., *, as_: Literal["pandas"],
    ) -> pandas.DataFrame: ...  # fmt: skip

    def hypotheses(
        self,
        run: str | None = None,
        category: str | None = None,
        status: str | None = None,
        spec_hash: str | None = None,
        *,
        as_: Literal["rows", "pandas", "models"] = "rows",
    ) -> list[dict[str, Any]] | list[Hypothesis] | pandas.DataFrame:
        """Hypotheses with their current review status, best-scoring first.

        Without `run`, each hypothesis appears once (as its latest run recorded it); with `run`, that
        run's. `status` is undecided, accepted, rejected or rewritten. `as_='rows'` gives dicts (the
        `hypothesis` column parsed), `'pandas'` a DataFrame, `'models'` `Hypothesis` objects."""
        if status is not None and status not in STATUSES:
            raise StoreError(f"unknown status {status!r}: use one of {', '.join(STATUSES)}")
        if as_ not in ("rows", "pandas", "models"):
            raise StoreError(f"as_ must be 'rows', 'pandas' or 'models', not {as_!r}")
        where, params = [], []
        source = LATEST_HYPOTHESES_SQL if run is None else "hypotheses"
        for column, value in (("run_id", run), ("category", category), ("spec_hash", spec_hash)):
            if value is not None:
                where.append(f"h.{column} = ?")
                params.append(value)
        if status is not None:
            where.append(f"{_STATUS_SQL} = ?")
            params.append(status)
        query = f"""
            SELECT h.hypothesis_id, h.run_id, h.spec_hash, h.category, h.severity, h.confidence,
                   {_SCORE_SQL} AS score, h.title, h.judge, h.model, h.prompt_id, h.created_at,
                   {_STATUS_SQL} AS status, d.decision_id, d.reason, d.note, d.reviewer,
                   d.created_at AS decided_at, d.rewritten_id, h.hypothesis
            FROM {source} h LEFT JOIN current_decisions d USING (hypothesis_id)
            {"WHERE " + " AND ".join(where) if where else ""}
            ORDER BY score DESC, h.created_at, h.hypothesis_id
        """
        if as_ == "pandas":
            return self._df(query, params)
        rows = self._rows(query, params)
        if as_ == "models":
            return [Hypothesis.model_validate_json(r["hypothesis"]) for r in rows]
        for r in rows:
            r["hypothesis"] = json.loads(r["hypothesis"])
        return rows

    def hypothesis(self, hypothesis_id: str) -> Hypothesis:
        """One hypothesis as it was judged (its latest recording); `UnknownHypothesisError` if never seen."""
        rows = self._rows(
            "SELECT hypothesis FROM hypotheses WHERE hypothesis_id = ? ORDER BY created_at DESC LIMIT 1",
            [hypothesis_id],
        )
        if not rows:
            raise UnknownHypothesisError(hypothesis_id)
        return Hypothesis.model_validate_json(rows[0]["hypothesis"])

    def status(self, hypothesis_id: str) -> str:
        """The current review status of one hypothesis: undecided, accepted, rejected or rewritten."""
        rows = self._rows(
            "SELECT action FROM decisions WHERE hypothesis_id = ? ORDER BY seq DESC LIMIT 1", [hypothesis_id]
        )
        action = str(rows[0]["action"]) if rows else ""
        return {"accept": "accepted", "reject": "rejected", "rewrite": "rewritten"}.get(action, "undecided")

    def resolve_id(self, prefix: str) -> str:
        """The full id of the one recorded hypothesis whose id starts with `prefix` (for typing short ids)."""
        rows = self._rows(
            "SELECT DISTINCT hypothesis_id FROM hypotheses WHERE starts_with(hypothesis_id, ?) ORDER BY 1 LIMIT 6",
            [prefix],
        )
        if not rows:
            raise UnknownHypothesisError(prefix)
        if len(rows) > 1 and rows[0]["hypothesis_id"] != prefix:
            found = ", ".join(r["hypothesis_id"] for r in rows[:5])
            raise StoreError(f"{prefix!r} matches several hypotheses ({found}...); give more of the id")
        return str(rows[0]["hypothesis_id"])

    # ---- decisions ----------------------------------------------------------------------------------

    def decide(
        self,
        hypothesis_id: str,
        action: str,
        *,
        reviewer: str,
        reason: str | None = None,
        note: str | None = None,
        rewritten: HypothesisDraft | None = None,
        api: Api | None = None,
    ) -> str:
        """Record a review decision and return its id. It supersedes the hypothesis's previous decision.

        `action` is accept, reject (with a `reason` from `REJECT_REASONS`) or rewrite (with `rewritten`,
        which is validated against the contract and grounded against the spec — `api`, or the spec file
        recorded for the hypothesis — before anything is stored)."""
        decision = Decision(hypothesis_id, action, reviewer, reason, note, rewritten)
        return self.decide_many([decision], api=api)[0]

    def decide_many(self, decisions: Iterable[Decision], *, api: Api | None = None) -> list[str]:
        """Record many decisions in one transaction (all or none); returns their ids in order."""
        items = list(decisions)
        for d in items:
            check_decision(d)
        if not items:
            return []
        ids = sorted({d.hypothesis_id for d in items})
        now = utc_now()

        # One connection for the whole batch: look-ups, grounding and the insert (opening costs ~25 ms).
        def work(con: Any) -> list[str]:
            # Filter before the window: over a large store, windowing everything first costs seconds.
            cur = con.execute(
                "SELECT hypothesis_id, spec_hash, hypothesis FROM hypotheses "
                "WHERE hypothesis_id IN (SELECT unnest(?::VARCHAR[])) "
                "QUALIFY row_number() OVER (PARTITION BY hypothesis_id ORDER BY created_at DESC, run_id DESC) = 1",
                [ids],
            )
            known = {row[0]: {"spec_hash": row[1], "hypothesis": row[2]} for row in cur.fetchall()}
            for hid in ids:
                if hid not in known:
                    raise UnknownHypothesisError(hid)
            rewrites = self._prepare_rewrites(con, items, known, api)
            current = dict(
                con.execute(
                    "SELECT hypothesis_id, decision_id FROM decisions "
                    "WHERE hypothesis_id IN (SELECT unnest(?::VARCHAR[])) "
                    "QUALIFY row_number() OVER (PARTITION BY hypothesis_id ORDER BY seq DESC) = 1",
                    [ids],
                ).fetchall()
            )
            seqs = sorted(
                s
                for (s,) in con.execute(
                    "SELECT nextval('decision_seq') FROM range(?)", [len(items)]
                ).fetchall()
            )
            rows, out = [], []
            for d, seq, rewrite in zip(items, seqs, rewrites, strict=True):
                decision_id = new_id("d")
                rows.append((
                    decision_id, seq, d.hypothesis_id, d.action, d.reason, d.note,
                    rewrite.id if rewrite else None, rewrite.model_dump_json() if rewrite else None,
                    d.reviewer.strip(), now, current.get(d.hypothesis_id),
                ))  # fmt: skip
                current[d.hypothesis_id] = decision_id
                out.append(decision_id)
            _rows.insert_rows(con, "decisions", _DECISION_COLUMNS, rows)
            return out

        return self._write(work)

    def _prepare_rewrites(
        self, con: Any, items: list[Decision], known: Mapping[str, Mapping[str, Any]], api: Api | None
    ) -> list[Hypothesis | None]:
        apis: dict[str, Api] = {}
        out: list[Hypothesis | None] = []
        for d in items:
            if d.rewritten is None:
                out.append(None)
                continue
            row = known[d.hypothesis_id]
            spec_hash = row["spec_hash"]
            if api is not None and api.content_hash != spec_hash:
                raise SpecUnavailableError(
                    f"hypothesis {d.hypothesis_id} was judged against spec {spec_hash[:12]}, but the api passed "
                    f"is {api.content_hash[:12]} ({api.source_path or api.title}); pass the spec it was judged on"
                )
            if spec_hash not in apis:
                apis[spec_hash] = api if api is not None else _spec_api(con, spec_hash)
            original = Hypothesis.model_validate_json(row["hypothesis"])
            out.append(rewritten_hypothesis(d.rewritten, original, apis[spec_hash]))
        return out

    def decisions(self, hypothesis_id: str | None = None) -> list[dict[str, Any]]:
        """The decision history (every decision, superseded ones too), oldest first."""
        if hypothesis_id is None:
            return self._rows("SELECT * FROM decisions ORDER BY seq")
        return self._rows("SELECT * FROM decisions WHERE hypothesis_id = ? ORDER BY seq", [hypothesis_id])

    def accepted_hypotheses(self, spec_hash: str | None = None) -> list[Hypothesis]:
        """What the code generator should compile: every hypothesis whose current decision is accept (as
        judged) or rewrite (the rewritten version), in decision order, each id once."""
        query = f"""
            SELECT d.action, d.rewritten, h.hypothesis FROM current_decisions d
            JOIN {LATEST_HYPOTHESES_SQL} h USING (hypothesis_id)
            WHERE d.action IN ('accept', 'rewrite') {"AND h.spec_hash = ?" if spec_hash else ""}
            ORDER BY d.seq
        """
        out: dict[str, Hypothesis] = {}
        for row in self._rows(query, [spec_hash] if spec_hash else None):
            text = row["rewritten"] if row["action"] == "rewrite" else row["hypothesis"]
            h = Hypothesis.model_validate_json(text)
            out.setdefault(h.id, h)
        return list(out.values())

    def spec_api(self, spec_hash: str) -> Api:
        """The spec a hypothesis was judged against, loaded from the source path recorded for it.

        `SpecUnavailableError` when the file is gone or has changed since (its content hash differs)."""
        return self._run(lambda con: _spec_api(con, spec_hash))

    # ---- generated tests and their runs -------------------------------------------------------------

    def add_generated_tests(
        self, tests: Iterable[Mapping[str, Any] | Any], *, suite_dir: str | os.PathLike[str]
    ) -> int:
        """Record which test (file, test name) was generated for which hypothesis; returns the count.

        Each item is a mapping or an object with `hypothesis_id`, `file` and `test_name`."""
        now = utc_now()
        rows = []
        for t in tests:
            get = t.get if isinstance(t, Mapping) else lambda k, _t=t: getattr(_t, k, None)
            values = [get("hypothesis_id"), get("file"), get("test_name")]
            if any(v is None for v in values):
                raise StoreError(f"a generated test needs hypothesis_id, file and test_name; got {t!r}")
            rows.append((*(str(v) for v in values), str(suite_dir), now))
        return self._write(
            lambda con: _rows.insert_rows(
                con,
                "generated_tests",
                ("hypothesis_id", "file", "test_name", "suite_dir", "created_at"),
                rows,
            )
        )

    def add_test_run(
        self,
        *,
        run_id: str,
        started_at: str,
        finished_at: str,
        base_url: str,
        suite_dir: str,
        results: list[dict[str, Any]],
        exchanges: list[dict[str, Any]],
    ) -> None:
        """Record a test run with its results and HTTP exchanges, in one transaction.

        Called by the pytest plugin. Credential headers (and credential query parameters) are redacted
        again here, whatever the caller did."""
        run_row = (
            run_id,
            to_utc(started_at),
            to_utc(finished_at),
            redact_url(base_url),
            str(suite_dir),
            utc_now(),
        )
        result_rows = [_rows.result_row(run_id, r) for r in results]
        exchange_rows = [_rows.exchange_row(run_id, x) for x in exchanges]

        def work(con: Any) -> None:
            _rows.insert_rows(
                con,
                "test_runs",
                ("run_id", "started_at", "finished_at", "base_url", "suite_dir", "recorded_at"),
                [run_row],
            )
            _rows.insert_rows(con, "test_results", _rows.RESULT_COLUMNS, result_rows)
            _rows.insert_rows(con, "http_exchanges", _rows.EXCHANGE_COLUMNS, exchange_rows)

        self._write(work)

    # ---- SQL ----------------------------------------------------------------------------------------

    def sql(
        self, query: str, params: Sequence[Any] | Mapping[str, Any] | None = None
    ) -> list[dict[str, Any]]:
        """Run one read-only query (SELECT, EXPLAIN, PRAGMA) and return its rows as dicts.

        Writes are refused: the store is append-only and written only through its methods."""
        self._check_read_only(query)
        return self._rows(query, params)

    def sql_df(self, query: str, params: Sequence[Any] | Mapping[str, Any] | None = None) -> pandas.DataFrame:
        """`sql`, as a pandas DataFrame (needs the `data` extra: pandas)."""
        self._check_read_only(query)
        return self._df(query, params)

    def _check_read_only(self, query: str) -> None:
        def kinds(con: Any) -> list[str]:
            return [s.type.name for s in con.extract_statements(query)]

        try:
            found = self._run(kinds)
        except duckdb.ParserException as exc:
            raise StoreError(f"cannot parse query: {exc}") from exc
        if len(found) != 1:
            raise StoreError(f"store.sql runs exactly one statement; got {len(found)}")
        if found[0] not in _READ_ONLY_STATEMENTS:
            raise StoreError(
                f"store.sql runs read-only queries, not {found[0]}: the store is append-only and written "
                "through its methods (decide, record_judge_run, ...)"
            )


_DECISION_COLUMNS = (
    "decision_id", "seq", "hypothesis_id", "action", "reason", "note", "rewritten_id", "rewritten", "reviewer",
    "created_at", "supersedes",
)  # fmt: skip


def _spec_api(con: Any, spec_hash: str) -> Api:
    from crossfield.spec.loader import load_spec

    row = con.execute("SELECT source_path FROM specs WHERE spec_hash = ?", [spec_hash]).fetchone()
    if row is None:
        raise SpecUnavailableError(f"no spec {spec_hash[:12]} in the store")
    source = row[0]
    hint = "pass the spec explicitly (api= in Python, --spec on the command line)"
    try:
        api = load_spec(source)
    except SpecError as exc:
        raise SpecUnavailableError(
            f"cannot load spec {source!r} recorded for {spec_hash[:12]}: {exc}; {hint}"
        ) from exc
    if api.content_hash != spec_hash:
        raise SpecUnavailableError(
            f"spec file {source!r} has changed since it was judged (hash {api.content_hash[:12]}, "
            f"expected {spec_hash[:12]}); {hint}"
        )
    return api
