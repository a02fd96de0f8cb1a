"""The store's schema: created by numbered migrations, upgraded in place, and pinned column by column."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import duckdb
import pytest
from feedback_support import PAYMENTS_SPEC, payments_api, refund_draft

from crossfield.feedback import MIGRATIONS, SCHEMA_VERSION, Store, StoreError, export
from crossfield.feedback._formats import validate_file
from crossfield.feedback._schema import current_version, migrate
from crossfield.judgment.models import Hypothesis, Provenance

# Every table and view with its columns, in order. A change here is a schema change: it needs a new
# migration (never an edit of a shipped one) and an update of docs/store-schema.md.
EXPECTED_COLUMNS: dict[str, list[tuple[str, str]]] = {
    "schema_migrations": [
        ("version", "INTEGER"), ("name", "VARCHAR"), ("applied_at", "TIMESTAMP"), ("crossfield_version", "VARCHAR"),
    ],
    "specs": [
        ("spec_hash", "VARCHAR"), ("title", "VARCHAR"), ("version", "VARCHAR"), ("source_format", "VARCHAR"),
        ("source_path", "VARCHAR"), ("first_seen", "TIMESTAMP"), ("operations", "JSON"),
    ],
    "judge_runs": [
        ("run_id", "VARCHAR"), ("spec_hash", "VARCHAR"), ("judge", "VARCHAR"), ("model", "VARCHAR"),
        ("prompt_id", "VARCHAR"), ("prompt_hash", "VARCHAR"), ("parameters", "JSON"),
        ("crossfield_version", "VARCHAR"), ("package_versions", "JSON"), ("started_at", "TIMESTAMP"),
        ("finished_at", "TIMESTAMP"), ("usage", "JSON"), ("cost_usd", "DOUBLE"), ("recorded_at", "TIMESTAMP"),
        ("hypothesis_count", "INTEGER"), ("dropped", "JSON"), ("chunk_errors", "JSON"),
    ],
    "llm_calls": [
        ("run_id", "VARCHAR"), ("seq", "INTEGER"), ("model", "VARCHAR"), ("prompt_id", "VARCHAR"),
        ("prompt_hash", "VARCHAR"), ("chunk", "VARCHAR"), ("input_tokens", "BIGINT"), ("output_tokens", "BIGINT"),
        ("cache_read_tokens", "BIGINT"), ("cache_write_tokens", "BIGINT"), ("latency_s", "DOUBLE"),
        ("cost_usd", "DOUBLE"), ("attempts", "INTEGER"), ("cached", "BOOLEAN"), ("error", "VARCHAR"),
        ("request_hash", "VARCHAR"), ("started_at", "TIMESTAMP"), ("prompt_key", "VARCHAR"),
    ],
    "prompts": [
        ("prompt_key", "VARCHAR"), ("prompt_id", "VARCHAR"), ("prompt_hash", "VARCHAR"), ("chunk", "VARCHAR"),
        ("spec_hash", "VARCHAR"), ("system_text", "VARCHAR"), ("user_text", "VARCHAR"), ("first_seen", "TIMESTAMP"),
    ],
    "hypotheses": [
        ("hypothesis_id", "VARCHAR"), ("run_id", "VARCHAR"), ("spec_hash", "VARCHAR"), ("category", "VARCHAR"),
        ("severity", "VARCHAR"), ("confidence", "DOUBLE"), ("title", "VARCHAR"), ("judge", "VARCHAR"),
        ("model", "VARCHAR"), ("prompt_id", "VARCHAR"), ("hypothesis", "JSON"), ("created_at", "TIMESTAMP"),
        ("prompt_hash", "VARCHAR"), ("chunk", "VARCHAR"), ("prompt_key", "VARCHAR"), ("score", "DOUBLE"),
    ],
    "decisions": [
        ("decision_id", "VARCHAR"), ("seq", "BIGINT"), ("hypothesis_id", "VARCHAR"), ("action", "VARCHAR"),
        ("reason", "VARCHAR"), ("note", "VARCHAR"), ("rewritten_id", "VARCHAR"), ("rewritten", "JSON"),
        ("reviewer", "VARCHAR"), ("created_at", "TIMESTAMP"), ("supersedes", "VARCHAR"),
    ],
    "current_decisions": [
        ("decision_id", "VARCHAR"), ("seq", "BIGINT"), ("hypothesis_id", "VARCHAR"), ("action", "VARCHAR"),
        ("reason", "VARCHAR"), ("note", "VARCHAR"), ("rewritten_id", "VARCHAR"), ("rewritten", "JSON"),
        ("reviewer", "VARCHAR"), ("created_at", "TIMESTAMP"), ("supersedes", "VARCHAR"),
    ],
    "hypothesis_status": [
        ("hypothesis_id", "VARCHAR"), ("spec_hash", "VARCHAR"), ("category", "VARCHAR"), ("title", "VARCHAR"),
        ("runs", "BIGINT"), ("last_seen", "TIMESTAMP"), ("status", "VARCHAR"), ("decision_id", "VARCHAR"),
    ],
    "generated_tests": [
        ("hypothesis_id", "VARCHAR"), ("file", "VARCHAR"), ("test_name", "VARCHAR"), ("suite_dir", "VARCHAR"),
        ("created_at", "TIMESTAMP"),
    ],
    "test_runs": [
        ("run_id", "VARCHAR"), ("started_at", "TIMESTAMP"), ("finished_at", "TIMESTAMP"), ("base_url", "VARCHAR"),
        ("suite_dir", "VARCHAR"), ("recorded_at", "TIMESTAMP"),
    ],
    "test_results": [
        ("run_id", "VARCHAR"), ("test_id", "VARCHAR"), ("hypothesis_id", "VARCHAR"), ("outcome", "VARCHAR"),
        ("duration_s", "DOUBLE"), ("message", "VARCHAR"),
    ],
    "http_exchanges": [
        ("run_id", "VARCHAR"), ("test_id", "VARCHAR"), ("hypothesis_id", "VARCHAR"), ("step", "VARCHAR"),
        ("seq", "INTEGER"), ("method", "VARCHAR"), ("url", "VARCHAR"), ("request_headers", "JSON"),
        ("request_body", "VARCHAR"), ("status", "INTEGER"), ("response_headers", "JSON"),
        ("response_body", "VARCHAR"), ("duration_ms", "DOUBLE"), ("started_at", "TIMESTAMP"),
    ],
}  # fmt: skip


def _columns(path: Path) -> dict[str, list[tuple[str, str]]]:
    con = duckdb.connect(str(path))
    try:
        tables = [t for (t,) in con.execute("SELECT table_name FROM information_schema.tables").fetchall()]
        return {
            t: con.execute(
                "SELECT column_name, data_type FROM information_schema.columns WHERE table_name = ? "
                "ORDER BY ordinal_position",
                [t],
            ).fetchall()
            for t in tables
        }
    finally:
        con.close()


def test_migrations_are_numbered_in_order() -> None:
    assert [m.version for m in MIGRATIONS] == list(range(1, len(MIGRATIONS) + 1))
    assert SCHEMA_VERSION == MIGRATIONS[-1].version >= 2


def test_a_new_file_gets_every_migration_and_the_pinned_columns(tmp_path: Path) -> None:
    path = tmp_path / "new.duckdb"
    store = Store.open(path)
    assert store.schema_version == SCHEMA_VERSION
    assert _columns(path) == EXPECTED_COLUMNS
    applied = store.sql("SELECT version, name FROM schema_migrations ORDER BY version")
    assert [(r["version"], r["name"]) for r in applied] == [(m.version, m.name) for m in MIGRATIONS]


def test_opening_again_applies_nothing(tmp_path: Path) -> None:
    path = tmp_path / "again.duckdb"
    Store.open(path)
    Store.open(path)
    assert Store.open(path).sql("SELECT count(*) AS n FROM schema_migrations")[0]["n"] == SCHEMA_VERSION


def test_open_creates_missing_parent_directories(tmp_path: Path) -> None:
    store = Store.open(tmp_path / "a" / "b" / "store.duckdb")
    assert store.path.exists()


@pytest.mark.parametrize("version", [m.version for m in MIGRATIONS[:-1]])
def test_each_earlier_version_upgrades_in_place(tmp_path: Path, version: int) -> None:
    path = tmp_path / f"v{version}.duckdb"
    con = duckdb.connect(str(path))
    migrate(con, target=version)
    assert current_version(con) == version
    con.close()
    store = Store.open(path)
    assert store.schema_version == SCHEMA_VERSION
    assert _columns(path) == EXPECTED_COLUMNS


def _write_v1_data(path: Path) -> Hypothesis:
    """A version-1 file with one judged hypothesis and an accept decision, written with v1 columns only."""
    api = payments_api()
    hyp = Hypothesis.from_draft(refund_draft(5), Provenance(judge="heuristic", spec_hash=api.content_hash))
    now = datetime(2025, 1, 2, 3, 4, 5)
    con = duckdb.connect(str(path))
    migrate(con, target=1)
    con.execute(
        "INSERT INTO specs VALUES (?, ?, ?, ?, ?, ?)",
        [api.content_hash, api.title, api.version, api.source_format, str(PAYMENTS_SPEC), now],
    )
    con.execute(
        "INSERT INTO judge_runs VALUES ('jr_old', ?, 'heuristic', NULL, NULL, NULL, '{}', '0.0.9', '{}', ?, ?, '{}', 0, ?)",
        [api.content_hash, now, now, now],
    )
    con.execute(
        "INSERT INTO hypotheses VALUES (?, 'jr_old', ?, ?, ?, ?, ?, 'heuristic', NULL, NULL, ?, ?)",
        [hyp.id, api.content_hash, hyp.category.value, hyp.severity.value, hyp.confidence, hyp.title,
         hyp.model_dump_json(), now],
    )  # fmt: skip
    con.execute(
        "INSERT INTO decisions (decision_id, hypothesis_id, action, reviewer, created_at) VALUES ('d_old', ?, 'accept', 'ana', ?)",
        [hyp.id, now],
    )
    con.close()
    return hyp


def test_data_written_at_version_1_survives_the_upgrade_and_stays_usable(tmp_path: Path) -> None:
    path = tmp_path / "v1-data.duckdb"
    hyp = _write_v1_data(path)
    store = Store.open(path)
    assert store.schema_version == SCHEMA_VERSION
    rows = store.hypotheses()
    assert [(r["hypothesis_id"], r["status"]) for r in rows] == [(hyp.id, "accepted")]
    assert rows[0]["score"] == pytest.approx(
        3 * hyp.confidence
    )  # computed: v1 rows have no score column value
    assert [h.id for h in store.accepted_hypotheses()] == [hyp.id]
    # New decisions keep numbering after the old ones and supersede them.
    store.decide(hyp.id, "reject", reviewer="bo", reason="wrong")
    history = store.decisions(hyp.id)
    assert next(d["decision_id"] for d in history) == "d_old"
    assert history[1]["supersedes"] == "d_old" and history[1]["seq"] > history[0]["seq"]
    # Exports work on v1 rows: the spec's operation summary is rebuilt from the recorded spec file.
    out = tmp_path / "kto.jsonl"
    export(store, "trl-kto", out)
    assert validate_file("trl-kto", out) == []
    line = json.loads(out.read_text().splitlines()[0])
    assert "createRefund: POST /charges/{charge_id}/refunds" in line["prompt"][1]["content"]
    assert line["label"] is False


def test_a_file_from_a_newer_crossfield_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "future.duckdb"
    Store.open(path)
    con = duckdb.connect(str(path))
    con.execute(
        "INSERT INTO schema_migrations VALUES (?, 'from_the_future', now()::TIMESTAMP, '9.9')",
        [SCHEMA_VERSION + 1],
    )
    con.close()
    with pytest.raises(StoreError, match="newer than this crossfield"):
        Store.open(path)


def test_a_failing_migration_leaves_the_previous_version(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from crossfield.feedback import _schema

    path = tmp_path / "half.duckdb"
    con = duckdb.connect(str(path))
    migrate(con, target=1)
    con.close()

    def broken(con: object) -> None:
        _schema._v2_training_data(con)
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(
        _schema, "MIGRATIONS", (_schema.MIGRATIONS[0], _schema.Migration(2, "training_data", broken))
    )
    with pytest.raises(RuntimeError, match="disk on fire"):
        Store.open(path)
    monkeypatch.undo()
    columns = _columns(path)
    assert "prompts" not in columns and ("score", "DOUBLE") not in columns["hypotheses"]
    assert Store.open(path).schema_version == SCHEMA_VERSION
