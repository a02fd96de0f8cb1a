"""Feedback-store benchmark: record 100,000 hypotheses and 100,000 decisions in batches, then export them
in every format, printing the time each step took.

    python benchmarks/bench_store.py                 # 100,000 decisions, batches of 10,000
    python benchmarks/bench_store.py --n 20000 --batch 5000 --keep /tmp/bench.duckdb

Half the judge runs look like an LLM's (a rendered prompt per chunk, so the exports join real prompts),
half like the heuristic judge's (exports build the fallback prompt). Decisions are 70% accept, 20% reject
(with a reason) and 10% rewrite (each rewrite validated and grounded against the spec, as in review).
"""

from __future__ import annotations

import argparse
import resource
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from crossfield.feedback import EXPORT_FORMATS, Decision, RenderedPrompt, Store, export
from crossfield.judgment.base import JudgeResult, LLMCall
from crossfield.judgment.models import (
    Body,
    Capture,
    CapturedValue,
    Category,
    FieldRef,
    Hypothesis,
    HypothesisDraft,
    LiteralValue,
    Provenance,
    Severity,
    StatusExpectation,
    Step,
)
from crossfield.spec import Api, load_spec

T = TypeVar("T")
ROOT = Path(__file__).resolve().parents[1]
SPEC = ROOT / "datasets" / "targets" / "payments" / "openapi.yaml"
CHUNKS = 50
CATEGORIES = [
    Category.ARITHMETIC_INVARIANT,
    Category.STATE_TRANSITION,
    Category.IDEMPOTENCY,
    Category.CONCURRENCY,
]
REASONS = ["duplicate", "wrong", "not_risky", "not_testable", "out_of_scope", "other"]


def base_draft(i: int) -> HypothesisDraft:
    return HypothesisDraft(
        title=f"A refund never exceeds the charge amount (case {i})",
        rationale="Refunds are bounded by the captured amount; an unchecked sum over-refunds.",
        category=CATEGORIES[i % len(CATEGORIES)],
        severity=Severity.HIGH,
        confidence=0.5 + (i % 50) / 100,
        fields=[
            FieldRef(operation="createCharge", path="body.amount"),
            FieldRef(operation="createRefund", path="body.amount"),
        ],
        steps=[
            Step(
                id="create_charge",
                operation="createCharge",
                body=Body(overrides={"amount": LiteralValue(value=1000 + i % 5000)}),
                captures=[Capture(name="charge_id", pointer="/id")],
                expect=[StatusExpectation(band="2xx")],
            ),
            Step(
                id="over_refund",
                operation="createRefund",
                params={"path.charge_id": CapturedValue(name="charge_id")},
                body=Body(overrides={"amount": LiteralValue(value=1001 + i % 5000)}),
                expect=[StatusExpectation(band="4xx")],
            ),
        ],
    )


def make_run(api: Api, start: int, count: int, *, llm: bool) -> tuple[JudgeResult, list[RenderedPrompt]]:
    """A judge result with `count` distinct hypotheses (cheap copies of one validated draft)."""
    template = Hypothesis.from_draft(base_draft(start), Provenance(judge="heuristic"))
    if llm:
        result = JudgeResult(
            judge="llm", model="bench-model", prompt_id="judge-v1", prompt_hash="ph1", api=api
        )
    else:
        result = JudgeResult(judge="heuristic", model=None, prompt_id=None, prompt_hash=None, api=api)
    for i in range(start, start + count):
        chunk = f"chunk-{i % CHUNKS}" if llm else None
        prov = Provenance(
            judge=result.judge, model=result.model, prompt_id=result.prompt_id, prompt_hash=result.prompt_hash,
            spec_hash=api.content_hash, api_version=api.version, chunk=chunk,
        )  # fmt: skip
        h = template.model_copy(update={"title": f"A refund never exceeds the charge amount (case {i})",
                                        "category": CATEGORIES[i % len(CATEGORIES)], "provenance": prov})  # fmt: skip
        result.hypotheses.append(h.model_copy(update={"id": h.content_id()}))
    prompts = []
    if llm:
        for c in range(CHUNKS):
            result.calls.append(
                LLMCall(model="bench-model", prompt_id="judge-v1", prompt_hash="ph1", chunk=f"chunk-{c}",
                        input_tokens=4000, output_tokens=900, cost_usd=0.02, request_hash=f"rq{c}")
            )  # fmt: skip
            prompts.append(
                RenderedPrompt(
                    "judge-v1", "ph1", f"chunk-{c}", "You are the judge." * 20, f"Chunk {c}: " + "spec " * 400
                )
            )
    result.finished_at = result.started_at
    return result, prompts


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far (Linux reports KiB, macOS bytes)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


