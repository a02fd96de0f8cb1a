"""Benchmark: the LLM judge's throughput against a fake endpoint with latency and injected 429s.

A synthetic spec of N resources is judged one operation per chunk (N chunks) through the real OpenAI SDK and
instructor against `crossfield.testing.FakeLLMServer` on 127.0.0.1, run in a child process (0.5 s per reply,
a fraction of requests answered 429 + Retry-After). Every reply is a grounded hypothesis for its chunk, so parsing and grounding
run too. It prints the measured wall time against the ideal (calls x latency / concurrency) and the ratio
(goal <= 1.3x), then runs again to show the cache: zero calls.

    python benchmarks/bench_llm_judge.py [--chunks 200] [--latency 0.5] [--concurrency 20] [--rate-limit 0.05]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import re
import sys
import tempfile
import time
from multiprocessing.connection import Connection
from typing import Any

import openai

from crossfield.judgment.llm import LLMJudge, RetryPolicy
from crossfield.spec import Api, load_spec_from_text
from crossfield.testing import FakeLLMServer, FakeRequest

_OPERATION = re.compile(r"^## (create\w+) \u2014 POST (/\S+)$", re.MULTILINE)


def synthetic_spec(resources: int) -> Api:
    lines = ["openapi: 3.0.3", "info: {title: Bench API, version: '1.0'}", "paths:"]
    for i in range(resources):
        lines += [
            f"  /things{i}:",
            "    post:",
            f"      operationId: createThing{i}",
            f"      summary: Create thing {i}",
            "      requestBody:",
            "        required: true",
            "        content:",
            "          application/json:",
            "            schema:",
            "              type: object",
            "              required: [name]",
            "              properties:",
            "                name: {type: string, maxLength: 40}",
            "                min_size: {type: integer, minimum: 1, maximum: 10}",
            "                max_size: {type: integer, minimum: 1, maximum: 10}",
            "      responses:",
            "        '201':",
            "          description: Created.",
            "          content:",
            "            application/json:",
            "              schema:",
            "                type: object",
            "                properties:",
            "                  id: {type: string, readOnly: true}",
        ]
    return load_spec_from_text("\n".join(lines) + "\n", name="bench.yaml")


def responder(request: FakeRequest) -> dict[str, Any]:
    """A grounded hypothesis about the chunk's operation: min_size <= max_size."""
    match = _OPERATION.search(request.text)
    if match is None:
        return {"hypotheses": []}
    op = match.group(1)
    step = {
        "id": "too_small",
        "operation": op,
        "body": {
            "overrides": {
                "min_size": {"kind": "literal", "value": 5},
                "max_size": {"kind": "literal", "value": 2},
            }
        },
        "expect": [{"kind": "status", "band": "4xx"}],
    }
    control = {
        "id": "control",
        "operation": op,
        "body": {
            "overrides": {
                "min_size": {"kind": "literal", "value": 2},
                "max_size": {"kind": "literal", "value": 5},
            }
        },
        "expect": [{"kind": "status", "band": "2xx"}],
        "note": "positive control",
    }
    return {
        "hypotheses": [
            {
                "title": "min_size above max_size is rejected",
                "rationale": "A range whose bounds are swapped must not be stored.",
                "category": "inter_parameter",
                "constraint_kind": "arithmetic_relational",
                "severity": "medium",
                "confidence": 0.6,
                "fields": [
                    {"operation": op, "path": "body.min_size"},
                    {"operation": op, "path": "body.max_size"},
                ],
                "steps": [control, step],
            }
        ]
    }


def serve(conn: Connection, latency: float, rate_limit: float, retry_after: float) -> None:
    """The fake endpoint in its own process, so its threads do not compete with the judge for the GIL."""
    with FakeLLMServer(
        latency=latency, rate_limit_fraction=rate_limit, retry_after=retry_after, responder=responder, seed=1
    ) as server:
        conn.send(server.openai_base_url)
        while True:
            command = conn.recv()
            if command == "stats":
                conn.send(server.stats())
            elif command == "reset":
                with server._lock:
                    server.requests.clear()
                    server.by_status.clear()
                    server.max_in_flight = 0
                conn.send("ok")
            else:
                return


class RemoteServer:
    def __init__(self, args: argparse.Namespace) -> None:
        self.conn, child = multiprocessing.Pipe()
        self.process = multiprocessing.get_context("fork").Process(
            target=serve, args=(child, args.latency, args.rate_limit, args.retry_after), daemon=True
        )

    def __enter__(self) -> RemoteServer:
        self.process.start()
        self.openai_base_url: str = self.conn.recv()
        return self

    def __exit__(self, *exc: object) -> None:
        self.conn.send("stop")
        self.process.join(timeout=10)
        if self.process.is_alive():
            self.process.kill()

    def stats(self) -> dict[str, Any]:
        self.conn.send("stats")
        stats: dict[str, Any] = self.conn.recv()
        return stats

    def reset(self) -> None:
        self.conn.send("reset")
        self.conn.recv()


