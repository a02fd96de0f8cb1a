"""Turning crossfield objects into store rows, and inserting rows fast.

DuckDB's `executemany` runs one statement per row (about 2,500 rows/s), and a multi-row `VALUES` list
binds every value as its own parameter (3,000-5,000 rows/s with hypothesis-sized JSON). Passing each
column as *one* list parameter and `unnest`-ing them side by side is several times faster (about 18,000
rows/s in chunks of 2,000) and needs no pyarrow, so every batch insert goes through `insert_rows`.
"""

from __future__ import annotations

import platform
from collections.abc import Iterable, Mapping, Sequence
from functools import lru_cache
from importlib import metadata
from typing import Any

from crossfield._version import __version__
from crossfield.feedback._prompts import RenderedPrompt, operations_summary, prompts_from_calls
from crossfield.feedback._redact import redact_headers, redact_url
from crossfield.feedback._util import dumps, to_utc, utc_now
from crossfield.judgment.base import JudgeResult
from crossfield.judgment.models import SEVERITY_WEIGHT, Hypothesis

_CHUNK_ROWS = 2_000
_PACKAGES = ("pydantic", "duckdb", "jsonschema", "httpx", "anthropic", "openai", "instructor", "PyYAML")


def _column_types(con: Any, table: str) -> dict[str, str]:
    rows = con.execute(
        "SELECT column_name, data_type FROM information_schema.columns WHERE table_name = ?", [table]
    ).fetchall()
    return {str(name): str(kind) for name, kind in rows}


def insert_rows(
    con: Any,
    table: str,
    columns: Sequence[str],
    rows: Iterable[Sequence[Any]],
    *,
    ignore_existing: bool = False,
) -> int:
    """Insert `rows` into `table` in chunks; `ignore_existing` skips rows whose key already exists.

    `table` and `columns` come from this package, never from users, so they are safe to format in."""
    types = _column_types(con, table)
    missing = [c for c in columns if c not in types]
    if missing:
        raise ValueError(f"{table} has no column(s) {missing}")
    select = ", ".join(f"unnest(?::{types[c]}[])" for c in columns)
    statement = f"INSERT INTO {table} ({', '.join(columns)}) SELECT {select}"
    if ignore_existing:
        statement += " ON CONFLICT DO NOTHING"
    batch: list[Sequence[Any]] = []
    count = 0

    def flush() -> None:
        con.execute(statement, [list(values) for values in zip(*batch, strict=True)])

    for row in rows:
        if len(row) != len(columns):
            raise ValueError(f"{table}: row has {len(row)} values for {len(columns)} columns")
        batch.append(row)
        count += 1
        if len(batch) >= _CHUNK_ROWS:
            flush()
            batch = []
    if batch:
        flush()
    return count


@lru_cache(maxsize=1)
def package_versions() -> dict[str, str]:
    """Versions of the packages that shape a judge run's output, for reproducibility."""
    versions = {"python": platform.python_version()}
    for name in _PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return versions


def score(h: Hypothesis) -> float:
    return SEVERITY_WEIGHT[h.severity] * h.confidence


SPEC_COLUMNS = ("spec_hash", "title", "version", "source_format", "source_path", "first_seen", "operations")
RUN_COLUMNS = (
    "run_id", "spec_hash", "judge", "model", "prompt_id", "prompt_hash", "parameters", "crossfield_version",
    "package_versions", "started_at", "finished_at", "usage", "cost_usd", "recorded_at", "hypothesis_count",
    "dropped", "chunk_errors",
)  # fmt: skip
CALL_COLUMNS = (
    "run_id", "seq", "model", "prompt_id", "prompt_hash", "chunk", "input_tokens", "output_tokens",
    "cache_read_tokens", "cache_write_tokens", "latency_s", "cost_usd", "attempts", "cached", "error",
    "request_hash", "started_at", "prompt_key",
)  # fmt: skip
PROMPT_COLUMNS = (
    "prompt_key",
    "prompt_id",
    "prompt_hash",
    "chunk",
    "spec_hash",
    "system_text",
    "user_text",
    "first_seen",
)
HYPOTHESIS_COLUMNS = (
    "hypothesis_id", "run_id", "spec_hash", "category", "severity", "confidence", "title", "judge", "model",
    "prompt_id", "hypothesis", "created_at", "prompt_hash", "chunk", "prompt_key", "score",
)  # fmt: skip


