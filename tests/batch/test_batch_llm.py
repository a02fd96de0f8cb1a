"""Batch runs with an LLM judge, offline: the real SDK and the real `LLMJudge` against an
`httpx2.MockTransport` that plays an OpenAI-compatible server (chat completions, files and batches)."""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

import httpx2
import pytest
from batch_support import draft, orders_doc, write_spec

from crossfield.batch import run
from crossfield.batch._batch_api import PENDING_NAME
from crossfield.judgment.llm import RetryPolicy
from crossfield.judgment.models import HypothesisSet

FAST = RetryPolicy(
    max_attempts=3, max_total_wait=1.0, initial_wait=0.001, max_wait=0.005, max_retry_after=1.0
)


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("CROSSFIELD_CACHE_DIR", str(tmp_path / "cache"))
    for name in (
        "OPENAI_API_KEY",
        "OPENAI_BASE_URL",
        "CROSSFIELD_OPENAI_API_KEY",
        "CROSSFIELD_OPENAI_BASE_URL",
    ):
        monkeypatch.delenv(name, raising=False)


def _completion(prompt_tokens: int = 1000, completion_tokens: int = 200) -> dict[str, Any]:
    arguments = json.dumps({"hypotheses": [draft().model_dump(mode="json", exclude_none=True)]})
    return {
        "id": "chatcmpl-1", "object": "chat.completion", "created": 1_700_000_000, "model": "gpt-5.5",
        "choices": [{"index": 0, "finish_reason": "tool_calls", "message": {
            "role": "assistant", "content": None,
            "tool_calls": [{"id": "call_1", "type": "function",
                            "function": {"name": "JudgeOutput", "arguments": arguments}}],
        }}],
        "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
                  "total_tokens": prompt_tokens + completion_tokens},
    }  # fmt: skip


class FakeOpenAI:
    """Chat completions, and the Batch API's files/batches endpoints, in memory."""

    def __init__(self, *, batch_polls_before_done: int = 1) -> None:
        self.lock = threading.Lock()
        self.chat_calls = 0
        self.batches: dict[str, dict[str, Any]] = {}
        self.files: dict[str, bytes] = {}
        self.polls_before_done = batch_polls_before_done
        self.batch_creates = 0

    def __call__(self, request: httpx2.Request) -> httpx2.Response:
        path = request.url.path
        with self.lock:
            if path.endswith("/chat/completions"):
                self.chat_calls += 1
                return httpx2.Response(200, json=_completion())
            if path.endswith("/files") and request.method == "POST":
                fid = f"file-{len(self.files)}"
                self.files[fid] = _multipart_file(request)
                return httpx2.Response(200, json={"id": fid, "object": "file", "bytes": len(self.files[fid]),
                                                  "created_at": 1, "filename": "in.jsonl", "purpose": "batch",
                                                  "status": "processed"})  # fmt: skip
            if path.endswith("/batches") and request.method == "POST":
                self.batch_creates += 1
                body = json.loads(request.content)
                bid = f"batch_{len(self.batches)}"
                self.batches[bid] = {"input": body["input_file_id"], "polls": 0}
                return httpx2.Response(200, json=self._batch(bid, "validating"))
            if "/batches/" in path:
                bid = path.rsplit("/", 1)[1]
                state = self.batches[bid]
                state["polls"] += 1
                if state["polls"] <= self.polls_before_done:
                    return httpx2.Response(200, json=self._batch(bid, "in_progress"))
                out_id = f"{bid}-out"
                if out_id not in self.files:
                    lines = self.files[state["input"]].decode().splitlines()
                    rows = [{"id": f"r{i}", "custom_id": json.loads(line)["custom_id"], "error": None,
                             "response": {"status_code": 200, "request_id": f"q{i}", "body": _completion()}}
                            for i, line in enumerate(lines)]  # fmt: skip
                    self.files[out_id] = "".join(json.dumps(r) + "\n" for r in rows).encode()
                return httpx2.Response(200, json=self._batch(bid, "completed", output=out_id))
            if path.endswith("/content"):
                fid = path.split("/")[-2]
                return httpx2.Response(200, content=self.files[fid])
        return httpx2.Response(404, json={"error": {"message": f"no route {path}"}})

    def _batch(self, bid: str, status: str, output: str | None = None) -> dict[str, Any]:
        n = len(self.files[self.batches[bid]["input"]].decode().splitlines())
        return {
            "id": bid, "object": "batch", "endpoint": "/v1/chat/completions", "errors": None,
            "input_file_id": self.batches[bid]["input"], "completion_window": "24h", "status": status,
            "output_file_id": output, "error_file_id": None, "created_at": 1,
            "request_counts": {"total": n, "completed": n if output else 0, "failed": 0},
        }  # fmt: skip


