"""Training data and snapshots out of the feedback store.

Review decisions are labels: an accepted hypothesis is a good answer to the prompt that produced it, a
rejected one a bad answer, and a rewrite says "this, not that". The exports turn the current decision of
each hypothesis (superseded decisions are history, not labels) into the line formats fine-tuning tools
read:

* `openai-sft` — `{"messages": [system, user, assistant]}`: accepted and rewritten hypotheses.
* `openai-dpo` — `{"input": {"messages"}, "preferred_output", "non_preferred_output"}`: pairs.
* `trl-preference` — `{"prompt", "chosen", "rejected"}`: the same pairs, for TRL.
* `trl-kto` — `{"prompt", "completion", "label"}`: every labelled answer (a rewrite gives two lines).
* `parquet` — a directory with one Parquet file per table and view: a full snapshot for analysis.

The prompt is the rendered prompt that produced the hypothesis (`prompts` table); hypotheses no LLM wrote
get the fallback prompt of `_prompts.fallback_prompt`. The answer is the hypothesis as a judge writes it
(the `HypothesisDraft` JSON: no id, no provenance).

Pairs: every rewrite gives (rewritten over original). Then, among hypotheses that share the exact same
prompt, accepted (or rewritten) answers are paired with rejected ones — `max(len(good), len(bad))` pairs,
cycling through the shorter list, so every labelled answer is used without a combinatorial blow-up.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb

from crossfield.feedback._prompts import fallback_prompt, involved_operations, operations_summary
from crossfield.feedback.errors import SpecUnavailableError, StoreError

if TYPE_CHECKING:
    from crossfield.feedback.store import Store

EXPORT_FORMATS = ("openai-sft", "openai-dpo", "trl-preference", "trl-kto", "parquet")
Messages = list[dict[str, str]]


@dataclass(frozen=True, slots=True)
class ExportFilters:
    """Which labelled hypotheses to export. Dates bound the current decision's time: a bare date
    (`2025-06-01`) means the whole day (`until` is inclusive of it); a datetime is an exact bound."""

    since: str | date | None = None
    until: str | date | None = None
    prompt_id: str | None = None
    model: str | None = None
    category: str | None = None

    @property
    def empty(self) -> bool:
        return all(v is None for v in (self.since, self.until, self.prompt_id, self.model, self.category))

    def where(self) -> tuple[list[str], list[Any]]:
        clauses: list[str] = []
        params: list[Any] = []
        if self.since is not None:
            clauses.append("d.created_at >= ?")
            params.append(_bound(self.since, end=False))
        if self.until is not None:
            until, exclusive = _bound(self.until, end=True), _is_bare_date(self.until)
            clauses.append("d.created_at < ?" if exclusive else "d.created_at <= ?")
            params.append(until)
        for column, value in (
            ("prompt_id", self.prompt_id),
            ("model", self.model),
            ("category", self.category),
        ):
            if value is not None:
                clauses.append(f"h.{column} = ?")
                params.append(value)
        return clauses, params


@dataclass(slots=True)
class ExportSummary:
    """What an export wrote: the format, the path, and how many records (lines; rows per table for parquet)."""

    format: str
    out: Path
    records: int
    tables: dict[str, int] = field(default_factory=dict)


def _is_bare_date(value: str | date) -> bool:
    if isinstance(value, datetime):
        return False
    return isinstance(value, date) or len(value.strip()) == 10


def _bound(value: str | date, *, end: bool) -> datetime:
    """A filter bound as a naive UTC datetime (the store's convention); a bare date's end is the next day."""
    from crossfield.feedback._util import to_utc

    if isinstance(value, datetime):
        result = to_utc(value)
    elif isinstance(value, date):
        result = datetime(value.year, value.month, value.day)
    else:
        try:
            result = to_utc(value.strip())
        except ValueError as exc:
            raise StoreError(f"not a date or ISO datetime: {value!r} (use e.g. 2025-06-01)") from exc
    assert result is not None
    return result + timedelta(days=1) if end and _is_bare_date(value) else result


@dataclass(frozen=True, slots=True)
class _Labelled:
    """One hypothesis with its current decision, the prompt it answers and its answer text(s)."""

    action: str
    prompt_key: str
    """Identifies the prompt: the stored prompt's key, or the spec and operations of a fallback prompt."""
    messages: Messages
    answer: str
    rewritten_answer: str | None


def _answer(data: dict[str, Any]) -> str:
    """The answer text of a stored hypothesis (parsed JSON): its draft JSON (no id, no provenance), compact.

    Built from the stored JSON — written by this library from a validated model, fields in contract
    order — instead of re-validating through pydantic, which would dominate the export's time; it is
    byte-for-byte `Hypothesis.draft().model_dump_json()`."""
    data = dict(data)
    data.pop("id", None)
    data.pop("provenance", None)
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"))


# Narrow on purpose: the windows rank keys only, and prompt texts and spec summaries are read once,
# separately — joining them onto every row would carry kilobytes per row through the sort.
_LABELLED_SQL = """
    WITH latest AS (
        SELECT hypothesis_id, run_id FROM hypotheses
        QUALIFY row_number() OVER (
            PARTITION BY hypothesis_id ORDER BY (prompt_key IS NULL), created_at DESC, run_id DESC) = 1
    ), current AS (
        SELECT decision_id FROM decisions
        QUALIFY row_number() OVER (PARTITION BY hypothesis_id ORDER BY seq DESC) = 1
    )
    SELECT d.seq, d.action, d.rewritten, h.hypothesis, h.spec_hash, h.prompt_key
    FROM decisions d
    JOIN current USING (decision_id)
    JOIN latest l ON l.hypothesis_id = d.hypothesis_id
    JOIN hypotheses h ON h.hypothesis_id = l.hypothesis_id AND h.run_id = l.run_id
    {where}
    ORDER BY d.seq
"""
_FETCH_ROWS = 2_000


@dataclass(slots=True)
class _Snapshot:
    """What an export reads from the store, in one connection: the labelled rows (copied to a Parquet
    file), and the prompts and specs they refer to."""

    rows: Path
    prompts: dict[str, Messages]
    specs: dict[str, tuple[str, str, str | None]]


def _take_snapshot(store: Store, filters: ExportFilters, tmp: Path) -> _Snapshot:
    clauses, params = filters.where()
    query = _LABELLED_SQL.format(where="WHERE " + " AND ".join(clauses) if clauses else "")
    target = tmp / "labelled.parquet"

    def work(con: Any) -> _Snapshot:
        literal = str(target).replace("'", "''")
        con.execute(f"COPY ({query}) TO '{literal}' (FORMAT parquet)", params)
        prompts = {
            key: [{"role": "system", "content": system}, {"role": "user", "content": user}]
            for key, system, user in con.execute(
                "SELECT prompt_key, system_text, user_text FROM prompts"
            ).fetchall()
        }
        specs = {
            spec_hash: (title, version, operations)
            for spec_hash, title, version, operations in con.execute(
                "SELECT spec_hash, title, version, operations FROM specs"
            ).fetchall()
        }
        return _Snapshot(target, prompts, specs)

    return store._run(work)


def _rows(path: Path) -> Iterator[dict[str, Any]]:
    """Stream the copied rows through a private in-memory DuckDB: memory stays flat."""
    reader = duckdb.connect()
    try:
        literal = str(path).replace("'", "''")
        cursor = reader.execute(f"SELECT * FROM read_parquet('{literal}') ORDER BY seq")
        names = [d[0] for d in cursor.description]
        while rows := cursor.fetchmany(_FETCH_ROWS):
            for row in rows:
                yield dict(zip(names, row, strict=True))
    finally:
        reader.close()


def _labelled(store: Store, filters: ExportFilters) -> Iterator[_Labelled]:
    """Each current decision with the prompt its hypothesis answers (stored, or the fallback).

    The store is read once, briefly (so a reviewer or a judge run waits seconds, not for the whole
    export); the rows are then streamed from a temporary Parquet copy."""
    operations: dict[str, list[dict[str, Any]] | None] = {}
    fallbacks: dict[str, Messages] = {}
    with tempfile.TemporaryDirectory(prefix="crossfield-export-") as tmp:
        snapshot = _take_snapshot(store, filters, Path(tmp))
        for row in _rows(snapshot.rows):
            original = json.loads(row["hypothesis"])
            stored = snapshot.prompts.get(row["prompt_key"]) if row["prompt_key"] else None
            if stored is not None:
                key, messages = "p:" + row["prompt_key"], stored
            else:
                spec_hash = row["spec_hash"]
                involved = tuple(involved_operations(original))
                key = f"f:{spec_hash}:{','.join(involved)}"
                if key not in fallbacks:
                    title, version, stored_ops = snapshot.specs.get(spec_hash, ("", "", None))
                    if spec_hash not in operations:
                        operations[spec_hash] = _operations(store, spec_hash, stored_ops)
                    system, user = fallback_prompt(
                        involved, api_title=title, api_version=version, operations=operations[spec_hash]
                    )
                    fallbacks[key] = [
                        {"role": "system", "content": system},
                        {"role": "user", "content": user},
                    ]
                messages = fallbacks[key]
            yield _Labelled(
                action=row["action"],
                prompt_key=key,
                messages=messages,
                answer=_answer(original),
                rewritten_answer=_answer(json.loads(row["rewritten"])) if row["rewritten"] else None,
            )


def _operations(store: Store, spec_hash: str, stored: str | None) -> list[dict[str, Any]] | None:
    """The spec's operation summary: as stored (schema v2+), else from the spec file, else unknown."""
    if stored is not None:
        loaded: list[dict[str, Any]] = json.loads(stored)
        return loaded
    try:
        return operations_summary(store.spec_api(spec_hash))
    except SpecUnavailableError:
        return None


def _assistant(text: str) -> list[dict[str, str]]:
    return [{"role": "assistant", "content": text}]


def _pairs(items: Iterable[_Labelled]) -> Iterator[tuple[Messages, str, str]]:
    """(prompt, preferred, non-preferred): every rewrite, then good-vs-bad answers to the same prompt."""
    good: dict[str, list[str]] = defaultdict(list)
    bad: dict[str, list[str]] = defaultdict(list)
    prompts: dict[str, Messages] = {}
    for item in items:
        prompts.setdefault(item.prompt_key, item.messages)
        if item.action == "rewrite" and item.rewritten_answer is not None:
            if item.rewritten_answer != item.answer:
                yield item.messages, item.rewritten_answer, item.answer
            good[item.prompt_key].append(item.rewritten_answer)
        elif item.action == "accept":
            good[item.prompt_key].append(item.answer)
        elif item.action == "reject":
            bad[item.prompt_key].append(item.answer)
    for key, goods in good.items():
        bads = bad.get(key)
        if not bads:
            continue
        for i in range(max(len(goods), len(bads))):
            chosen, rejected = goods[i % len(goods)], bads[i % len(bads)]
            if chosen != rejected:
                yield prompts[key], chosen, rejected


def _records(fmt: str, items: Iterable[_Labelled]) -> Iterator[dict[str, Any]]:
    if fmt == "openai-sft":
        for item in items:
            answer = item.rewritten_answer if item.action == "rewrite" else item.answer
            if item.action in ("accept", "rewrite") and answer is not None:
                yield {"messages": [*item.messages, *_assistant(answer)]}
    elif fmt == "trl-kto":
        for item in items:
            if item.action == "rewrite" and item.rewritten_answer is not None:
                yield {
                    "prompt": item.messages,
                    "completion": _assistant(item.rewritten_answer),
                    "label": True,
                }
                if item.rewritten_answer != item.answer:
                    yield {"prompt": item.messages, "completion": _assistant(item.answer), "label": False}
            else:
                yield {
                    "prompt": item.messages,
                    "completion": _assistant(item.answer),
                    "label": item.action == "accept",
                }
    elif fmt == "openai-dpo":
        for messages, chosen, rejected in _pairs(items):
            yield {
                "input": {"messages": messages},
                "preferred_output": _assistant(chosen),
                "non_preferred_output": _assistant(rejected),
            }
    elif fmt == "trl-preference":
        for messages, chosen, rejected in _pairs(items):
            yield {"prompt": messages, "chosen": _assistant(chosen), "rejected": _assistant(rejected)}


def _write_jsonl(out: Path, records: Iterator[dict[str, Any]]) -> int:
    """Write atomically: a reader never sees half a file, and a failed export leaves the old one."""
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=out.parent, prefix=f".{out.name}.", suffix=".tmp")
    count = 0
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            for record in records:
                fh.write(json.dumps(record, ensure_ascii=False, separators=(",", ":")) + "\n")
                count += 1
        os.replace(tmp, out)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return count