async def transport_baseline(base_url: str, judge: LLMJudge, api: Api, concurrency: int) -> float:
    """The same requests sent straight through the OpenAI SDK (no crossfield): what this machine and the
    fake endpoint allow, to tell crossfield's own overhead from the environment's."""
    prepared = judge.prepare(api)
    tools = [
        {
            "type": "function",
            "function": {"name": "JudgeOutput", "parameters": json.loads(judge._schema_json)},
        }
    ]
    client = openai.AsyncOpenAI(api_key="not-needed", base_url=base_url, max_retries=3)
    semaphore = asyncio.Semaphore(concurrency)

    async def one(system: str, user: str) -> None:
        async with semaphore:
            await client.chat.completions.create(
                model="bench",
                messages=[{"role": "system", "content": system}, {"role": "user", "content": user}],
                extra_body={"tools": tools},
            )

    await one(prepared[0].system, prepared[0].user)  # warm
    started = time.perf_counter()
    await asyncio.gather(*(one(p.system, p.user) for p in prepared))
    elapsed = time.perf_counter() - started
    await client.close()
    return elapsed


def run(args: argparse.Namespace) -> int:
    api = synthetic_spec(args.chunks)
    cache_dir = tempfile.mkdtemp(prefix="crossfield-bench-llm-")
    retry = RetryPolicy(
        max_attempts=8, max_total_wait=30.0, initial_wait=0.05, max_wait=1.0, max_retry_after=5.0
    )
    with RemoteServer(args) as server:

        def judge() -> LLMJudge:
            return LLMJudge(
                "openai-compatible/bench",
                base_url=server.openai_base_url,
                concurrency=args.concurrency,
                chunk_operations=1,
                cache_dir=cache_dir,
                retry=retry,
                interaction_map=False,
            )

        started = time.perf_counter()
        judge().judge(synthetic_spec(1))  # warm-up: SDK imports and first-use setup, paid once per process
        warmup = time.perf_counter() - started
        server.reset()

        started = time.perf_counter()
        first = judge().judge(api)
        wall = time.perf_counter() - started
        stats = server.stats()
        calls = first.usage["calls"]
        ideal = calls * args.latency / args.concurrency
        ratio = wall / ideal if ideal else float("nan")

        before = server.stats()["requests"]
        started = time.perf_counter()
        second = judge().judge(api)
        wall2 = time.perf_counter() - started
        made = server.stats()["requests"] - before

        baseline = asyncio.run(transport_baseline(server.openai_base_url, judge(), api, args.concurrency))
        load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")

    print(f"machine:             {os.cpu_count()} CPUs, load average {load:.2f} when done")
    print(
        f"one-time start-up:   {warmup:.2f}s (SDK imports, first client; measured apart, on a 1-chunk spec)"
    )
    print(f"chunks:              {len(first.parameters['chunks'])}")
    print(
        f"model calls:         {calls} (HTTP requests {stats['requests']}, 429s injected {stats['rate_limited']})"
    )
    print(f"max in flight:       {stats['max_in_flight']} (concurrency {args.concurrency})")
    print(
        f"hypotheses:          {len(first.hypotheses)}, dropped {len(first.dropped)}, "
        f"failed chunks {len(first.chunk_errors)}"
    )
    print(f"ideal wall time:     {ideal:.2f}s  ({calls} x {args.latency}s / {args.concurrency})")
    print(f"measured wall time:  {wall:.2f}s")
    print(f"ratio:               {ratio:.2f}x  (goal <= 1.3x) {'OK' if ratio <= 1.3 else 'OVER'}")
    print(
        f"transport baseline:  {baseline:.2f}s for the same {len(first.parameters['chunks'])} requests sent directly "
        f"with the SDK ({baseline / ideal:.2f}x ideal); crossfield vs baseline {wall / baseline:.2f}x"
    )
    print(
        f"second run (cache):  {wall2:.2f}s, {made} HTTP requests, "
        f"{second.usage['cached_calls']} cached calls, {len(second.hypotheses)} hypotheses"
    )
    ok = ratio <= 1.3 and made == 0 and not first.chunk_errors
    return 0 if ok else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--chunks", type=int, default=200)
    parser.add_argument("--latency", type=float, default=0.5)
    parser.add_argument("--concurrency", type=int, default=20)
    parser.add_argument("--rate-limit", type=float, default=0.05, help="fraction of requests answered 429")
    parser.add_argument("--retry-after", type=float, default=0.1, help="seconds in the 429's Retry-After")
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
