"""`make_judge`, `judge(...)`, the `crossfield judge` command and the fake LLM endpoint itself."""

from __future__ import annotations

import json
import socket
from pathlib import Path
from typing import Any

import httpx2
import pytest
from llm_support import HERE, SECRET
from typer.testing import CliRunner

from crossfield.cli import app
from crossfield.errors import JudgeError
from crossfield.judgment import judge, make_judge
from crossfield.judgment.base import ScriptedJudge
from crossfield.judgment.llm import LLMJudge
from crossfield.judgment.models import HypothesisDraft, HypothesisSet
from crossfield.spec import Api
from crossfield.testing import FakeLLMServer, Scripted

SPEC = HERE / "payments_mini.yaml"


# ---- make_judge / judge ------------------------------------------------------------------------------------


def test_make_judge_names() -> None:
    llm = make_judge("anthropic", prompt="v2", concurrency=2)
    assert isinstance(llm, LLMJudge) and llm.model == "anthropic/claude-sonnet-5-5" and llm.prompt.id == "v2"
    assert isinstance(make_judge("scripted", batches=[[]], prompt="ignored"), ScriptedJudge)
    heuristic = make_judge("heuristic", prompt="v1", concurrency=3, base_url=None)  # LLM options are ignored
    assert heuristic.name == "heuristic"
    assert make_judge(heuristic) is heuristic
    with pytest.raises(JudgeError, match="unknown judge"):
        make_judge("bard/x")
    with pytest.raises(JudgeError, match="invalid option"):
        make_judge("anthropic", temperatur=0.2)


def test_judge_function_with_a_path_and_requirements(tmp_path: Path, example: dict[str, Any]) -> None:
    reqs = tmp_path / "reqs.md"
    reqs.write_text("- REQ-1: Refunds never exceed the captured amount.\n")
    draft = HypothesisDraft.model_validate(example)
    result = judge(SPEC, "scripted", batches=[[draft]], requirements=reqs)
    assert result.judge == "scripted" and [h.title for h in result.hypotheses] == [draft.title]


def test_judge_function_with_an_llm(api: Api, example: dict[str, Any]) -> None:
    transport = httpx2.MockTransport(
        lambda r: httpx2.Response(
            200,
            json={
                "id": "m",
                "type": "message",
                "role": "assistant",
                "model": "claude-sonnet-5-5",
                "content": [
                    {"type": "tool_use", "id": "t", "name": "JudgeOutput", "input": {"hypotheses": [example]}}
                ],
                "stop_reason": "tool_use",
                "usage": {"input_tokens": 1, "output_tokens": 1},
            },
        )
    )
    result = judge(api, "anthropic/claude-sonnet-5-5", api_key=SECRET, transport=transport)
    assert len(result.hypotheses) == 1 and result.model == "anthropic/claude-sonnet-5-5"


# ---- the CLI ------------------------------------------------------------------------------------------------


def invoke(*args: str) -> Any:
    return CliRunner().invoke(app, ["judge", *args])


def test_cli_heuristic_by_default(tmp_path: Path) -> None:
    out = tmp_path / "out" / "hyps.json"
    result = invoke(str(SPEC), "--out", str(out))
    assert result.exit_code == 0, result.output
    data = HypothesisSet.model_validate_json(out.read_text())
    assert data.spec_hash and data.api_title == "Payments Mini"
    assert "from heuristic" in result.stderr
    assert not list(out.parent.glob(".*.tmp"))  # written atomically


def test_cli_with_a_model_against_the_fake_endpoint(tmp_path: Path, example: dict[str, Any]) -> None:
    reqs = tmp_path / "reqs.md"
    reqs.write_text("## REQ-1: Refunds never exceed the captured amount\n")
    out = tmp_path / "hyps.json"
    traced = dict(example, requirement_ids=["REQ-1", "REQ-404"])
    with FakeLLMServer(responder=lambda r: {"hypotheses": [traced]}) as server:
        args = [
            str(SPEC),
            "--judge",
            "openai-compatible/fake",
            "--base-url",
            server.openai_base_url,
            "--out",
            str(out),
        ]
        first = invoke(*args, "--requirements", str(reqs), "--prompt", "v2", "--concurrency", "2")
        calls = len(server.requests)
        second = invoke(*args, "--requirements", str(reqs), "--prompt", "v2")
        assert len(server.requests) == calls  # served from the cache
    assert first.exit_code == 0, first.output
    assert "from openai-compatible/fake, prompt v2" in first.stderr
    assert "prompt size per chunk" in first.stderr and "arithmetic_invariant" in first.stderr
    assert f"usage: {calls} call(s), 0 cached" in first.stderr
    assert f"0 call(s), {calls} cached" in second.stderr
    data = json.loads(out.read_text())
    assert data["hypotheses"][0]["requirement_ids"] == ["REQ-1"]
    assert data["hypotheses"][0]["provenance"]["prompt_id"] == "v2"


