"""The store's schema, built and upgraded by numbered migrations.

Each migration is a function that runs DDL on a connection inside the transaction that also records it in
`schema_migrations`; a file is at version N when migrations 1..N are recorded there. Opening a store
applies the missing ones in order, so a file written by any earlier crossfield upgrades in place, and a
crash mid-migration leaves the previous version intact. Migrations only ever add (tables, columns,
indexes, views): rows are never rewritten, which keeps the store append-only even across upgrades.
Columns added by a later migration are NULL in rows written before it; readers that need the value fall
back to the hypothesis JSON (see `docs/store-schema.md`).

Never edit a shipped migration: add a new one at the end of `MIGRATIONS`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from crossfield._version import __version__
from crossfield.feedback._util import utc_now
from crossfield.feedback.errors import StoreError

ACTIONS = ("accept", "reject", "rewrite")
"""What a reviewer can decide about a hypothesis."""

REJECT_REASONS = ("duplicate", "wrong", "not_risky", "not_testable", "out_of_scope", "other")
"""Why a hypothesis was rejected. Kept short so the reasons can be counted and learned from."""


def _v1_base(con: Any) -> None:
    """Version 1: the audit trail — specs, judge runs, calls, hypotheses, decisions, tests and their runs."""
    con.execute(
        """
        CREATE TABLE specs (
            spec_hash     VARCHAR PRIMARY KEY,
            title         VARCHAR NOT NULL,
            version       VARCHAR NOT NULL,
            source_format VARCHAR NOT NULL,
            source_path   VARCHAR NOT NULL,
            first_seen    TIMESTAMP NOT NULL
        )
        """
    )
    con.execute(
        """
        CREATE TABLE judge_runs (
            run_id             VARCHAR PRIMARY KEY,
            spec_hash          VARCHAR NOT NULL,
            judge              VARCHAR NOT NULL,
            model              VARCHAR,
            prompt_id          VARCHAR,
            prompt_hash        VARCHAR,
            parameters         JSON NOT NULL,
            crossfield_version VARCHAR NOT NULL,
            package_versions   JSON NOT NULL,
            started_at         TIMESTAMP NOT NULL,
            finished_at        TIMESTAMP,
            usage              JSON NOT NULL,
            cost_usd           DOUBLE NOT NULL,
            recorded_at        TIMESTAMP NOT NULL
        )
        """
    )
    con.execute(
        """
        CREATE TABLE llm_calls (
            run_id             VARCHAR NOT NULL,
            seq                INTEGER NOT NULL,
            model              VARCHAR NOT NULL,
            prompt_id          VARCHAR NOT NULL,
            prompt_hash        VARCHAR NOT NULL,
            chunk              VARCHAR NOT NULL,
            input_tokens       BIGINT NOT NULL,
            output_tokens      BIGINT NOT NULL,
            cache_read_tokens  BIGINT NOT NULL,
            cache_write_tokens BIGINT NOT NULL,
            latency_s          DOUBLE NOT NULL,
            cost_usd           DOUBLE NOT NULL,
            attempts           INTEGER NOT NULL,
            cached             BOOLEAN NOT NULL,
            error              VARCHAR,
            request_hash       VARCHAR NOT NULL,
            started_at         TIMESTAMP,
            PRIMARY KEY (run_id, seq)
        )
        """
    )
    con.execute(
        """
        CREATE TABLE hypotheses (
            hypothesis_id VARCHAR NOT NULL,
            run_id        VARCHAR NOT NULL,
            spec_hash     VARCHAR NOT NULL,
            category      VARCHAR NOT NULL,
            severity      VARCHAR NOT NULL,
            confidence    DOUBLE NOT NULL,
            title         VARCHAR NOT NULL,
            judge         VARCHAR NOT NULL,
            model         VARCHAR,
            prompt_id     VARCHAR,
            hypothesis    JSON NOT NULL,
            created_at    TIMESTAMP NOT NULL,
            PRIMARY KEY (hypothesis_id, run_id)
        )
        """
    )
    con.execute("CREATE SEQUENCE decision_seq START 1")
    con.execute(
        f"""
        CREATE TABLE decisions (
            decision_id   VARCHAR PRIMARY KEY,
            seq           BIGINT NOT NULL DEFAULT nextval('decision_seq'),
            hypothesis_id VARCHAR NOT NULL,
            action        VARCHAR NOT NULL CHECK (action IN ({", ".join(repr(a) for a in ACTIONS)})),
            reason        VARCHAR,
            note          VARCHAR,
            rewritten_id  VARCHAR,
            rewritten     JSON,
            reviewer      VARCHAR NOT NULL,
            created_at    TIMESTAMP NOT NULL,
            supersedes    VARCHAR
        )
        """
    )
    con.execute(
        """
        CREATE VIEW current_decisions AS
        SELECT * FROM decisions
        QUALIFY row_number() OVER (PARTITION BY hypothesis_id ORDER BY seq DESC) = 1
        """
    )
    con.execute(
        """
        CREATE TABLE generated_tests (
            hypothesis_id VARCHAR NOT NULL,
            file          VARCHAR NOT NULL,
            test_name     VARCHAR NOT NULL,
            suite_dir     VARCHAR NOT NULL,
            created_at    TIMESTAMP NOT NULL
        )
        """
    )
    con.execute(
        """
        CREATE TABLE test_runs (
            run_id      VARCHAR PRIMARY KEY,
            started_at  TIMESTAMP NOT NULL,
            finished_at TIMESTAMP,
            base_url    VARCHAR NOT NULL,
            suite_dir   VARCHAR NOT NULL,
            recorded_at TIMESTAMP NOT NULL
        )
        """
    )
    con.execute(
        """
        CREATE TABLE test_results (
            run_id        VARCHAR NOT NULL,
            test_id       VARCHAR NOT NULL,
            hypothesis_id VARCHAR,
            outcome       VARCHAR NOT NULL,
            duration_s    DOUBLE,
            message       VARCHAR
        )
        """
    )
    con.execute(
        """
        CREATE TABLE http_exchanges (
            run_id           VARCHAR NOT NULL,
            test_id          VARCHAR NOT NULL,
            hypothesis_id    VARCHAR,
            step             VARCHAR,
            seq              INTEGER NOT NULL,
            method           VARCHAR NOT NULL,
            url              VARCHAR NOT NULL,
            request_headers  JSON NOT NULL,
            request_body     VARCHAR,
            status           INTEGER,
            response_headers JSON NOT NULL,
            response_body    VARCHAR,
            duration_ms      DOUBLE,
            started_at       TIMESTAMP
        )
        """
    )


def _v2_training_data(con: Any) -> None:
    """Version 2: what training-data exports need (rendered prompts, the links to them, a compact
    description of each spec's operations), judge-run outcomes, a status view, and lookup indexes."""
    con.execute(
        """
        CREATE TABLE prompts (
            prompt_key  VARCHAR PRIMARY KEY,
            prompt_id   VARCHAR NOT NULL,
            prompt_hash VARCHAR NOT NULL,
            chunk       VARCHAR NOT NULL,
            spec_hash   VARCHAR NOT NULL,
            system_text VARCHAR NOT NULL,
            user_text   VARCHAR NOT NULL,
            first_seen  TIMESTAMP NOT NULL
        )
        """
    )
    con.execute("ALTER TABLE llm_calls ADD COLUMN prompt_key VARCHAR")
    con.execute("ALTER TABLE hypotheses ADD COLUMN prompt_hash VARCHAR")
    con.execute("ALTER TABLE hypotheses ADD COLUMN chunk VARCHAR")
    con.execute("ALTER TABLE hypotheses ADD COLUMN prompt_key VARCHAR")
    con.execute("ALTER TABLE hypotheses ADD COLUMN score DOUBLE")
    con.execute("ALTER TABLE specs ADD COLUMN operations JSON")
    con.execute("ALTER TABLE judge_runs ADD COLUMN hypothesis_count INTEGER")
    con.execute("ALTER TABLE judge_runs ADD COLUMN dropped JSON")
    con.execute("ALTER TABLE judge_runs ADD COLUMN chunk_errors JSON")
    con.execute(
        """
        CREATE VIEW hypothesis_status AS
        SELECT h.hypothesis_id,
               any_value(h.spec_hash) AS spec_hash,
               any_value(h.category) AS category,
               any_value(h.title) AS title,
               count(*) AS runs,
               max(h.created_at) AS last_seen,
               CASE any_value(d.action)
                   WHEN 'accept' THEN 'accepted'
                   WHEN 'reject' THEN 'rejected'
                   WHEN 'rewrite' THEN 'rewritten'
                   ELSE 'undecided'
               END AS status,
               any_value(d.decision_id) AS decision_id
        FROM hypotheses h
        LEFT JOIN current_decisions d USING (hypothesis_id)
        GROUP BY h.hypothesis_id
        """
    )
    for name, table, columns in (
        ("hypotheses_run_idx", "hypotheses", "run_id"),
        ("hypotheses_spec_idx", "hypotheses", "spec_hash"),
        ("decisions_hypothesis_idx", "decisions", "hypothesis_id"),
        ("llm_calls_prompt_idx", "llm_calls", "prompt_key"),
        ("generated_tests_hypothesis_idx", "generated_tests", "hypothesis_id"),
        ("test_results_run_idx", "test_results", "run_id, test_id"),
        ("http_exchanges_run_idx", "http_exchanges", "run_id, test_id"),
    ):
        con.execute(f"CREATE INDEX {name} ON {table} ({columns})")


@dataclass(frozen=True, slots=True)
class Migration:
    version: int
    name: str
    apply: Callable[[Any], None]


MIGRATIONS: tuple[Migration, ...] = (
    Migration(1, "base", _v1_base),
    Migration(2, "training_data", _v2_training_data),
)
SCHEMA_VERSION = MIGRATIONS[-1].version


def _ensure_migrations_table(con: Any) -> None:
    con.execute(
        """
        CREATE TABLE IF NOT EXISTS schema_migrations (
            version            INTEGER PRIMARY KEY,
            name               VARCHAR NOT NULL,
            applied_at         TIMESTAMP NOT NULL,
            crossfield_version VARCHAR NOT NULL
        )
        """
    )


def current_version(con: Any) -> int:
    """The highest applied migration (0 for a new, empty file)."""
    exists = con.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_name = 'schema_migrations'"
    ).fetchone()[0]
    if not exists:
        return 0
    row = con.execute("SELECT coalesce(max(version), 0) FROM schema_migrations").fetchone()
    return int(row[0])


def migrate(con: Any, *, target: int = SCHEMA_VERSION) -> list[int]:
    """Apply the missing migrations up to `target`, in the caller's transaction; returns those applied."""
    _ensure_migrations_table(con)
    have = current_version(con)
    if have > SCHEMA_VERSION:
        raise StoreError(
            f"this store is at schema version {have}, newer than this crossfield understands "
            f"({SCHEMA_VERSION}); upgrade crossfield (the store was written by a newer release)"
        )
    applied: list[int] = []
    for migration in MIGRATIONS:
        if have < migration.version <= target:
            migration.apply(con)
            con.execute(
                "INSERT INTO schema_migrations VALUES (?, ?, ?, ?)",
                [migration.version, migration.name, utc_now(), __version__],
            )
            applied.append(migration.version)
    return applied
