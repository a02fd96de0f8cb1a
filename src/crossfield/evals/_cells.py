"""Grid cells in the feedback store: one row per judge x prompt x target x repeat.

A cell keeps its score columns (for SQL and the comparison report), the full `TargetResult` JSON (for
per-bug detail) and the compiled hypotheses themselves (so `--rescore` can recompile and rerun them under
a newer scorer or code generator without calling a model again).

The `bench_cells` table is created by the eval harness's own numbered migrations, tracked in
`bench_schema_migrations` beside the store's `schema_migrations`. They follow the store's rules
(add-only, each applied once, in a transaction), and `bench_migrations()` exposes them so they can be
folded into the store's own list as its next numbered migration without any change in behaviour.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from crossfield._version import __version__
from crossfield.evals._report import Scores, TargetResult
from crossfield.feedback import Store, _locking

SCORER_VERSION = "1"
"""Bump when the scoring rule changes: cells record the scorer that produced them."""


class Cell(BaseModel):
    """One judge x prompt x target x repeat run, as stored."""

    model_config = ConfigDict(extra="ignore")

    cell_id: str
    grid_id: str
    target: str
    target_root: str = ""
    spec_hash: str = ""
    judge: str
    model: str | None = None
    prompt: str | None = None
    repeat: int = 0
    rescored_from: str | None = None
    scorer: str = SCORER_VERSION
    created_at: str = Field(default_factory=lambda: datetime.now(UTC).isoformat())
    crossfield_version: str = __version__
    scores: Scores = Field(default_factory=lambda: Scores())
    hypotheses: list[dict[str, Any]] = Field(default_factory=list, description="compiled hypotheses, as JSON")
    result: TargetResult | None = None


def _bench_v1(con: Any) -> None:
    """bench_cells: one row per grid cell."""
    con.execute(
        """
        CREATE TABLE bench_cells (
            cell_id            VARCHAR PRIMARY KEY,
            grid_id            VARCHAR NOT NULL,
            target             VARCHAR NOT NULL,
            target_root        VARCHAR NOT NULL,
            spec_hash          VARCHAR NOT NULL,
            judge              VARCHAR NOT NULL,
            model              VARCHAR,
            prompt             VARCHAR,
            repeat_index       INTEGER NOT NULL,
            rescored_from      VARCHAR,
            scorer             VARCHAR NOT NULL,
            bugs               INTEGER NOT NULL,
            detected           INTEGER NOT NULL,
            false_alarms       INTEGER NOT NULL,
            baseline_detected  INTEGER,
            hypotheses_emitted INTEGER NOT NULL,
            hypotheses_grounded INTEGER NOT NULL,
            hypotheses_compiled INTEGER NOT NULL,
            tests              INTEGER NOT NULL,
            llm_calls          INTEGER NOT NULL,
            input_tokens       BIGINT NOT NULL,
            output_tokens      BIGINT NOT NULL,
            cost_usd           DOUBLE NOT NULL,
            wall_s             DOUBLE NOT NULL,
            hypothesis_ids     JSON NOT NULL,
            hypotheses         JSON NOT NULL,
            scores             JSON NOT NULL,
            result             JSON,
            crossfield_version VARCHAR NOT NULL,
            created_at         TIMESTAMP NOT NULL
        )
        """
    )
    con.execute("CREATE INDEX bench_cells_grid_idx ON bench_cells (grid_id)")


Migration = tuple[int, str, Callable[[Any], None]]
_MIGRATIONS: tuple[Migration, ...] = ((1, "bench_cells", _bench_v1),)


def bench_migrations() -> Sequence[Migration]:
    """(version, name, apply) of the harness's migrations, in order."""
    return _MIGRATIONS


def ensure_bench_schema(con: Any) -> list[int]:
    """Apply the missing harness migrations on `con`, inside the caller's transaction; returns those applied."""
    con.execute(
        """
        CREATE TABLE IF NOT EXISTS bench_schema_migrations (
            version            INTEGER PRIMARY KEY,
            name               VARCHAR NOT NULL,
            applied_at         TIMESTAMP NOT NULL,
            crossfield_version VARCHAR NOT NULL
        )
        """
    )
    have = {int(r[0]) for r in con.execute("SELECT version FROM bench_schema_migrations").fetchall()}
    applied: list[int] = []
    for version, name, apply in _MIGRATIONS:
        if version not in have:
            apply(con)
            con.execute(
                "INSERT INTO bench_schema_migrations VALUES (?, ?, ?, ?)",
                [version, name, _utc_naive(), __version__],
            )
            applied.append(version)
    return applied


def has_cells_table(con: Any) -> bool:
    row = con.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_name = 'bench_cells'"
    ).fetchone()
    return bool(row[0])


