"""Small helpers shared by the store modules: ids, UTC timestamps, canonical JSON."""

from __future__ import annotations

import json
import secrets
from datetime import UTC, datetime
from typing import Any


def utc_now() -> datetime:
    """Now, as a naive UTC datetime: every TIMESTAMP column of the store is UTC without a zone, which keeps
    DuckDB from needing pytz (TIMESTAMPTZ values need it on the way back to Python)."""
    return datetime.now(UTC).replace(tzinfo=None)


def to_utc(value: str | datetime | None) -> datetime | None:
    """An ISO-8601 string or datetime -> naive UTC; a value without a zone is taken to be UTC already."""
    if value is None or value == "":
        return None
    dt = datetime.fromisoformat(value.replace("Z", "+00:00")) if isinstance(value, str) else value
    if dt.tzinfo is not None:
        dt = dt.astimezone(UTC).replace(tzinfo=None)
    return dt


def new_id(prefix: str) -> str:
    """A sortable, readable, unique id: `<prefix>_<UTC second>_<48 random bits>`."""
    return f"{prefix}_{datetime.now(UTC):%Y%m%dT%H%M%S}_{secrets.token_hex(6)}"


def dumps(value: Any) -> str:
    """Canonical JSON (sorted keys, no spaces) so equal values store as equal text."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
