"""What a generated `conftest.py` calls: run-wide settings and one recording session per test.

Resolution order, so a suite runs the same in CI and on a laptop:
base URL: `--base-url`, then `CROSSFIELD_BASE_URL`, then `base_url` in the configuration;
configuration: `--crossfield-config`, then `CROSSFIELD_CONFIG`, then the nearest `crossfield.toml`
(or `pyproject.toml` with `[tool.crossfield]`) in the suite's directory or above.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from crossfield.codegen._identities import IdentityBook
from crossfield.codegen._recording import COLLECTOR_KEY, MARKER, MARKER_HELP, Collector
from crossfield.codegen._redact import Redactor
from crossfield.codegen._results import Claim
from crossfield.codegen._session import ApiSession
from crossfield.codegen._spec_book import SpecBook
from crossfield.codegen.config import Config, expand_env, find_config, load_config

__all__ = ["MARKER", "MARKER_HELP", "Settings", "open_session", "quota_tests_last", "suite_settings"]


@dataclass(slots=True)
class Settings:
    """Everything one pytest run shares across tests: where the API is, who calls it, what to record."""

    base_url: str | None
    config: Config
    redactor: Redactor
    identities: IdentityBook
    collector: Collector | None = None
    lanes: Iterator[int] = field(default_factory=itertools.count)
    """one number per test, in run order: `ApiSession.lane`"""


def suite_settings(config: pytest.Config, suite_dir: str | Path) -> Settings:
    """Settings for the suite in `suite_dir`, from the command line, the environment and crossfield.toml."""
    collector = config.stash.get(COLLECTOR_KEY, None)
    redactor = collector.redactor if collector is not None else Redactor()
    option = config.getoption("crossfield_config", default=None) or os.environ.get("CROSSFIELD_CONFIG")
    config_path = Path(str(option)) if option else find_config(suite_dir)
    loaded = load_config(config_path) if config_path is not None else Config()
    base_url = config.getoption("base_url", default=None) or os.environ.get("CROSSFIELD_BASE_URL")
    if not base_url and loaded.base_url:
        base_url = expand_env(loaded.base_url, f"{loaded.source}: base_url")
    base_url = str(base_url) if base_url else None
    if collector is not None and base_url and collector.base_url is None:
        collector.base_url = base_url
    return Settings(
        base_url=base_url,
        config=loaded,
        redactor=redactor,
        identities=IdentityBook(loaded, redactor),
        collector=collector,
    )


def quota_tests_last(items: list[pytest.Item]) -> None:
    """Move the tests that exhaust a rate limit (marked `quota=True`) to the end of the run, keeping the
    order of the others: run first, a burst of calls would leave every later test's setup throttled."""
    items.sort(
        key=lambda item: bool((m := item.get_closest_marker(MARKER)) is not None and m.kwargs.get("quota"))
    )


@contextmanager
def open_session(request: pytest.FixtureRequest, settings: Settings, spec: SpecBook) -> Iterator[ApiSession]:
    """The `ApiSession` of one test: tagged with its hypothesis, recording to the run's collector."""
    if not settings.base_url:
        pytest.fail(
            "crossfield: no base URL for the API under test; pass --base-url URL, set CROSSFIELD_BASE_URL, "
            "or set base_url in crossfield.toml",
            pytrace=False,
        )
    marker = request.node.get_closest_marker(MARKER)
    kwargs = marker.kwargs if marker is not None else {}
    claim = Claim(
        hypothesis_id=str(kwargs.get("hypothesis", "")),
        text=str(kwargs.get("claim", "")),
        test_id=request.node.nodeid,
    )
    collector = settings.collector
    session = ApiSession(
        settings.base_url,
        spec=spec,
        identities=settings.identities,
        claim=claim,
        recorder=collector.add_exchange if collector is not None else None,
        redactor=settings.redactor,
        timeout=settings.config.timeout,
        lane=next(settings.lanes),
    )
    try:
        yield session
    finally:
        session.close()
        for note in session.notes:
            request.node.user_properties.append(("crossfield_note", note))
            if collector is not None:
                collector.add_note(claim.test_id, note)
