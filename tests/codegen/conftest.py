"""Shared, expensive fixtures of the codegen tests: the shop suite, compiled once, and one run of it
against the correct app and one against the app with every seeded bug (one server per app)."""

from __future__ import annotations

import json
from collections.abc import Iterator

import codegen_shop_app as shop
import codegen_shop_hypotheses as shop_hyps
import pytest
from codegen_support import ShopRuns, config_from_toml, run_suite

from crossfield._serving import serve_app
from crossfield.codegen import generate
from crossfield.spec import Api, load_spec_from_text


@pytest.fixture(scope="session")
def shop_api() -> Api:
    return load_spec_from_text(json.dumps(shop.create_app().openapi()), name="shop-openapi.json")


def _store_supported() -> bool:
    try:
        from crossfield.feedback import Store
    except ImportError:
        return False
    return hasattr(Store, "add_test_run")


@pytest.fixture(scope="session")
def shop_runs(shop_api: Api, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ShopRuns]:
    root = tmp_path_factory.mktemp("shop")
    suite_dir = root / "suite"
    config = config_from_toml(shop_hyps.SHOP_CONFIG)
    suite = generate([c.hypothesis for c in shop_hyps.cases()], shop_api, suite_dir, config=config)
    store = root / "store.duckdb" if _store_supported() else None
    runs = {}
    for name, bugs in (("correct", frozenset()), ("buggy", shop.BUGS)):
        extra = ["--crossfield-store", str(store)] if store is not None and name == "correct" else []
        with serve_app(shop.create_app(bugs)) as url:
            runs[name] = run_suite(
                suite_dir, url, report=root / f"{name}.json", extra_args=extra, env=shop_hyps.SHOP_ENV
            )
    yield ShopRuns(suite, suite_dir, runs["correct"], runs["buggy"], store)