def _export_parquet(store: Store, out: Path) -> dict[str, int]:
    """One Parquet file per table and view (DuckDB's COPY TO), in one read of the store."""
    out.mkdir(parents=True, exist_ok=True)

    def work(con: Any) -> dict[str, int]:
        names = [
            name
            for (name,) in con.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = 'main' ORDER BY table_name"
            ).fetchall()
        ]
        counts: dict[str, int] = {}
        for name in names:
            target = str(out / f"{name}.parquet").replace("'", "''")
            con.execute(f"COPY (SELECT * FROM \"{name}\") TO '{target}' (FORMAT parquet)")
            counts[name] = int(con.execute(f'SELECT count(*) FROM "{name}"').fetchone()[0])
        return counts

    return store._run(work)


def export(
    store: Store, fmt: str, out: str | os.PathLike[str], filters: ExportFilters | None = None
) -> ExportSummary:
    """Write the export `fmt` (one of `EXPORT_FORMATS`) to `out` (a file; a directory for parquet)."""
    filters = filters or ExportFilters()
    path = Path(out)
    if fmt not in EXPORT_FORMATS:
        raise StoreError(f"unknown export format {fmt!r}: use one of {', '.join(EXPORT_FORMATS)}")
    if fmt == "parquet":
        if not filters.empty:
            raise StoreError("parquet exports are full snapshots of every table; filter after loading them")
        tables = _export_parquet(store, path)
        return ExportSummary(fmt, path, sum(tables.values()), tables)
    return ExportSummary(fmt, path, _write_jsonl(path, _records(fmt, _labelled(store, filters))))
