"""`crossfield.run`: judge (and optionally compile) every spec of a corpus, unattended and resumable.

The shape of a run:

- The main thread plans (discovery, content hashes, what the manifest or the store says is already done),
  then drives an asyncio loop. One writer thread alone puts outputs in place and writes the manifest and
  the store: DuckDB allows one writer, one writer keeps the manifest honest, and the loop never waits on
  an fsync or a store insert while requests could be in flight.
- Per spec, loading and the judge run off the main thread: LLM judges through `ajudge` on the loop (the
  shared backend bounds the requests in flight across specs and chunks), synchronous judges in a thread
  pool. At most `concurrency` specs are in flight.
- One spec's failure (not loadable, judge error) becomes its outcome and the run goes on.
- Ctrl-C cancels what is in flight; what finished is already in place (each spec's outputs are written
  atomically, the manifest entry last), temporary files are swept, and the summary says what remains.
  Running the same command again resumes: specs whose run key is in the manifest are skipped.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import threading
import time
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any, Literal

from pydantic import ValidationError

from crossfield.batch._discover import SpecFile, discover, name_specs
from crossfield.batch._judges import ResolvedJudge, close_judge, resolve_judge
from crossfield.batch._manifest import Manifest, RunKey
from crossfield.batch._outputs import atomic_write_json, replace_dir, sweep
from crossfield.batch._pool import ProcessPool
from crossfield.batch._progress import NoProgress, RichProgress, RunProgress
from crossfield.batch._work import Job, Stopped, Worked, compile_tests, conclude, prepare, work_sync
from crossfield.batch.summary import RunSummary, SpecOutcome
from crossfield.errors import ConfigError, SpecError
from crossfield.judgment.base import Judge
from crossfield.judgment.models import HypothesisSet

HYPOTHESES_FILE = "hypotheses.json"
CHANGES_FILE = "changes.json"
TESTS_DIR = "tests"
STORE_KEY = "crossfield_run_key"


def run(
    paths: Sequence[str | os.PathLike[str]] = (),
    *,
    judge: str | Judge,
    out: str | os.PathLike[str],
    store: str | os.PathLike[str] | Any | None = None,
    prompt: str | None = None,
    concurrency: int = 4,
    codegen: bool = False,
    since: tuple[str | os.PathLike[str], str | os.PathLike[str]] | None = None,
    batch_api: bool = False,
    json_summary: str | os.PathLike[str] | None = None,
    judge_options: Mapping[str, Any] | None = None,
    progress: RunProgress | bool = True,
    workers: Literal["auto", "threads", "processes"] = "auto",
    batch_poll_interval: float = 30.0,
) -> RunSummary:
    """Judge every spec under `paths` (files, directories, globs) and write `out/<spec-name>/hypotheses.json`
    (and `tests/` with `codegen=True`); log each judge run to `store` (a path or an open `Store`) when given.

    `judge` is a spec string for `make_judge` ("heuristic", "provider/model") or a judge object. `since=(old,
    new)` judges only what changed from `old` to `new` (`paths` must then be empty). `batch_api=True` sends
    every chunk of every spec as one provider batch. Returns the `RunSummary` (also written to
    `json_summary`); a Ctrl-C returns it too, with `interrupted` set, instead of raising.

    `workers` says where synchronous judges run: "processes" (one judge per worker process; needs `judge`
    as a string) or "threads"; "auto" picks processes for a string-named synchronous judge (the heuristic
    judge is CPU-bound) when more than one spec is to be judged with `concurrency` > 1."""
    if concurrency < 1:
        raise ConfigError("concurrency must be at least 1")
    if since is not None and paths:
        raise ConfigError("--since OLD NEW judges NEW only: give no other spec paths")
    if since is None and not paths:
        raise ConfigError("no spec paths given")
    runner = _Run(
        judge=judge, out=Path(out), store=store, prompt=prompt, concurrency=concurrency, codegen=codegen,
        since=(Path(since[0]), Path(since[1])) if since else None, batch_api=batch_api,
        judge_options=judge_options, progress=progress, workers=workers,
        batch_poll_interval=batch_poll_interval,
    )  # fmt: skip
    summary = runner.execute(paths)
    if json_summary is not None:
        atomic_write_json(Path(json_summary), summary.to_dict())
    return summary


class _Run:
    def __init__(
        self,
        *,
        judge: str | Judge,
        out: Path,
        store: str | os.PathLike[str] | Any | None,
        prompt: str | None,
        concurrency: int,
        codegen: bool,
        since: tuple[Path, Path] | None,
        batch_api: bool,
        judge_options: Mapping[str, Any] | None,
        progress: RunProgress | bool,
        workers: Literal["auto", "threads", "processes"],
        batch_poll_interval: float = 30.0,
    ) -> None:
        if workers == "processes" and not isinstance(judge, str):
            raise ConfigError("worker processes build their own judge: give the judge as a string")
        self.judge_arg = judge
        self.out = out
        self.store_arg = store
        self.prompt = prompt
        self.concurrency = concurrency
        self.codegen = codegen
        self.since = since
        self.batch_api = batch_api
        self.judge_options = judge_options
        if isinstance(progress, bool):
            self.progress: RunProgress = RichProgress() if progress else NoProgress()
        else:
            self.progress = progress
        self.stopping = threading.Event()
        self.interrupted = False
        self.outcomes: dict[str, SpecOutcome] = {}
        self.store: Any = None
        self.judge: ResolvedJudge | None = None
        self.workers = workers
        self.batch_poll_interval = batch_poll_interval
        self.pool: ProcessPool | None = None
        self.out.mkdir(parents=True, exist_ok=True)
        sweep(self.out)  # what a killed run left behind
        self.manifest = Manifest(self.out)
        self.executor = ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="crossfield-run")
        # the one writer: outputs into place, manifest, store (DuckDB takes one writer; fsync and store
        # inserts then overlap with the loop's I/O instead of stalling it)
        self.writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="crossfield-writer")

    # ---- the whole run --------------------------------------------------------------------------------

    def execute(self, paths: Sequence[str | os.PathLike[str]]) -> RunSummary:
        started, clock = datetime.now(UTC), time.perf_counter()
        self.judge = resolve_judge(
            self.judge_arg, prompt=self.prompt, concurrency=self.concurrency, options=self.judge_options
        )
        summary = RunSummary(
            judge=self.judge.label, out=str(self.out), prompt=self.judge.prompt, concurrency=self.concurrency,
            since=(str(self.since[0]), str(self.since[1])) if self.since else None, started_at=started.isoformat(),
        )  # fmt: skip
        specs = (
            discover(paths, exclude=[self.out])
            if self.since is None
            else name_specs([self.since[1].resolve()])
        )
        self.store = self._open_store()
        if self.store is not None:
            summary.store = str(getattr(self.store, "path", self.store_arg))
        try:
            jobs = [job for spec in specs if (job := self._plan(spec)) is not None]
            if self._use_processes(jobs):  # before any thread of ours runs: the workers are forked
                assert isinstance(self.judge_arg, str)
                processes = min(self.concurrency, len(jobs), os.cpu_count() or 1)
                self.pool = ProcessPool(processes, self.judge_arg, self._worker_options())
            self.progress.start(len(specs))
            if jobs:
                _run_loop(self._main(jobs))
        except KeyboardInterrupt:
            summary.interrupted = True
        finally:
            self.stopping.set()
            if self.pool is not None:
                self.pool.close(terminate=True)  # all work is collected, or the run is stopping
            self.executor.shutdown(wait=True, cancel_futures=True)
            self.writer.shutdown(wait=True, cancel_futures=True)  # a spec being written is finished
            sweep(self.out)
            self.progress.close()
        summary.interrupted = summary.interrupted or self.interrupted
        for spec in specs:
            outcome = self.outcomes.get(spec.name) or SpecOutcome(
                str(spec.path),
                spec.name,
                "interrupted",
                reason="the run was stopped before this spec finished",
            )
            summary.specs.append(outcome)
        summary.finished_at = datetime.now(UTC).isoformat()
        summary.seconds = time.perf_counter() - clock
        return summary

    def _use_processes(self, jobs: list[Job]) -> bool:
        assert self.judge is not None
        if self.workers != "auto":
            return self.workers == "processes"
        judged = sum(1 for j in jobs if j.reuse is None)
        sync = self.judge.ajudge is None and not self.batch_api
        cores = os.cpu_count() or 1
        return isinstance(self.judge_arg, str) and sync and min(self.concurrency, cores) > 1 and judged > 1

    def _worker_options(self) -> dict[str, Any]:
        options = dict(self.judge_options or {})
        if self.prompt is not None:
            options.setdefault("prompt", self.prompt)
        return options

    def _open_store(self) -> Any:
        if self.store_arg is None:
            return None
        if hasattr(self.store_arg, "record_judge_run"):
            return self.store_arg
        from crossfield.feedback import Store

        return Store.open(self.store_arg)

    # ---- planning: what is already done ------------------------------------------------------------------

    def _plan(self, spec: SpecFile) -> Job | None:
        """The job for `spec`, or None when there is nothing to do (its outcome is then recorded)."""
        assert self.judge is not None
        try:
            spec_hash = hashlib.sha256(spec.path.read_bytes()).hexdigest()
            old_hash = hashlib.sha256(self.since[0].read_bytes()).hexdigest() if self.since else None
        except OSError as exc:
            self.record(SpecOutcome(str(spec.path), spec.name, "not-loadable", reason=f"cannot read: {exc}"))
            return None
        key = RunKey(spec_hash, self.judge.key, self.judge.prompt, old_hash, self.judge.version)
        job = Job(spec, key, since_old=self.since[0] if self.since else None)
        spec_dir = self.out / spec.name
        entry = self.manifest.done(spec.name, key)
        hyp_file = spec_dir / HYPOTHESES_FILE
        if entry is not None and hyp_file.is_file():
            if not self.codegen or (entry.get("tests") is not None and (spec_dir / TESTS_DIR).is_dir()):
                self.record(_skipped(spec, spec_hash, entry))
                return None
            try:  # done before without tests: compile from the saved hypotheses, no judge
                job.reuse = HypothesisSet.model_validate_json(hyp_file.read_text(encoding="utf-8")).hypotheses
                job.reuse_source = "manifest"
            except (OSError, ValidationError, ValueError):
                job.reuse = None
        elif self.store is not None:
            run_id = self._stored_run(key)
            if run_id is not None:
                job.reuse = self.store.hypotheses(run=run_id, as_="models")
                job.reuse_source = f"store run {run_id}"
        return job

    def _stored_run(self, key: RunKey) -> str | None:
        rows = self.store.sql(
            "SELECT run_id FROM judge_runs WHERE spec_hash = ? AND json_extract_string(parameters, ?) = ? "
            "ORDER BY recorded_at DESC LIMIT 1",
            [key.spec_hash, f"$.{STORE_KEY}", key.digest()],
        )
        return str(rows[0]["run_id"]) if rows else None

    # ---- the loop ------------------------------------------------------------------------------------

    async def _main(self, jobs: list[Job]) -> None:
        assert self.judge is not None
        if self.batch_api:
            from crossfield.batch._batch_api import run_batch_api

            tasks = [asyncio.create_task(run_batch_api(self, jobs))]
        else:
            sem = asyncio.Semaphore(self.concurrency)
            tasks = [asyncio.create_task(self.one(job, sem)) for job in jobs]
        try:
            await asyncio.gather(*tasks)
        except asyncio.CancelledError:  # Ctrl-C: asyncio.run cancels this task
            self.interrupted = True
            self.stopping.set()
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
        finally:
            if isinstance(self.judge_arg, str):
                await close_judge(self.judge.judge)

    async def one(self, job: Job, sem: asyncio.Semaphore) -> None:
        async with sem:
            if self.stopping.is_set():
                return
            try:
                worked = await self._work(job)
            except Stopped:
                return
            except SpecError as exc:
                self.record(SpecOutcome(str(job.spec.path), job.spec.name, "not-loadable", reason=str(exc),
                                         spec_hash=job.key.spec_hash))  # fmt: skip
                return
            except Exception as exc:  # one spec's failure is its outcome; the run goes on
                self.record(self.failed(job, exc))
                return
            await self.put_in_place(job, worked)

    async def _work(self, job: Job) -> Worked:
        assert self.judge is not None
        loop = asyncio.get_running_loop()
        if self.pool is not None:
            return await self.pool.work(job, out=self.out, codegen=self.codegen)
        ajudge = self.judge.ajudge
        if ajudge is None or job.reuse is not None:
            fn = partial(
                work_sync, job, self.judge.judge, out=self.out, codegen=self.codegen, stopping=self.stopping
            )
            return await loop.run_in_executor(self.executor, fn)
        started = time.perf_counter()
        prepared = await loop.run_in_executor(self.executor, prepare, job)
        result = await ajudge(prepared.judged)
        worked = Worked(
            prepared, result, conclude(prepared, result), operations=len(prepared.judged.operations)
        )
        if self.codegen:
            spec_dir = self.out / job.spec.name
            compile_fn = partial(compile_tests, worked.hypotheses, prepared.api, spec_dir)
            worked.staging, worked.tests = await loop.run_in_executor(self.executor, compile_fn)
        worked.seconds = time.perf_counter() - started
        return worked

    # ---- putting a spec's outputs in place (the writer thread only) ------------------------------------

    async def put_in_place(self, job: Job, worked: Worked) -> None:
        """`finish` on the writer thread. Once started it completes even if the run is interrupted, so a
        spec is either wholly in place (manifest entry included) or not at all."""
        await asyncio.get_running_loop().run_in_executor(self.writer, self.finish, job, worked)

    def finish(self, job: Job, worked: Worked) -> None:
        """Move the outputs of a worked spec into place, log it to the store, record it in the manifest."""
        try:
            outcome = self._finish(job, worked)
        except Exception as exc:
            outcome = self.failed(job, exc)
        self.record(outcome)

    def _finish(self, job: Job, worked: Worked) -> SpecOutcome:
        spec, api, result = job.spec, worked.prepared.api, worked.result
        spec_dir = self.out / spec.name
        outputs: list[str] = []
        if worked.staging is not None:
            replace_dir(worked.staging, spec_dir / TESTS_DIR)
            outputs.append(f"{spec.name}/{TESTS_DIR}")
        if result is not None:
            hset = result.to_set()
        else:
            hset = HypothesisSet(spec_path=api.source_path, spec_hash=api.content_hash, api_title=api.title,
                                 api_version=api.version, hypotheses=worked.hypotheses)  # fmt: skip
        atomic_write_json(spec_dir / HYPOTHESES_FILE, hset.model_dump(mode="json"))
        outputs.insert(0, f"{spec.name}/{HYPOTHESES_FILE}")
        scope = worked.prepared.scope
        if scope is not None:
            changes = {**scope.diff.to_dict(), "changed_operations": list(scope.changed),
                       "linked_operations": list(scope.linked)}  # fmt: skip
            atomic_write_json(spec_dir / CHANGES_FILE, changes)
            outputs.append(f"{spec.name}/{CHANGES_FILE}")
        run_id = None
        if self.store is not None and result is not None:
            result.api = api  # the store describes a spec hash by the whole spec, even when a part was judged
            result.parameters[STORE_KEY] = job.key.digest()
            result.parameters.setdefault("batch", {"out": str(self.out), "spec_name": spec.name})
            run_id = self.store.record_judge_run(result)
        if self.store is not None and worked.tests:
            self.store.add_generated_tests(worked.tests, suite_dir=spec_dir / TESTS_DIR)
        usage = result.usage if result is not None else {}
        outcome = SpecOutcome(
            path=str(spec.path), name=spec.name, status="done", spec_hash=api.content_hash, title=api.title,
            operations=worked.operations, hypotheses=len(worked.hypotheses),
            dropped=int(usage.get("dropped", 0)), calls=int(usage.get("calls", 0)),
            input_tokens=int(usage.get("input_tokens", 0)), output_tokens=int(usage.get("output_tokens", 0)),
            cost_usd=float(usage.get("cost_usd", 0.0)), failed_chunks=int(usage.get("failed_chunks", 0)),
            seconds=round(worked.seconds, 3), tests=len(worked.tests) if worked.tests is not None else None,
            run_id=run_id, outputs=outputs,
            changes=len(scope.diff.changes) if scope is not None else None,
            reason=f"reused hypotheses from the {job.reuse_source}" if job.reuse_source else None,
        )  # fmt: skip
        if result is not None and result.chunk_errors:
            # partial output is kept, but the spec is not done: a re-run judges it again
            first = next(iter(result.chunk_errors.items()))
            outcome.status = "failed"
            outcome.reason = f"{len(result.chunk_errors)} chunk(s) failed; {first[0]}: {first[1]}"
            return outcome
        entry = {k: v for k, v in outcome.to_dict().items() if k not in ("status", "reason")}
        self.manifest.record(spec.name, job.key, entry)
        return outcome

    def failed(self, job: Job, exc: BaseException) -> SpecOutcome:
        reason = str(exc) if isinstance(exc, SpecError) else f"{type(exc).__name__}: {exc}"
        return SpecOutcome(
            str(job.spec.path), job.spec.name, "failed", reason=reason, spec_hash=job.key.spec_hash
        )

    def record(self, outcome: SpecOutcome) -> None:
        self.outcomes[outcome.name] = outcome
        self.progress.advance(outcome)


def _skipped(spec: SpecFile, spec_hash: str, entry: Mapping[str, Any]) -> SpecOutcome:
    return SpecOutcome(
        path=str(spec.path), name=spec.name, status="skipped", reason="already done (same spec, judge and prompt)",
        spec_hash=spec_hash, title=entry.get("title"), operations=int(entry.get("operations", 0)),
        hypotheses=int(entry.get("hypotheses", 0)), tests=entry.get("tests"), outputs=list(entry.get("outputs", [])),
    )  # fmt: skip


def _run_loop(coro: Any) -> None:
    """`asyncio.run`, also from a thread that already runs a loop (a notebook): there it runs the run on a
    fresh thread, where Ctrl-C is the notebook's business, not ours."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        asyncio.run(coro)
        return
    with ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(asyncio.run, coro).result()
