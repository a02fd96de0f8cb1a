"""The small library generated tests import.

Generated code only says *what* each step sends and expects; everything mechanical lives here, so a
suite stays short enough to review and every suite behaves the same way:

* `ApiSession` (the `api` fixture): `call`, `repeat`, `concurrent`, `walk`, `unique`; it adds identity
  headers, records every exchange with secrets redacted, fails on any 5xx, and checks every response
  against the spec's schema for its status (drift fails, an undocumented status is a note).
* `Response`, `Group`, `Walk`: what steps return, with `capture`, `sent` and the `expect_*` checks.
* `Paging`: how a list is walked.
* `SpecBook`, `suite_settings`, `open_session`: what the generated `conftest.py` wires together.
"""

from __future__ import annotations

from crossfield.codegen._checks import MISSING, CrossfieldFailure, pointer_get
from crossfield.codegen._paging import Paging
from crossfield.codegen._recording import Exchange
from crossfield.codegen._redact import REDACTED, Redactor
from crossfield.codegen._results import Claim, Group, Response, SentRequest, Walk
from crossfield.codegen._session import NO_BODY, ApiSession
from crossfield.codegen._spec_book import SCHEMAS_FILE_NAME, Drift, SpecBook
from crossfield.codegen._suite import (
    MARKER,
    MARKER_HELP,
    Settings,
    open_session,
    quota_tests_last,
    suite_settings,
)

__all__ = [
    "MARKER",
    "MARKER_HELP",
    "MISSING",
    "NO_BODY",
    "REDACTED",
    "SCHEMAS_FILE_NAME",
    "ApiSession",
    "Claim",
    "CrossfieldFailure",
    "Drift",
    "Exchange",
    "Group",
    "Paging",
    "Redactor",
    "Response",
    "SentRequest",
    "Settings",
    "SpecBook",
    "Walk",
    "open_session",
    "pointer_get",
    "quota_tests_last",
    "suite_settings",
]
