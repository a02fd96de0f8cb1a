"""Helpers for the LLM judge tests: provider-shaped responses and a recording mock provider. No network,
no keys: every backend runs through its real SDK and instructor with an `httpx2.MockTransport`."""

from __future__ import annotations

import copy
import json
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx2

from crossfield.judgment.llm import RetryPolicy, load_prompt

HERE = Path(__file__).parent
SECRET = "sk-test-SECRET-do-not-leak-0123456789"

# millisecond backoff: no real sleeps in tests
FAST = RetryPolicy(
    max_attempts=5, max_total_wait=2.0, initial_wait=0.001, max_wait=0.005, max_retry_after=2.0
)


def example_draft() -> dict[str, Any]:
    """The worked example of the v1 system prompt, as a JSON object (a valid, grounded hypothesis)."""
    system = load_prompt("v1").system
    return dict(json.loads(system.split("```json", 1)[1].split("```", 1)[0]))


def with_unknown_field(draft: dict[str, Any]) -> dict[str, Any]:
    """The same draft naming a field the spec does not have (a grounding error)."""
    bad = copy.deepcopy(draft)
    bad["fields"][0]["path"] = "body.amout"
    return bad


def variant(draft: dict[str, Any], title: str, category: str = "arithmetic_invariant") -> dict[str, Any]:
    """A distinct (non-duplicate) grounded draft: same scenario, other category/fields."""
    out = copy.deepcopy(draft)
    out["title"] = title
    out["category"] = category
    out["fields"] = out["fields"][:2]
    return out


# ---- provider-shaped responses ----------------------------------------------------------------------------


def anthropic_message(
    tool_input: Any,
    *,
    input_tokens: int = 1000,
    output_tokens: int = 200,
    cache_read: int = 0,
    cache_write: int = 0,
    content: list[dict[str, Any]] | None = None,
    stop_reason: str = "tool_use",
) -> dict[str, Any]:
    blocks = (
        content
        if content is not None
        else [{"type": "tool_use", "id": "toolu_01", "name": "JudgeOutput", "input": tool_input}]
    )
    return {
        "id": "msg_01",
        "type": "message",
        "role": "assistant",
        "model": "claude-sonnet-5-5",
        "content": blocks,
        "stop_reason": stop_reason,
        "stop_sequence": None,
        "usage": {
            "input_tokens": input_tokens,
            "output_tokens": output_tokens,
            "cache_creation_input_tokens": cache_write,
            "cache_read_input_tokens": cache_read,
        },
    }


def openai_completion(
    arguments: Any, *, prompt_tokens: int = 1000, completion_tokens: int = 200, cached: int = 0
) -> dict[str, Any]:
    return {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "created": 1_700_000_000,
        "model": "gpt-5.5",
        "choices": [
            {
                "index": 0,
                "finish_reason": "tool_calls",
                "message": {
                    "role": "assistant",
                    "content": None,
                    "tool_calls": [
                        {
                            "id": "call_1",
                            "type": "function",
                            "function": {
                                "name": "JudgeOutput",
                                "arguments": arguments
                                if isinstance(arguments, str)
                                else json.dumps(arguments),
                            },
                        }
                    ],
                },
            }
        ],
        "usage": {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
            "prompt_tokens_details": {"cached_tokens": cached},
        },
    }


def error_response(
    status: int, headers: dict[str, str] | None = None, kind: str = "rate_limit_error"
) -> httpx2.Response:
    return httpx2.Response(
        status,
        headers=headers or {},
        json={"type": "error", "error": {"type": kind, "message": f"fake {status}"}},
    )


class MockProvider:
    """A MockTransport handler: records every request and answers with `reply(request_body, n)` where `n`
    counts the requests so far (0-based). Thread-safe; the judge runs chunks concurrently."""

    def __init__(self, reply: Callable[[dict[str, Any], int], httpx2.Response | dict[str, Any]]) -> None:
        self.reply = reply
        self.requests: list[httpx2.Request] = []
        self.bodies: list[dict[str, Any]] = []
        self._lock = threading.Lock()

    def __call__(self, request: httpx2.Request) -> httpx2.Response:
        body = json.loads(request.content) if request.content else {}
        with self._lock:
            n = len(self.bodies)
            self.requests.append(request)
            self.bodies.append(body)
        out = self.reply(body, n)
        return out if isinstance(out, httpx2.Response) else httpx2.Response(200, json=out)

    @property
    def transport(self) -> httpx2.MockTransport:
        return httpx2.MockTransport(self)

    def texts(self, n: int) -> str:
        """All message text of request n (system, user, tool results)."""
        return json.dumps(self.bodies[n])


def user_text(body: dict[str, Any]) -> str:
    message = body["messages"][0] if body["messages"][0]["role"] == "user" else body["messages"][1]
    content = message["content"]
    return content if isinstance(content, str) else json.dumps(content)


def chunk_of(body: dict[str, Any]) -> str:
    """The chunk name a request is about ('# Part 1 of 3: charges')."""
    text = user_text(body)
    line = next(line for line in text.splitlines() if line.startswith("# Part "))
    return line.split(": ", 1)[1]
