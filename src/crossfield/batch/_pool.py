"""Worker processes for CPU-bound judges (the heuristic judge): the GIL lets threads share one core, and
a corpus with a few large specs (Stripe: ~2 s of judging each) is then no faster with 4 threads than with
one — measured slower. Processes use every core.

Each worker builds its own judge from the run's judge string once (a judge object is not sent over a
pipe), ignores SIGINT (a terminal's Ctrl-C reaches the whole process group; the parent decides what
stopping means) and is terminated when the run stops. `multiprocessing.Pool` rather than
`ProcessPoolExecutor` because only the former can terminate busy workers, which is what Ctrl-C needs.
"""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing
import signal
from collections.abc import Mapping
from dataclasses import replace
from multiprocessing.pool import Pool
from pathlib import Path
from typing import Any

from crossfield.batch._work import Job, Worked, work_sync
from crossfield.judgment.base import Judge
from crossfield.spec.model import Api, Operation

_judge: Judge | None = None


def _init(spec: str, options: Mapping[str, Any]) -> None:
    global _judge
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    from crossfield.judgment.registry import make_judge

    _judge = make_judge(spec, **options)


def _work(job: Job, out: Path, codegen: bool) -> Worked:
    assert _judge is not None
    worked = work_sync(job, _judge, out=out, codegen=codegen, stopping=None)
    prepared = worked.prepared
    slim = transport_api(prepared.api)
    if prepared.scope is not None:
        kept = {op.id for op in prepared.judged.operations}
        judged = replace(slim, operations=tuple(op for op in slim.operations if op.id in kept))
        worked.prepared = replace(
            prepared, api=slim, judged=judged, scope=replace(prepared.scope, api=judged)
        )
    else:
        worked.prepared = replace(prepared, api=slim, judged=slim)
    if worked.result is not None:
        worked.result.api = worked.prepared.judged
    return worked


def transport_api(api: Api) -> Api:
    """What the parent process needs of a worker's `Api`: its identity and, per operation, the request
    fields and response statuses (the store's per-spec operation summary). Response fields and schemas,
    most of a large spec, stay in the worker: pickling Stripe's whole model costs ~1 s in the parent."""
    return replace(api, schema_defs={}, operations=tuple(_slim(op) for op in api.operations))


def _slim(op: Operation) -> Operation:
    fields = tuple(
        replace(f, schema={}, examples=(), description="") for f in op.fields if f.location != "response"
    )
    responses = tuple(replace(r, content={}, links={}) for r in op.responses)
    return replace(op, fields=fields, responses=responses, request_body={}, description="")


class ProcessPool:
    """A pool of judge workers whose results are awaitable on the run's event loop."""

    def __init__(self, processes: int, judge_spec: str, options: Mapping[str, Any]) -> None:
        # fork where there is one: workers start in milliseconds with every module already imported, and a
        # caller's script needs no `if __name__ == "__main__"` guard (spawn re-imports it in each worker).
        # The runner creates the pool before it starts any thread of its own.
        method = "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"
        ctx = multiprocessing.get_context(method)
        self._pool: Pool = ctx.Pool(processes, initializer=_init, initargs=(judge_spec, dict(options)))

    async def work(self, job: Job, *, out: Path, codegen: bool) -> Worked:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Worked] = loop.create_future()

        def deliver(value: Worked | None, exc: BaseException | None) -> None:
            # runs on the pool's result thread; after a Ctrl-C the loop may be gone, and the result with it
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(_settle, future, value, exc)

        def done(value: Worked) -> None:
            deliver(value, None)

        def failed(exc: BaseException) -> None:
            deliver(None, exc)

        self._pool.apply_async(_work, (job, out, codegen), callback=done, error_callback=failed)
        return await future

    def close(self, *, terminate: bool) -> None:
        if terminate:
            self._pool.terminate()
        else:
            self._pool.close()
        self._pool.join()


def _settle(future: asyncio.Future[Worked], value: Worked | None, exc: BaseException | None) -> None:
    if future.done():
        return
    if exc is not None:
        future.set_exception(exc)
    else:
        assert value is not None
        future.set_result(value)
