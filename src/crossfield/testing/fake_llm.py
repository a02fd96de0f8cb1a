"""A fake LLM endpoint on 127.0.0.1, for tests and benchmarks of the LLM judge without a network or keys.

It speaks enough of the OpenAI Chat Completions API (`POST /v1/chat/completions`) and the Anthropic
Messages API (`POST /v1/messages`) for the SDKs and instructor: every reply is a forced tool call whose
arguments come from a responder (default: an empty `{"hypotheses": []}`) or from a scripted queue. It can
add latency, answer a fraction of requests with `429` + `Retry-After`, and counts what it saw.

    with FakeLLMServer(latency=0.5, rate_limit_fraction=0.05) as server:
        judge = LLMJudge("openai-compatible/fake", base_url=server.openai_base_url)
        ...
        server.stats()   # {'requests': ..., 'by_status': {...}, 'max_in_flight': ...}

The server runs in a daemon thread, stops on leaving the `with` block, and stops by itself after
`max_lifetime` seconds in any case. Only the standard library is used.
"""

from __future__ import annotations

import json
import random
import threading
import time
from collections import Counter, deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

__all__ = ["FakeLLMServer", "FakeRequest", "Scripted"]


@dataclass(frozen=True, slots=True)
class FakeRequest:
    """A request the fake received: `api` is "openai" or "anthropic", `body` the parsed JSON, `headers` with
    lower-case names."""

    api: str
    path: str
    body: dict[str, Any]
    headers: Mapping[str, str]

    @property
    def text(self) -> str:
        """Every message text of the request, joined (to look for prompts or corrections)."""
        parts: list[str] = []

        def walk(value: Any) -> None:
            if isinstance(value, str):
                parts.append(value)
            elif isinstance(value, list):
                for item in value:
                    walk(item)
            elif isinstance(value, dict):
                for key in ("text", "content"):
                    if key in value:
                        walk(value[key])

        walk(self.body.get("system", ""))
        walk(self.body.get("messages", []))
        return "\n".join(parts)


@dataclass(slots=True)
class Scripted:
    """One scripted reply. `tool_input` is wrapped in the provider's tool-call response; `body` replaces the
    whole JSON body (for errors or malformed replies); `status` and `headers` as given."""

    tool_input: Any = None
    body: Any = None
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    delay: float | None = None


Responder = Callable[[FakeRequest], Any]
"""Returns the tool input for a request (a dict such as {"hypotheses": [...]}) or a `Scripted`."""


