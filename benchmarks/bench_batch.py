"""Benchmark of batch runs (`crossfield run`): throughput with the heuristic judge, and how close an LLM
run over a fake endpoint comes to the ideal time.

    python benchmarks/bench_batch.py                      # everything
    python benchmarks/bench_batch.py --skip-llm           # heuristic only
    python benchmarks/bench_batch.py --corpus DIR --llm-corpus DIR --concurrency 4

1. `crossfield run ../shared/corpora --judge heuristic` exactly as a user types it (a subprocess), with a
   cold and then a warm spec cache: specs/second and the run's own summary table.
2. The same corpus through the Python API with the judge in worker threads vs worker processes, because
   the heuristic judge is CPU-bound and the GIL makes threads share one core.
3. An LLM run (`openai-compatible/fake`) against `crossfield.testing.fake_llm` with 0.5 s latency per
   request: wall time vs the ideal `calls x latency / concurrency`. Two corpora: many small specs (the
   runner's own overhead: one chunk each), and the shared corpora (where the judge's chunk preparation,
   CPU on the event loop, is part of the time). The judge is warmed up with one request first, so SDK
   imports are not billed to the run.

Figures depend on the machine; `uptime`'s load average is printed with them because a shared machine
skews every number.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from rich.console import Console

from crossfield.batch import render_summary, run

REPO = Path(__file__).resolve().parents[1]
CORPUS = REPO.parent / "shared" / "corpora"
LATENCY = 0.5


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", type=Path, default=CORPUS)
    parser.add_argument("--llm-corpus", type=Path, default=None, help="default: --corpus")
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--small-specs", type=int, default=40, help="size of the generated small-spec corpus")
    parser.add_argument("--skip-llm", action="store_true")
    parser.add_argument("--skip-heuristic", action="store_true")
    args = parser.parse_args()
    if not args.corpus.is_dir():
        sys.exit(f"no corpus at {args.corpus} (the shared corpora sit beside the repository)")
    print(f"load average: {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")
    with tempfile.TemporaryDirectory(prefix="crossfield-bench-") as tmp:
        root = Path(tmp)
        if not args.skip_heuristic:
            bench_heuristic_cli(args.corpus, root, args.concurrency)
            bench_heuristic_workers(args.corpus, root)
        if not args.skip_llm:
            small = _small_corpus(root / "small", args.small_specs)
            bench_llm(small, root / "llm-small", args.concurrency, "small specs (one chunk each)")
            bench_llm(args.llm_corpus or args.corpus, root / "llm-corpus", args.concurrency, "shared corpora")


def bench_heuristic_cli(corpus: Path, root: Path, concurrency: int) -> None:
    env = {**os.environ, "CROSSFIELD_CACHE_DIR": str(root / "cache")}
    for label in ("cold spec cache", "warm spec cache"):
        out, summary_file = root / f"cli-{label.split()[0]}", root / f"cli-{label.split()[0]}.json"
        cmd = [sys.executable, "-m", "crossfield", "run", str(corpus), "--judge", "heuristic", "--out", str(out),
               "--concurrency", str(concurrency), "--json", str(summary_file)]  # fmt: skip
        started = time.perf_counter()
        done = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
        wall = time.perf_counter() - started
        totals = json.loads(summary_file.read_text())["totals"]
        print(f"\n== crossfield run {corpus} --judge heuristic -c {concurrency} ({label})")
        print(done.stdout.rstrip())
        print(
            f"-> {totals['done']} specs in {totals['seconds']:.2f}s run time ({totals['specs_per_second']} specs/s), "
            f"{wall:.2f}s with interpreter start; {totals['hypotheses']} hypotheses; exit code {done.returncode}"
        )


def bench_heuristic_workers(corpus: Path, root: Path) -> None:
    print("\n== heuristic judge, warm spec cache: worker threads vs worker processes")
    os.environ["CROSSFIELD_CACHE_DIR"] = str(root / "cache")
    for workers, concurrency in (("threads", 1), ("threads", 2), ("threads", 4), ("processes", 2)):
        best = min(
            run([corpus], judge="heuristic", out=root / f"w-{workers}-{concurrency}-{i}", concurrency=concurrency,
                workers=workers, progress=False).seconds  # type: ignore[arg-type]
            for i in range(2)
        )  # fmt: skip
        specs = len(list((root / f"w-{workers}-{concurrency}-0").glob("*/hypotheses.json")))
        print(f"{workers:>9} x{concurrency}: {best:6.2f}s  {specs / best:5.2f} specs/s  (best of 2)")


def bench_llm(corpus: Path, root: Path, concurrency: int, label: str) -> None:
    from crossfield.testing.fake_llm import FakeLLMServer

    print(
        f"\n== LLM judge over {label}: openai-compatible/fake, {LATENCY}s latency, concurrency {concurrency}"
    )
    with FakeLLMServer(latency=LATENCY, max_lifetime=3600) as server:
        options: dict[str, Any] = {"base_url": server.openai_base_url, "cache": False}
        _warm_up(server.openai_base_url)
        before = server.stats()["requests"]
        summary = run([corpus], judge="openai-compatible/fake", out=root, concurrency=concurrency,
                      judge_options=options, progress=False)  # fmt: skip
        stats = server.stats()
    calls = stats["requests"] - before
    ideal = calls * LATENCY / concurrency
    render_summary(summary, Console(width=120))
    ratio = summary.seconds / ideal if ideal else float("nan")
    print(
        f"-> {calls} calls, max {stats['max_in_flight']} in flight; wall {summary.seconds:.2f}s vs ideal "
        f"{ideal:.2f}s (calls x {LATENCY}s / {concurrency}) = {ratio:.2f}x "
        f"({'within' if ratio <= 1.3 else 'NOT within'} 1.3x)"
    )


def _warm_up(base_url: str) -> None:
    """One request through a throwaway judge: SDK imports and client construction are paid here."""
    from crossfield.judgment.registry import make_judge
    from crossfield.spec import load_spec_from_text

    api = load_spec_from_text(json.dumps(_small_doc("warm-up")), name="warm.json")
    make_judge("openai-compatible/fake", base_url=base_url, cache=False).judge(api)


def _small_corpus(root: Path, n: int) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        (root / f"api{i:03d}.json").write_text(json.dumps(_small_doc(f"Small API {i}")), encoding="utf-8")
    return root


def _small_doc(title: str) -> dict[str, Any]:
    body = {
        "type": "object",
        "required": ["amount"],
        "properties": {"amount": {"type": "integer", "minimum": 1}, "discount": {"type": "integer"}},
    }
    item = {"type": "object", "properties": {"id": {"type": "string"}, "amount": {"type": "integer"}}}
    ok = {"description": "ok", "content": {"application/json": {"schema": item}}}
    return {
        "openapi": "3.0.3", "info": {"title": title, "version": "1"},
        "paths": {
            "/orders": {"post": {"operationId": "createOrder", "responses": {"201": ok},
                                 "requestBody": {"content": {"application/json": {"schema": body}}}}},
            "/orders/{id}": {"get": {"operationId": "getOrder", "responses": {"200": ok}, "parameters": [
                {"name": "id", "in": "path", "required": True, "schema": {"type": "string"}}]}},
        },
    }  # fmt: skip


if __name__ == "__main__":
    main()
