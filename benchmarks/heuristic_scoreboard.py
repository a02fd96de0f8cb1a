"""Scoreboard for the heuristic judge on the benchmark targets (a stop-gap until `crossfield.evals` runs it).

For each target in datasets/targets/<name>/: judge the spec -> generate a suite -> run it with pytest
against the correct app (every test must pass: zero false alarms) and against each seeded-bug variant
(a bug is detected when some test that passed on the correct app fails on the variant).

    python benchmarks/heuristic_scoreboard.py [TARGET ...] [--keep DIR] [--verbose]
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import json
import socket
import subprocess
import sys
import tempfile
import threading
import time
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
TARGETS = ROOT / "datasets" / "targets"


def _identities(config_path: Path) -> tuple[str, str]:
    """('default', the first configured identity that is not the default one)."""
    data = tomllib.loads(config_path.read_text())
    default = data.get("default_identity")
    others = sorted(n for n in data.get("identities", {}) if n != default)
    return "default", (others[0] if others else "other")


def _load_app_factory(target: str) -> Any:
    spec = importlib.util.spec_from_file_location(f"_scoreboard_{target}", TARGETS / target / "app.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.create_app


@contextlib.contextmanager
def _serve(app: Any) -> Iterator[str]:
    """Serve an ASGI app on a free port: `crossfield._serving.serve_app` when present, else uvicorn."""
    try:
        from crossfield._serving import serve_app  # type: ignore[import-not-found]

        with serve_app(app) as url:
            yield str(url)
        return
    except ImportError:
        pass
    import uvicorn

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="error"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(5)


def _run_suite(suite: Path, url: str, config: Path, report: Path) -> dict[str, str]:
    cmd = [
        sys.executable,
        "-m",
        "pytest",
        str(suite),
        "--base-url",
        url,
        "--crossfield-config",
        str(config),
        "-p",
        "no:cacheprovider",
        "-q",
        "--crossfield-report",
        str(report),
        "-x" if False else "-q",
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=suite, timeout=600)
    outcomes: dict[str, str] = {}
    if report.exists():
        data = json.loads(report.read_text())
        for t in data.get("tests", []):
            outcomes[str(t.get("nodeid") or t.get("name"))] = str(t.get("outcome"))
    if not outcomes:
        for line in proc.stdout.splitlines():
            for word in ("PASSED", "FAILED", "ERROR"):
                if line.endswith(word) or f" {word} " in line:
                    outcomes[line.split(" ")[0]] = word.lower()
    if not outcomes:
        print(proc.stdout[-3000:], proc.stderr[-3000:])
    return outcomes


def score(target: str, keep: Path | None, verbose: bool) -> dict[str, Any]:
    from crossfield.codegen import generate  # type: ignore[attr-defined]
    from crossfield.codegen.config import load_config
    from crossfield.judgment.heuristic import HeuristicJudge
    from crossfield.spec import load_spec

    tdir = TARGETS / target
    config = tdir / "crossfield.toml"
    api = load_spec(tdir / "openapi.yaml")
    judged = HeuristicJudge(identities=_identities(config)).judge(api)
    bugs = yaml.safe_load((tdir / "bugs.yaml").read_text())
    work = keep / target if keep else Path(tempfile.mkdtemp(prefix=f"cf-{target}-"))
    suite = work / "suite"
    generate(list(judged.hypotheses), api, suite, config=load_config(config))
    create_app = _load_app_factory(target)
    with _serve(create_app()) as url:
        base = _run_suite(suite, url, config, work / "correct.json")
    false_alarms = sorted(k for k, v in base.items() if v != "passed")
    passing = {k for k, v in base.items() if v == "passed"}
    detected: dict[str, list[str]] = {}
    for bug in bugs:
        with _serve(create_app(frozenset({bug["id"]}))) as url:
            out = _run_suite(suite, url, config, work / f"{bug['id']}.json")
        detected[bug["id"]] = sorted(k for k in passing if out.get(k) != "passed")
    cross = [b for b in bugs if b.get("cross_field")]
    row = {
        "target": target,
        "hypotheses": len(judged.hypotheses),
        "dropped": len(judged.dropped),
        "tests": len(base),
        "false_alarms": false_alarms,
        "bugs": f"{sum(1 for b in bugs if detected[b['id']])}/{len(bugs)}",
        "cross_field": f"{sum(1 for b in cross if detected[b['id']])}/{len(cross)}",
        "missed": [b["id"] for b in bugs if not detected[b["id"]]],
    }
    if verbose:
        row["detected_by"] = {k: v for k, v in detected.items() if v}
    return row


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("targets", nargs="*")
    parser.add_argument("--keep", type=Path)
    parser.add_argument("--verbose", action="store_true")
    args = parser.parse_args()
    names = args.targets or sorted(p.name for p in TARGETS.iterdir() if (p / "bugs.yaml").exists())
    for name in names:
        print(json.dumps(score(name, args.keep, args.verbose), indent=2))


if __name__ == "__main__":
    main()
