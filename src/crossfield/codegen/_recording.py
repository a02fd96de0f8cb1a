"""What a test run records: HTTP exchanges (already redacted) and notes, collected for the pytest plugin.

The runtime appends to a `Collector` only when the plugin created one (`--crossfield-store` or
`--crossfield-report`); otherwise exchanges stay on the session, for failure messages.
"""

from __future__ import annotations

import threading
from dataclasses import asdict, dataclass, field
from typing import Any

import pytest

from crossfield.codegen._redact import Redactor

__all__ = ["COLLECTOR_KEY", "MARKER", "MARKER_HELP", "Collector", "Exchange"]

MARKER = "crossfield"
MARKER_HELP = (
    "crossfield(hypothesis, claim, quota=False): the hypothesis a generated crossfield test checks; "
    "quota=True runs the test last (it exhausts a rate limit)"
)


@dataclass(frozen=True, slots=True)
class Exchange:
    """One request and its response, with secrets redacted. Field names match the feedback store."""

    test_id: str
    hypothesis_id: str
    step: str
    seq: int
    method: str
    url: str
    request_headers: dict[str, str]
    request_body: str | None
    status: int | None
    response_headers: dict[str, str]
    response_body: str | None
    duration_ms: float
    started_at: str
    error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def to_store(self) -> dict[str, Any]:
        """The keys `Store.add_test_run` expects (everything but the transport error)."""
        data = asdict(self)
        data.pop("error")
        return data


@dataclass(slots=True)
class Collector:
    """Exchanges and notes of a whole pytest run, fed by every `ApiSession` (from any thread)."""

    base_url: str | None = None
    exchanges: list[Exchange] = field(default_factory=list)
    notes: dict[str, list[str]] = field(default_factory=dict)
    redactor: Redactor = field(default_factory=Redactor)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add_exchange(self, exchange: Exchange) -> None:
        with self._lock:
            self.exchanges.append(exchange)

    def add_note(self, test_id: str, note: str) -> None:
        with self._lock:
            self.notes.setdefault(test_id, []).append(note)

    def exchanges_of(self, test_id: str) -> list[Exchange]:
        with self._lock:
            return [e for e in self.exchanges if e.test_id == test_id]


COLLECTOR_KEY = pytest.StashKey[Collector]()