def insert_cell(con: Any, cell: Cell) -> None:
    s = cell.scores
    con.execute(
        "INSERT INTO bench_cells VALUES (" + ", ".join("?" * 30) + ")",
        [
            cell.cell_id,
            cell.grid_id,
            cell.target,
            cell.target_root,
            cell.spec_hash,
            cell.judge,
            cell.model,
            cell.prompt,
            cell.repeat,
            cell.rescored_from,
            cell.scorer,
            s.bugs,
            s.detected,
            s.false_alarms,
            s.baseline_detected,
            s.hypotheses.emitted,
            s.hypotheses.grounded,
            s.hypotheses.compiled,
            s.hypotheses.tests,
            s.usage.llm_calls,
            s.usage.input_tokens,
            s.usage.output_tokens,
            s.usage.cost_usd,
            s.timing.total_s,
            json.dumps([h.get("id") for h in cell.hypotheses]),
            json.dumps(cell.hypotheses, sort_keys=True),
            s.model_dump_json(),
            cell.result.model_dump_json() if cell.result is not None else None,
            cell.crossfield_version,
            _utc_naive(cell.created_at),
        ],
    )


_COLUMNS = (
    "cell_id, grid_id, target, target_root, spec_hash, judge, model, prompt, repeat_index, rescored_from, "
    "scorer, crossfield_version, created_at, scores, hypotheses, result"
)


def load_cells(
    con: Any, *, grid_id: str | None = None, cell_ids: Sequence[str] = (), with_result: bool = True
) -> list[Cell]:
    """Cells, oldest first; all of them, one grid's, or the given ids."""
    if not has_cells_table(con):
        return []
    sql = f"SELECT {_COLUMNS} FROM bench_cells"
    params: list[Any] = []
    if grid_id is not None:
        sql += " WHERE grid_id = ?"
        params.append(grid_id)
    elif cell_ids:
        sql += f" WHERE cell_id IN ({', '.join('?' * len(cell_ids))})"
        params.extend(cell_ids)
    sql += " ORDER BY created_at, cell_id"
    cells = []
    for row in con.execute(sql, params).fetchall():
        result = TargetResult.model_validate_json(row[15]) if with_result and row[15] else None
        cells.append(
            Cell(
                cell_id=row[0],
                grid_id=row[1],
                target=row[2],
                target_root=row[3],
                spec_hash=row[4],
                judge=row[5],
                model=row[6],
                prompt=row[7],
                repeat=row[8],
                rescored_from=row[9],
                scorer=row[10],
                crossfield_version=row[11],
                created_at=row[12].isoformat() if hasattr(row[12], "isoformat") else str(row[12]),
                scores=Scores.model_validate_json(row[13]),
                hypotheses=json.loads(row[14]),
                result=result,
            )
        )
    return cells


def latest_grid_id(con: Any) -> str | None:
    if not has_cells_table(con):
        return None
    row = con.execute(
        "SELECT grid_id FROM bench_cells ORDER BY created_at DESC, cell_id DESC LIMIT 1"
    ).fetchone()
    return str(row[0]) if row else None


def decision_counts(con: Any, hypothesis_ids: Sequence[str]) -> dict[str, int]:
    """Current human decisions (accept / reject / rewrite) over these hypotheses, from the store."""
    if not hypothesis_ids:
        return {}
    exists = con.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_name = 'current_decisions'"
    ).fetchone()[0]
    if not exists:
        return {}
    rows = con.execute(
        f"SELECT action, count(*) FROM current_decisions WHERE hypothesis_id IN ({', '.join('?' * len(hypothesis_ids))}) "
        "GROUP BY action",
        list(hypothesis_ids),
    ).fetchall()
    return {str(action): int(n) for action, n in rows}


def _utc_naive(value: str | None = None) -> datetime:
    dt = datetime.fromisoformat(value) if value else datetime.now(UTC)
    if dt.tzinfo is not None:
        dt = dt.astimezone(UTC).replace(tzinfo=None)
    return dt


class BenchStore:
    """The harness's view of a feedback `Store`: cells in, cells and human decisions out.

    Each call is one short-lived connection (one transaction for writes), like every `Store` method, so
    a notebook or a reviewer can use the same file between cells of a long grid."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def add_cell(self, cell: Cell) -> None:
        def work(con: Any) -> None:
            ensure_bench_schema(con)
            insert_cell(con, cell)

        _locking.write(self.store.path, self.store.timeout, work)

    def cells(self, *, grid_id: str | None = None, cell_ids: Sequence[str] = ()) -> list[Cell]:
        with _locking.connection(self.store.path, self.store.timeout) as con:
            return load_cells(con, grid_id=grid_id, cell_ids=cell_ids)

    def latest_grid_id(self) -> str | None:
        with _locking.connection(self.store.path, self.store.timeout) as con:
            return latest_grid_id(con)

    def decisions(self, hypothesis_ids: Sequence[str]) -> dict[str, int]:
        with _locking.connection(self.store.path, self.store.timeout) as con:
            return decision_counts(con, hypothesis_ids)
