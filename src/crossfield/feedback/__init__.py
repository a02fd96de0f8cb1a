"""The feedback store: every judge run, hypothesis, review decision, generated test and test result in one
append-only DuckDB file — the audit trail of what crossfield proposed and what people decided, and the
source of training data.

    from crossfield.feedback import Store
    with Store.open("crossfield.duckdb") as store:
        run_id = store.record_judge_run(result)
        for h in store.hypotheses(run=run_id, status="undecided", as_="models"):
            store.decide(h.id, "accept", reviewer="ana")
        accepted = store.accepted_hypotheses()

The schema is documented in docs/store-schema.md.
"""

from crossfield._secrets import REDACTED
from crossfield.feedback._decide import Action, Decision, RejectReason
from crossfield.feedback._prompts import FALLBACK_SYSTEM, RenderedPrompt
from crossfield.feedback._redact import redact_headers, redact_url
from crossfield.feedback._schema import ACTIONS, MIGRATIONS, REJECT_REASONS, SCHEMA_VERSION
from crossfield.feedback.errors import (
    SpecUnavailableError,
    StoreError,
    StoreLockedError,
    UnknownHypothesisError,
)
from crossfield.feedback.export import EXPORT_FORMATS, ExportFilters, ExportSummary, export
from crossfield.feedback.store import STATUSES, Store, default_store_path

__all__ = [
    "ACTIONS",
    "EXPORT_FORMATS",
    "FALLBACK_SYSTEM",
    "MIGRATIONS",
    "REDACTED",
    "REJECT_REASONS",
    "SCHEMA_VERSION",
    "STATUSES",
    "Action",
    "Decision",
    "ExportFilters",
    "ExportSummary",
    "RejectReason",
    "RenderedPrompt",
    "SpecUnavailableError",
    "Store",
    "StoreError",
    "StoreLockedError",
    "UnknownHypothesisError",
    "default_store_path",
    "export",
    "redact_headers",
    "redact_url",
]
