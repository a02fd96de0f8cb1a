"""Serving an ASGI app on a real socket for the duration of a `with` block.

Generated suites are meant to run against a real server (concurrency claims in particular need real
connections), so tests, the eval harness and notebooks start one here: uvicorn on 127.0.0.1, on a free
port picked by the OS (the socket is bound before the server starts, so there is no race for it), in a
background thread, stopped and joined on exit.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

__all__ = ["ServerError", "serve_app"]


class ServerError(RuntimeError):
    """The app could not be served (uvicorn missing, or the server did not start in time)."""


@contextmanager
def serve_app(
    app: Any,
    *,
    host: str = "127.0.0.1",
    startup_timeout: float = 15.0,
    log_level: str = "warning",
) -> Iterator[str]:
    """Run ASGI `app` with uvicorn and yield its base URL (`http://127.0.0.1:PORT`)."""
    try:
        import uvicorn
    except ImportError as exc:  # pragma: no cover - uvicorn ships with the bench/test extras
        raise ServerError("serving an app needs uvicorn: pip install 'crossfield[bench]'") from exc
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        log_level=log_level,
        access_log=False,
        ws="none",
        lifespan="auto",
        timeout_graceful_shutdown=2,
    )
    server = uvicorn.Server(config)
    failure: list[BaseException] = []

    def run() -> None:
        try:
            server.run(sockets=[sock])
        except BaseException as exc:  # reported to the caller below
            failure.append(exc)

    thread = threading.Thread(target=run, name=f"crossfield-serve-{port}", daemon=True)
    thread.start()
    deadline = time.monotonic() + startup_timeout
    while not server.started:
        if failure or not thread.is_alive():
            sock.close()
            raise ServerError(
                f"the app did not start on {host}:{port}: {failure[0] if failure else 'server exited'}"
            )
        if time.monotonic() > deadline:
            server.should_exit = True
            thread.join(5)
            sock.close()
            raise ServerError(f"the app did not start on {host}:{port} within {startup_timeout} s")
        time.sleep(0.01)
    try:
        yield f"http://{host}:{port}"
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()
