"""`serve_app`: a real server on a free port for as long as the `with` block lasts."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import pytest
from fastapi import FastAPI

from crossfield._serving import ServerError, serve_app


def test_serves_and_stops() -> None:
    app = FastAPI()

    @app.get("/ping")
    async def ping() -> dict[str, str]:
        return {"pong": "yes"}

    with serve_app(app) as url:
        assert url.startswith("http://127.0.0.1:")
        assert httpx.get(f"{url}/ping").json() == {"pong": "yes"}
        with serve_app(app) as other:
            assert other != url, "each server gets its own free port"
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{url}/ping", timeout=2)


def test_an_app_that_cannot_start_is_an_error() -> None:
    @asynccontextmanager
    async def broken(app: FastAPI) -> AsyncIterator[None]:
        raise RuntimeError("no database")
        yield

    with (
        pytest.raises(ServerError, match="did not start"),
        serve_app(FastAPI(lifespan=broken), startup_timeout=5),
    ):
        pass
