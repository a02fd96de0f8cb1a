"""Spec loading speed: crossfield cold and warm against schemathesis, on one large real spec.

    python benchmarks/bench_spec_load.py [--spec PATH] [--runs N]

Measured in one process, best of N runs each:

- crossfield cold: `load_spec(path, cache=False)` (read, parse YAML, resolve $refs, normalize every
  operation, flatten fields) plus `build_interaction_map`: everything `crossfield inspect` needs;
- schemathesis: `schemathesis.openapi.from_path(path)` plus `get_all_operations()` with `.ok()` on each
  result and a touch of each operation's parameters, responses and definition (to force lazy parsing);
- crossfield warm: `load_spec(path)` of the same unchanged file with a populated cache (read and hash the
  file, unpickle the normalized API with its interaction map), plus `api.interactions` (already there).

Both wall-clock and CPU time (`time.process_time`) are printed. The ratios use CPU time, which other
processes on a shared machine disturb much less; on a quiet machine the two agree.

Goals: cold crossfield / schemathesis <= 1.0x, cold / warm >= 10x. The exit code is 0 whatever the figures.
"""

from __future__ import annotations

import argparse
import gc
import sys
import tempfile
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
DEFAULT_SPEC = REPO.parent / "shared" / "corpora" / "stripe" / "spec3-2023-08-10.yaml"


@dataclass
class Timing:
    wall: float
    cpu: float

    def __str__(self) -> str:
        return f"{self.cpu:7.3f} s CPU  {self.wall:7.3f} s wall"


def best_of(runs: int, fn: Callable[[], Any]) -> tuple[Timing, Any]:
    """The run with the least CPU time, and the last result."""
    best: Timing | None = None
    result: Any = None
    for _ in range(runs):
        result = None
        gc.collect()
        wall, cpu = time.perf_counter(), time.process_time()
        result = fn()
        t = Timing(time.perf_counter() - wall, time.process_time() - cpu)
        if best is None or t.cpu < best.cpu:
            best = t
    assert best is not None
    return best, result


def crossfield_cold(path: Path) -> Any:
    from crossfield.spec import load_spec
    from crossfield.spec.interactions import build_interaction_map

    api = load_spec(path, cache=False)
    return api, build_interaction_map(api)


def crossfield_phases(path: Path, runs: int) -> dict[str, Timing]:
    """The cold load split into its phases (best of `runs` each)."""
    from crossfield.spec._source import content_hash, parse_document, read_bytes
    from crossfield.spec.interactions import build_interaction_map
    from crossfield.spec.loader import _normalize

    data = read_bytes(path)
    parse, doc = best_of(runs, lambda: parse_document(data, str(path)))
    normalize, result = best_of(
        runs, lambda: _normalize(parse_document(data, str(path)), path, content_hash(data))
    )
    normalize = Timing(max(normalize.wall - parse.wall, 0.0), max(normalize.cpu - parse.cpu, 0.0))
    imap, _ = best_of(runs, lambda: build_interaction_map(result[0]))
    del doc
    return {"parse YAML": parse, "normalize": normalize, "interaction map": imap}


def crossfield_warm(path: Path, cache: Path) -> Any:
    from crossfield.spec import load_spec

    api = load_spec(path, cache=cache)
    return api, api.interactions


def schemathesis_load(path: Path) -> int:
    import schemathesis

    schema = schemathesis.openapi.from_path(str(path))
    count = 0
    for result in schema.get_all_operations():
        op = result.ok()
        for _ in op.iter_parameters():
            pass
        _ = op.responses
        _ = op.definition
        count += 1
    return count


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument(
        "--spec", type=Path, default=DEFAULT_SPEC, help="spec to load (default: Stripe 2023-08-10)"
    )
    parser.add_argument("--runs", type=int, default=3, help="runs per measurement, best kept (default 3)")
    parser.add_argument("--no-schemathesis", action="store_true", help="skip the schemathesis comparison")
    args = parser.parse_args(argv)
    spec: Path = args.spec
    if not spec.is_file():
        print(f"spec not found: {spec} (the shared corpora live in ../shared/corpora)", file=sys.stderr)
        return 2
    warnings.simplefilter("ignore")

    print("crossfield spec-load benchmark")
    print(f"spec: {spec} ({spec.stat().st_size / 1e6:.2f} MB)")
    print(f"runs: best of {args.runs} per measurement (warm: best of {max(args.runs, 5)}), one process")
    print()

    cold, (api, imap) = best_of(args.runs, lambda: crossfield_cold(spec))
    n_fields = sum(len(op.fields) for op in api.operations)
    n_facts = sum(imap.counts().values())
    print(f"crossfield cold   load_spec(cache=False) + build_interaction_map  {cold}")
    print(
        f"                  ({len(api.operations)} operations, {n_fields} fields, {n_facts} interaction facts)"
    )
    for phase, timing in crossfield_phases(spec, args.runs).items():
        print(f"                    {phase:<16}                              {timing}")

    st: Timing | None = None
    if not args.no_schemathesis:
        try:
            st, st_ops = best_of(args.runs, lambda: schemathesis_load(spec))
        except ImportError:
            print("schemathesis      not installed: skipped")
        else:
            print(f"schemathesis      from_path + get_all_operations().ok()         {st}")
            print(f"                  ({st_ops} operations)")

    with tempfile.TemporaryDirectory(prefix="crossfield-bench-") as tmp:
        cache = Path(tmp)
        crossfield_warm(spec, cache)  # populate the cache
        warm, (wapi, wmap) = best_of(max(args.runs, 5), lambda: crossfield_warm(spec, cache))
        assert len(wapi.operations) == len(api.operations) and wmap.counts() == imap.counts()
    print(f"crossfield warm   load_spec() of the unchanged file (cache hit)   {warm}")

    print()
    if st is not None:
        ratio = cold.cpu / st.cpu
        print(
            f"cold crossfield / schemathesis = {ratio:5.2f}x CPU ({cold.wall / st.wall:5.2f}x wall)"
            f"   goal <= 1.0x: {'met' if ratio <= 1.0 else 'MISSED'}"
        )
    speedup = cold.cpu / warm.cpu
    print(
        f"cold / warm                    = {speedup:5.1f}x CPU ({cold.wall / warm.wall:5.1f}x wall)"
        f"   goal >= 10x:  {'met' if speedup >= 10 else 'MISSED'}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
