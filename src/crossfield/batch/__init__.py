"""Batch runs: judge (and compile) every spec of a corpus, unattended and resumable, and changed-operations
runs across two versions of an API (`since=(old, new)`).

    from crossfield.batch import run
    summary = run(["specs/"], judge="heuristic", out="out/", store="crossfield.duckdb", codegen=True)
    print(summary.totals())
"""

from crossfield.batch._discover import DiscoveryError, SpecFile, discover
from crossfield.batch._manifest import MANIFEST_NAME, RunKey
from crossfield.batch._progress import NoProgress, RichProgress, RunProgress
from crossfield.batch._runner import CHANGES_FILE, HYPOTHESES_FILE, TESTS_DIR, run
from crossfield.batch._since import ChangeScope, change_scope, tag_hypotheses
from crossfield.batch.summary import RunSummary, SpecOutcome, SpecStatus, render_summary

__all__ = [
    "CHANGES_FILE",
    "HYPOTHESES_FILE",
    "MANIFEST_NAME",
    "TESTS_DIR",
    "ChangeScope",
    "DiscoveryError",
    "NoProgress",
    "RichProgress",
    "RunKey",
    "RunProgress",
    "RunSummary",
    "SpecFile",
    "SpecOutcome",
    "SpecStatus",
    "change_scope",
    "discover",
    "render_summary",
    "run",
    "tag_hypotheses",
]