def note(report: list[tuple[str, float, str]], label: str, elapsed: float, detail: str) -> None:
    detail = f"{detail}  (peak RSS so far {peak_rss_mb():,.0f} MB)".strip()
    report.append((label, elapsed, detail))
    print(f"  {label:52} {elapsed:8.2f} s  {detail}", flush=True)


def measure(
    label: str, report: list[tuple[str, float, str]], work: Callable[[], T], detail: Callable[[T], str]
) -> T:
    started = time.perf_counter()
    value = work()
    note(report, label, time.perf_counter() - started, detail(value))
    return value


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=100_000, help="decisions (and hypotheses) to record")
    parser.add_argument("--batch", type=int, default=10_000, help="decisions per transaction")
    parser.add_argument("--keep", type=Path, default=None, help="write the store here instead of a temp dir")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="crossfield-bench-store-"))
    path = args.keep or work / "bench.duckdb"
    report: list[tuple[str, float, str]] = []
    api = load_spec(SPEC)
    print(
        f"feedback store benchmark: {args.n:,} hypotheses and decisions, batches of {args.batch:,} -> {path}"
    )
    try:
        store = Store.open(path)
        # One judge run at a time, as judges produce them: building all 100k models up front would
        # make the benchmark's own memory dwarf the store's.
        build = record = 0.0
        run_ids: list[str] = []
        ids: list[str] = []
        for start in range(0, args.n, args.batch):
            started = time.perf_counter()
            result, prompts = make_run(
                api, start, min(args.batch, args.n - start), llm=(start // args.batch) % 2 == 0
            )
            build += time.perf_counter() - started
            started = time.perf_counter()
            run_ids.append(store.record_judge_run(result, prompts=prompts))
            record += time.perf_counter() - started
            ids.extend(h.id for h in result.hypotheses)
            del result, prompts
        note(report, f"build {args.n:,} hypotheses (pydantic, setup)", build, "")
        note(report, f"record_judge_run x{len(run_ids)}", record, f"{args.n / record:,.0f} hypotheses/s")

        def decision(k: int, hid: str) -> Decision:
            if k % 10 < 7:
                return Decision(hid, "accept", "bench")
            if k % 10 < 9:
                return Decision(hid, "reject", "bench", reason=REASONS[k % len(REASONS)], note="benchmark")
            return Decision(hid, "rewrite", "bench", rewritten=base_draft(10_000_000 + k))

        started = time.perf_counter()
        for start in range(0, len(ids), args.batch):
            batch = [decision(k, ids[k]) for k in range(start, min(start + args.batch, len(ids)))]
            store.decide_many(batch, api=api)
        elapsed = time.perf_counter() - started
        detail = f"{len(ids) / elapsed:,.0f} decisions/s in {-(-len(ids) // args.batch)} transactions"
        note(report, f"decide_many: {len(ids):,} decisions", elapsed, detail)

        measure(
            "hypotheses(run=...) one run",
            report,
            lambda: store.hypotheses(run=run_ids[0]),
            lambda r: f"{len(r):,} rows",
        )
        measure(
            "hypotheses(status='rejected')",
            report,
            lambda: store.hypotheses(status="rejected"),
            lambda r: f"{len(r):,} rows",
        )
        measure(
            "accepted_hypotheses()", report, store.accepted_hypotheses, lambda r: f"{len(r):,} hypotheses"
        )
        measure("one decide() on the full store", report,
                lambda: store.decide(ids[0], "reject", reviewer="bench", reason="other"), lambda r: r)  # fmt: skip
        for fmt in EXPORT_FORMATS:
            out = work / (fmt if fmt == "parquet" else f"{fmt}.jsonl")
            summary = measure(f"export {fmt}", report, lambda fmt=fmt, out=out: export(store, fmt, out),
                              lambda s: f"{s.records:,} records")  # fmt: skip
            del summary
        size = path.stat().st_size / 1e6
        print(f"store file: {size:,.1f} MB")
    finally:
        if args.keep is None:
            shutil.rmtree(work, ignore_errors=True)
    print("\nsummary (seconds):")
    for label, elapsed, detail in report:
        print(f"  {elapsed:8.2f}  {label}  {detail}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