class FakeLLMServer:
    def __init__(
        self,
        *,
        latency: float = 0.0,
        rate_limit_fraction: float = 0.0,
        retry_after: float = 0.1,
        responder: Responder | None = None,
        tool_name: str = "JudgeOutput",
        seed: int = 0,
        max_lifetime: float = 600.0,
    ) -> None:
        self.latency = latency
        self.rate_limit_fraction = rate_limit_fraction
        self.retry_after = retry_after
        self.responder = responder
        self.tool_name = tool_name
        self.max_lifetime = max_lifetime
        self._rng = random.Random(seed)
        self._lock = threading.Lock()
        self._script: deque[Scripted] = deque()
        self.requests: list[FakeRequest] = []
        self.by_status: Counter[int] = Counter()
        self.in_flight = 0
        self.max_in_flight = 0
        self._seen_prefixes: set[str] = set()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._timer: threading.Timer | None = None
        self._stopped = threading.Event()

    # ---- lifecycle ------------------------------------------------------------------------------------

    def start(self) -> FakeLLMServer:
        if self._server is not None:
            return self
        self._stopped.clear()
        server = _Server(("127.0.0.1", 0), _handler_for(self))
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, name="fake-llm", daemon=True
        )
        self._thread.start()
        self._timer = threading.Timer(self.max_lifetime, self.stop)
        self._timer.daemon = True
        self._timer.start()
        return self

    def stop(self) -> None:
        with self._lock:
            server, self._server = self._server, None
        if server is None:  # never started, or another thread is stopping it
            if self._thread is None:
                self._stopped.set()
            self._stopped.wait(timeout=5)
            return
        if self._timer is not None:
            self._timer.cancel()
        server.shutdown()
        server.server_close()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=5)
        self._stopped.set()

    def wait_stopped(self, timeout: float | None = None) -> bool:
        """Block until the server has stopped (by `stop()`, the `with` block, or `max_lifetime`)."""
        return self._stopped.wait(timeout)

    def __enter__(self) -> FakeLLMServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("the fake LLM server is not running")
        return int(self._server.server_address[1])

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def openai_base_url(self) -> str:
        """For `openai.OpenAI(base_url=...)` and `openai-compatible/...` judges."""
        return f"{self.base_url}/v1"

    @property
    def anthropic_base_url(self) -> str:
        """For `anthropic.Anthropic(base_url=...)` (the SDK adds `/v1/messages`)."""
        return self.base_url

    # ---- behaviour ------------------------------------------------------------------------------------

    def script(self, *replies: Scripted) -> None:
        """Queue replies, served in order before the default behaviour."""
        with self._lock:
            self._script.extend(replies)

    def stats(self) -> dict[str, Any]:
        with self._lock:
            return {
                "requests": len(self.requests),
                "by_status": dict(self.by_status),
                "rate_limited": self.by_status.get(429, 0),
                "max_in_flight": self.max_in_flight,
            }

    def _decide(self, request: FakeRequest) -> Scripted:
        with self._lock:
            self.requests.append(request)
            if self._script:
                return self._script.popleft()
            limited = self.rate_limit_fraction > 0 and self._rng.random() < self.rate_limit_fraction
        if limited:
            return Scripted(
                status=429,
                body={"error": {"type": "rate_limit_error", "message": "fake rate limit"}},
                headers={
                    "retry-after-ms": str(int(self.retry_after * 1000)),
                    "retry-after": str(max(1, round(self.retry_after))),
                },
                delay=0.0,
            )
        reply = self.responder(request) if self.responder is not None else {"hypotheses": []}
        return reply if isinstance(reply, Scripted) else Scripted(tool_input=reply)

    def _usage(self, request: FakeRequest, output: str) -> tuple[int, int, int]:
        """(uncached input, cached input, output) token estimates; the system prompt is cached after its
        first use, as a provider's prompt cache would."""
        system = request.body.get("system")
        if system is None:
            messages = request.body.get("messages") or []
            system = messages[0].get("content") if messages and messages[0].get("role") == "system" else ""
        system_text = json.dumps(system)
        total = len(json.dumps(request.body)) // 4
        prefix = len(system_text) // 4
        with self._lock:
            cached = prefix if system_text in self._seen_prefixes else 0
            self._seen_prefixes.add(system_text)
        return total - cached, cached, max(1, len(output) // 4)

    def _body(self, request: FakeRequest, reply: Scripted) -> Any:
        if reply.body is not None:
            return reply.body
        arguments = json.dumps(reply.tool_input)
        uncached, cached, output = self._usage(request, arguments)
        model = request.body.get("model", "fake")
        if request.api == "anthropic":
            first = not cached
            return {
                "id": f"msg_fake_{len(self.requests)}",
                "type": "message",
                "role": "assistant",
                "model": model,
                "content": [
                    {
                        "type": "tool_use",
                        "id": f"toolu_fake_{len(self.requests)}",
                        "name": self.tool_name,
                        "input": reply.tool_input,
                    }
                ],
                "stop_reason": "tool_use",
                "stop_sequence": None,
                "usage": {
                    "input_tokens": uncached
                    - (len(json.dumps(request.body.get("system"))) // 4 if first else 0),
                    "output_tokens": output,
                    "cache_creation_input_tokens": len(json.dumps(request.body.get("system"))) // 4
                    if first
                    else 0,
                    "cache_read_input_tokens": cached,
                },
            }
        return {
            "id": f"chatcmpl-fake-{len(self.requests)}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": model,
            "choices": [
                {
                    "index": 0,
                    "finish_reason": "tool_calls",
                    "message": {
                        "role": "assistant",
                        "content": None,
                        "tool_calls": [
                            {
                                "id": f"call_fake_{len(self.requests)}",
                                "type": "function",
                                "function": {"name": self.tool_name, "arguments": arguments},
                            }
                        ],
                    },
                }
            ],
            "usage": {
                "prompt_tokens": uncached + cached,
                "completion_tokens": output,
                "total_tokens": uncached + cached + output,
                "prompt_tokens_details": {"cached_tokens": cached},
            },
        }

    def _enter(self) -> None:
        with self._lock:
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)

    def _leave(self, status: int) -> None:
        with self._lock:
            self.in_flight -= 1
            self.by_status[status] += 1


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256  # the default backlog of 5 drops connections under load: 1 s SYN retries


def _handler_for(fake: FakeLLMServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = "FakeLLM/1"

        def log_message(self, format: str, *args: Any) -> None:  # quiet
            return None

        def _send(self, status: int, body: Any, headers: Mapping[str, str] | None = None) -> None:
            data = json.dumps(body).encode("utf-8")
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b"{}"
            path = self.path.split("?", 1)[0]
            if path.endswith("/chat/completions"):
                api = "openai"
            elif path.endswith("/messages"):
                api = "anthropic"
            else:
                self._send(404, {"error": {"type": "not_found", "message": f"no route {path}"}})
                return
            try:
                body = json.loads(raw or b"{}")
            except json.JSONDecodeError:
                self._send(400, {"error": {"type": "invalid_request_error", "message": "body is not JSON"}})
                return
            request = FakeRequest(api, path, body, {k.lower(): v for k, v in self.headers.items()})
            fake._enter()
            status = 500
            try:
                reply = fake._decide(request)
                delay = fake.latency if reply.delay is None else reply.delay
                if delay > 0:
                    time.sleep(delay)
                status = reply.status
                self._send(status, fake._body(request, reply), reply.headers)
            finally:
                fake._leave(status)

    return Handler