def _multipart_file(request: httpx2.Request) -> bytes:
    body = request.content
    start = body.index(b"\r\n\r\n", body.index(b'name="file"')) + 4
    boundary = body.split(b"\r\n", 1)[0]
    return body[start : body.index(b"\r\n" + boundary, start)]


def _corpus(root: Path, n: int = 3) -> Path:
    for i in range(n):
        write_spec(root / f"api{i}.json", orders_doc(f"API {i}"))
    return root


def _options(fake: FakeOpenAI) -> dict[str, Any]:
    return {"transport": httpx2.MockTransport(fake), "api_key": "sk-test", "retry": FAST}


def test_llm_run_shares_one_judge_and_sums_usage(tmp_path: Path) -> None:
    corpus, out, db = _corpus(tmp_path / "corpus"), tmp_path / "out", tmp_path / "cf.duckdb"
    fake = FakeOpenAI()
    summary = run([corpus], judge="openai/gpt-5.5", out=out, store=db, judge_options=_options(fake),
                  progress=False, concurrency=3)  # fmt: skip
    assert [s.status for s in summary.specs] == ["done"] * 3, [s.reason for s in summary.specs]
    assert fake.chat_calls == 3  # one chunk per small spec
    totals = summary.totals()
    assert (totals["calls"], totals["input_tokens"], totals["output_tokens"]) == (3, 3000, 600)
    assert totals["hypotheses"] == 3
    hset = HypothesisSet.model_validate_json((out / "api0" / "hypotheses.json").read_text())
    assert hset.hypotheses[0].provenance.judge == "llm"
    from crossfield.feedback import Store

    assert len(Store.open(db).judge_runs()) == 3

    again = FakeOpenAI()
    summary = run([corpus], judge="openai/gpt-5.5", out=out, judge_options=_options(again), progress=False)
    assert again.chat_calls == 0 and {s.status for s in summary.specs} == {"skipped"}


def test_batch_api_sends_every_chunk_of_every_spec_in_one_batch(tmp_path: Path) -> None:
    corpus, out = _corpus(tmp_path / "corpus"), tmp_path / "out"
    fake = FakeOpenAI(batch_polls_before_done=2)
    summary = run([corpus], judge="openai/gpt-5.5", out=out, batch_api=True, judge_options=_options(fake),
                  progress=False, batch_poll_interval=0.01)  # fmt: skip
    assert [s.status for s in summary.specs] == ["done"] * 3, [s.reason for s in summary.specs]
    assert fake.batch_creates == 1 and fake.chat_calls == 0
    (input_file,) = [v for k, v in fake.files.items() if not k.endswith("-out")]
    assert len(input_file.decode().splitlines()) == 3  # all three specs' chunks in one batch
    for i in range(3):
        hset = HypothesisSet.model_validate_json((out / f"api{i}" / "hypotheses.json").read_text())
        assert [h.title for h in hset.hypotheses] == [draft().title]
    assert summary.totals()["calls"] == 3
    assert not (out / PENDING_NAME).exists()


def test_batch_api_resumes_a_pending_batch_instead_of_paying_twice(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from crossfield.judgment.llm import batch as batch_module

    corpus, out = _corpus(tmp_path / "corpus", n=2), tmp_path / "out"
    fake = FakeOpenAI(batch_polls_before_done=10_000)  # never finishes during the first run
    original = batch_module.poll_batch

    async def impatient(judge: Any, handle: Any, **kw: Any) -> str:
        return await original(judge, handle, interval=0.001, timeout=0.05)

    with monkeypatch.context() as patch:
        patch.setattr(batch_module, "poll_batch", impatient)
        summary = run([corpus], judge="openai/gpt-5.5", out=out, batch_api=True, judge_options=_options(fake),
                      progress=False)  # fmt: skip
    assert [s.status for s in summary.specs] == ["failed", "failed"]
    assert "still in_progress" in (summary.specs[0].reason or "")
    assert (out / PENDING_NAME).exists() and fake.batch_creates == 1

    fake.polls_before_done = 0
    summary = run([corpus], judge="openai/gpt-5.5", out=out, batch_api=True, judge_options=_options(fake),
                  progress=False, batch_poll_interval=0.01)  # fmt: skip
    assert fake.batch_creates == 1  # the pending batch was collected, not submitted again
    assert [s.status for s in summary.specs] == ["done", "done"]
    assert not (out / PENDING_NAME).exists()