def judge_run_rows(
    result: JudgeResult, run_id: str, prompts: Iterable[RenderedPrompt]
) -> dict[str, tuple[tuple[str, ...], list[tuple[Any, ...]]]]:
    """Every row a judge run adds, by table (the specs and prompts rows are inserted only if new)."""
    api = result.api
    now = utc_now()
    rendered = [*prompts, *prompts_from_calls(result.calls)]
    by_chunk: dict[tuple[str, str], RenderedPrompt] = {}
    for p in rendered:
        by_chunk.setdefault((p.prompt_hash, p.chunk), p)
    unique_prompts = {p.key: p for p in rendered}
    usage = result.usage
    spec_row = (
        api.content_hash, api.title, api.version, api.source_format, api.source_path, now,
        dumps(operations_summary(api)),
    )  # fmt: skip
    run_row = (
        run_id, api.content_hash, result.judge, result.model, result.prompt_id, result.prompt_hash,
        dumps(result.parameters), __version__, dumps(package_versions()), to_utc(result.started_at),
        to_utc(result.finished_at), dumps(usage), float(usage.get("cost_usd", 0.0)), now,
        len(result.hypotheses), dumps([d.to_dict() for d in result.dropped]), dumps(result.chunk_errors),
    )  # fmt: skip
    call_rows = []
    for seq, c in enumerate(result.calls):
        linked = by_chunk.get((c.prompt_hash, c.chunk))
        call_rows.append((
            run_id, seq, c.model, c.prompt_id, c.prompt_hash, c.chunk, c.input_tokens, c.output_tokens,
            c.cache_read_tokens, c.cache_write_tokens, c.latency_s, c.cost_usd, c.attempts, c.cached, c.error,
            c.request_hash, to_utc(c.started_at), linked.key if linked else None,
        ))  # fmt: skip
    prompt_rows = [
        (p.key, p.prompt_id, p.prompt_hash, p.chunk, api.content_hash, p.system, p.user, now)
        for p in unique_prompts.values()
    ]
    hyp_rows = []
    seen: set[str] = set()
    for h in result.hypotheses:
        if h.id in seen:
            continue
        seen.add(h.id)
        prov = h.provenance
        linked = by_chunk.get((prov.prompt_hash or "", prov.chunk or ""))
        hyp_rows.append((
            h.id, run_id, prov.spec_hash or api.content_hash, h.category.value, h.severity.value, h.confidence,
            h.title, prov.judge, prov.model, prov.prompt_id, h.model_dump_json(), now, prov.prompt_hash,
            prov.chunk, linked.key if linked else None, score(h),
        ))  # fmt: skip
    return {
        "specs": (SPEC_COLUMNS, [spec_row]),
        "judge_runs": (RUN_COLUMNS, [run_row]),
        "llm_calls": (CALL_COLUMNS, call_rows),
        "prompts": (PROMPT_COLUMNS, prompt_rows),
        "hypotheses": (HYPOTHESIS_COLUMNS, hyp_rows),
    }


RESULT_COLUMNS = ("run_id", "test_id", "hypothesis_id", "outcome", "duration_s", "message")
EXCHANGE_COLUMNS = (
    "run_id", "test_id", "hypothesis_id", "step", "seq", "method", "url", "request_headers", "request_body",
    "status", "response_headers", "response_body", "duration_ms", "started_at",
)  # fmt: skip


def result_row(run_id: str, r: Mapping[str, Any]) -> tuple[Any, ...]:
    return (
        run_id, str(r["test_id"]), r.get("hypothesis_id"), str(r["outcome"]), r.get("duration_s"),
        r.get("message"),
    )  # fmt: skip


def exchange_row(run_id: str, x: Mapping[str, Any]) -> tuple[Any, ...]:
    """One HTTP exchange, with credentials redacted again (defense in depth)."""
    return (
        run_id, str(x["test_id"]), x.get("hypothesis_id"), x.get("step"), int(x.get("seq", 0)),
        str(x["method"]).upper(), redact_url(str(x["url"])), dumps(redact_headers(x.get("request_headers"))),
        x.get("request_body"), x.get("status"), dumps(redact_headers(x.get("response_headers"))),
        x.get("response_body"), x.get("duration_ms"), to_utc(x.get("started_at")),
    )  # fmt: skip
