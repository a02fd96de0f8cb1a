"""The crossfield pytest plugin (entry point `pytest11: crossfield`).

It is loaded into every pytest run wherever crossfield is installed, so it does nothing unless asked:
importing it has no side effects, it defines no fixtures, and without `--crossfield-store` or
`--crossfield-report` it only adds its options and registers the `crossfield` marker. With one of them,
a reporter records every test outcome and every HTTP exchange (secrets already redacted) and writes
them at the end of the run.

Options:
  --base-url URL             the API under test (else CROSSFIELD_BASE_URL, else base_url in crossfield.toml)
  --crossfield-config FILE   crossfield.toml with identities (else the one next to the suite)
  --crossfield-store PATH    record outcomes and exchanges in the feedback store
  --crossfield-report FILE   write a JSON report (per test: hypothesis, outcome, duration, message, exchanges)
"""

from __future__ import annotations

import contextlib

import pytest

from crossfield.codegen._recording import COLLECTOR_KEY, MARKER_HELP

__all__ = ["pytest_addoption", "pytest_configure"]


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("crossfield", "crossfield generated API tests")
    # Another plugin (pytest-base-url) may define --base-url already; its value is then read the same way.
    with contextlib.suppress(ValueError):
        group.addoption(
            "--base-url",
            dest="base_url",
            default=None,
            metavar="URL",
            help="base URL of the API under test (else $CROSSFIELD_BASE_URL, else base_url in crossfield.toml)",
        )
    group.addoption(
        "--crossfield-config",
        dest="crossfield_config",
        default=None,
        metavar="FILE",
        help="crossfield.toml with identities and base_url (else the nearest one to the suite)",
    )
    group.addoption(
        "--crossfield-store",
        dest="crossfield_store",
        default=None,
        metavar="PATH",
        help="record every test outcome and HTTP exchange (secrets redacted) in this crossfield feedback store",
    )
    group.addoption(
        "--crossfield-report",
        dest="crossfield_report",
        default=None,
        metavar="FILE",
        help="write a JSON report: per test its hypothesis id, outcome, duration, failure message and exchanges",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", MARKER_HELP)
    store = config.getoption("crossfield_store", default=None)
    report = config.getoption("crossfield_report", default=None)
    if not store and not report:
        return
    if hasattr(config, "workerinput"):
        # A pytest-xdist worker: the controller writes the report (from the test reports it receives);
        # exchanges are recorded per process, so they are only complete in a run without -n.
        return
    from crossfield.codegen._reporting import RunReporter, check_store_available

    if store:
        check_store_available()
    reporter = RunReporter(
        config, store=str(store) if store else None, report=str(report) if report else None
    )
    config.stash[COLLECTOR_KEY] = reporter.collector
    config.pluginmanager.register(reporter, "crossfield-reporter")