def test_cli_reports_dropped_drafts_and_failed_chunks(tmp_path: Path, example: dict[str, Any]) -> None:
    bad = dict(example, fields=[{"operation": "createRefund", "path": "body.amout"}, example["fields"][1]])
    with FakeLLMServer(responder=lambda r: {"hypotheses": [bad]}) as server:
        server.script(
            Scripted(
                status=400, body={"error": {"message": "context too long", "type": "invalid_request_error"}}
            )
        )
        result = invoke(
            str(SPEC), "--judge", "openai-compatible/fake", "--base-url", server.openai_base_url, "--max-retries", "0",
            "--no-cache",
        )  # fmt: skip
    assert result.exit_code == 1  # the only chunk failed
    assert "failed: HTTP 400" in result.stderr
    with FakeLLMServer(responder=lambda r: {"hypotheses": [bad]}) as server:
        result = invoke(
            str(SPEC), "--judge", "openai-compatible/fake", "--base-url", server.openai_base_url, "--max-retries", "0",
            "--no-cache",
        )  # fmt: skip
    assert result.exit_code == 0
    assert "dropped 1 ungrounded draft(s)" in result.stderr and "body.amout" in result.stderr


def test_cli_errors_exit_2(tmp_path: Path) -> None:
    missing_key = invoke(str(SPEC), "--judge", "anthropic/claude-sonnet-5-5")
    assert missing_key.exit_code == 2 and "ANTHROPIC_API_KEY" in missing_key.stderr
    assert invoke(str(SPEC), "--judge", "nope/x").exit_code == 2
    assert invoke(str(tmp_path / "missing.yaml")).exit_code == 2
    assert invoke(str(SPEC), "--requirements", str(tmp_path / "none.md")).exit_code == 2
    no_url = invoke(str(SPEC), "--judge", "openai-compatible/m")
    assert no_url.exit_code == 2 and "--base-url" in no_url.stderr


def test_cli_stdout_json(example: dict[str, Any]) -> None:
    result = invoke(str(SPEC), "--out", "-")
    assert result.exit_code == 0
    assert HypothesisSet.model_validate_json(result.stdout).api_title == "Payments Mini"


def test_cli_records_the_run_in_the_store(tmp_path: Path, example: dict[str, Any]) -> None:
    store_path = tmp_path / "crossfield.duckdb"
    with FakeLLMServer(responder=lambda r: {"hypotheses": [example]}) as server:
        result = invoke(
            str(SPEC),
            "--judge",
            "openai-compatible/fake",
            "--base-url",
            server.openai_base_url,
            "--store",
            str(store_path),
        )
    assert result.exit_code == 0, result.output
    assert "recorded judge run" in result.stderr
    from crossfield.feedback import Store

    with Store.open(store_path) as store:
        runs = store.judge_runs()
        assert len(runs) == 1
        assert len(store.hypotheses(run=runs[0]["run_id"])) == 1


# ---- the fake endpoint --------------------------------------------------------------------------------------


def test_fake_server_speaks_both_apis_and_counts() -> None:
    with FakeLLMServer(rate_limit_fraction=1.0, retry_after=0.25) as server:
        limited = httpx2.post(
            f"{server.openai_base_url}/chat/completions", json={"model": "m", "messages": []}
        )
        assert limited.status_code == 429
        assert limited.headers["retry-after-ms"] == "250" and limited.headers["retry-after"] == "1"
        server.rate_limit_fraction = 0.0
        reply = httpx2.post(
            f"{server.anthropic_base_url}/v1/messages",
            json={"model": "m", "system": "a shared system prompt " * 20, "messages": []},
        )
        assert reply.json()["content"][0]["input"] == {"hypotheses": []}
        again = httpx2.post(
            f"{server.anthropic_base_url}/v1/messages",
            json={"model": "m", "system": "a shared system prompt " * 20, "messages": []},
        )
        assert again.json()["usage"]["cache_read_input_tokens"] > 0  # the shared prefix is "cached"
        assert httpx2.post(f"{server.base_url}/v1/other", json={}).status_code == 404
        assert server.stats() == {
            "requests": 3,
            "by_status": {429: 1, 200: 2},
            "rate_limited": 1,
            "max_in_flight": 1,
        }
        port = server.port
    with socket.socket() as probe, pytest.raises(OSError):
        probe.settimeout(0.5)
        probe.connect(("127.0.0.1", port))  # stopped with the `with` block


def test_fake_server_stops_by_itself() -> None:
    server = FakeLLMServer(max_lifetime=0.05).start()
    port = server.port
    assert server.wait_stopped(timeout=5)
    with socket.socket() as probe, pytest.raises(OSError):
        probe.settimeout(0.5)
        probe.connect(("127.0.0.1", port))
