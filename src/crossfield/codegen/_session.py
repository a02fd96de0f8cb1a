"""`ApiSession`: the recording, checking HTTP client every generated test talks through.

A generated test says what to send; the session does the rest, the same way every time: it fills the
path template, adds the identity's headers (logging in once if needed), sends, records the exchange with
secrets redacted, fails at once on any 5xx, and checks the body against the spec's schema for the status
(drift fails the test; an undocumented status is a note). Repeats run in order; concurrent calls are
released together from a barrier, each on its own thread, so they reach the server at the same time.
"""

from __future__ import annotations

import itertools
import json as jsonlib
import re
import secrets
import string
import threading
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

import httpx
import pytest

from crossfield.codegen._checks import MISSING, CrossfieldFailure, status_allowed
from crossfield.codegen._identities import IdentityBook
from crossfield.codegen._paging import Paging, WalkStop, walk_pages
from crossfield.codegen._recording import Exchange
from crossfield.codegen._redact import Redactor
from crossfield.codegen._results import Claim, Group, Response, SentRequest, Walk
from crossfield.codegen._spec_book import SpecBook
from crossfield.codegen.config import Config, Login

__all__ = ["NO_BODY", "ApiSession"]

NO_BODY: Any = MISSING
StatusSpec = int | str | Sequence[int | str] | None
"""A claimed status: a code, a band ('2xx'), or a list of alternatives."""
_BARRIER_TIMEOUT_S = 30.0


class ApiSession:
    """One test's view of the API: a base URL, identities, the spec's schemas, and a recording."""

    def __init__(
        self,
        base_url: str,
        *,
        spec: SpecBook | None = None,
        identities: IdentityBook | None = None,
        claim: Claim | None = None,
        recorder: Callable[[Exchange], None] | None = None,
        redactor: Redactor | None = None,
        timeout: float = 10.0,
        transport: httpx.BaseTransport | None = None,
        lane: int = 0,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.spec = spec
        self.redactor = redactor or Redactor()
        self.identities = identities or IdentityBook(Config(), self.redactor)
        self.claim = claim or Claim()
        self.exchanges: list[Exchange] = []
        self.notes: list[str] = []
        self._recorder = recorder
        self._client = httpx.Client(
            base_url=self.base_url, timeout=timeout, transport=transport, follow_redirects=False
        )
        self._lock = threading.Lock()
        self._seq = itertools.count(1)
        self._unique: dict[str, str] = {}
        self.lane = lane
        """this test's place in the run (0 for the first): see `now(lane_days=...)`"""

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> ApiSession:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ---- the step actions generated tests use -----------------------------------------------------

    def call(
        self,
        method: str,
        template: str,
        /,
        *,
        step: str,
        identity: str = "default",
        path: Mapping[str, Any] | None = None,
        query: Mapping[str, Any] | None = None,
        headers: Mapping[str, Any] | None = None,
        cookies: Mapping[str, Any] | None = None,
        json: Any = NO_BODY,
        form: Mapping[str, Any] | None = None,
        multipart: Mapping[str, Any] | None = None,
        expect: StatusSpec = None,
        setup: bool = False,
    ) -> Response:
        """Send one request as `identity` and return the checked response.

        `expect` is the status the step claims (`"2xx"`, `409`, `[409, 422]`). It is checked right after
        the universal 5xx check and before schema conformance, so a failure names the claim first.
        A `setup` step only prepares the claim (a prerequisite object): when the server refuses it with a
        4xx, the claim cannot be evaluated and the test is skipped with the server's answer."""
        __tracebackhide__ = True
        sent, request = self._prepare(
            method, template, identity, path, query, headers, cookies, json, form, multipart
        )
        response = self._send(step, sent, request)
        self._vet(response, expect, setup=setup)
        return response

    def repeat(self, times: int, method: str, template: str, /, **request: Any) -> Group:
        """Send the same request `times` times, one after another (`expect`: every response's status)."""
        __tracebackhide__ = True
        step = request.pop("step")
        expect = request.pop("expect", None)
        responses = []
        for _ in range(times):
            sent, prepared = self._prepare_kw(method, template, request)
            responses.append(self._send(step, sent, prepared))
        group = Group(step, responses, concurrent=False)
        self._vet_group(group, expect)
        return group

    def concurrent(self, times: int, method: str, template: str, /, **request: Any) -> Group:
        """Send the same request `times` times at once: every thread waits at a barrier, then sends.

        `fresh_headers` names headers (idempotency keys) that get a value of their own in each request,
        so the server sees `times` distinct requests rather than one request replayed."""
        __tracebackhide__ = True
        step = request.pop("step")
        expect = request.pop("expect", None)
        fresh: Sequence[str] = request.pop("fresh_headers", ())
        prepared = [
            self._prepare_kw(method, template, _with_fresh(request, fresh, self.unique, step, index))
            for index in range(times)
        ]
        barrier = threading.Barrier(times)

        def send(index: int) -> Response:
            barrier.wait(timeout=_BARRIER_TIMEOUT_S)
            sent, http_request = prepared[index]
            return self._send(step, sent, http_request)

        with ThreadPoolExecutor(max_workers=times, thread_name_prefix="crossfield") as pool:
            futures = [pool.submit(send, index) for index in range(times)]
            responses = [future.result() for future in futures]
        group = Group(step, responses, concurrent=True)
        self._vet_group(group, expect)
        return group

    def walk(
        self,
        method: str,
        template: str,
        /,
        *,
        step: str,
        paging: Paging,
        expect: StatusSpec = None,
        **request: Any,
    ) -> Walk:
        """Walk a paginated list to its end (see `Paging`), checking every page (`expect`: each page's status)."""
        __tracebackhide__ = True
        base: dict[str, Any] = {k: dict(v) if isinstance(v, Mapping) else v for k, v in request.items()}
        pages: list[Response] = []

        def fetch(params: dict[str, Any], link: str | None) -> Response:
            call = {k: dict(v) if isinstance(v, Mapping) else v for k, v in base.items()}
            for field_path, value in params.items():
                location, _, name = field_path.partition(".")
                key = {
                    "query": "query",
                    "header": "headers",
                    "path": "path",
                    "cookie": "cookies",
                    "body": "json",
                }.get(location)
                if key is None:
                    continue
                table = call.get(key)
                table = dict(table) if isinstance(table, Mapping) else {}
                table[name] = value
                call[key] = table
            sent, prepared = self._prepare_kw(method, template, call)
            if link is not None:
                prepared = self._client.build_request(method, link, headers=prepared.headers)
                sent = SentRequest(method, template, self.redactor.url(link), sent.identity)
            response = self._send(step, sent, prepared)
            pages.append(response)
            self._vet(response, expect)
            return response

        try:
            _, items, total = walk_pages(fetch, paging)
        except WalkStop as stop:
            last = pages[-1] if pages else None
            where = (
                f"\nLast page: {last.describe()} -> {last.status}: {last.body_excerpt(300)}" if last else ""
            )
            raise CrossfieldFailure(
                self.redactor.text(
                    f"{self.claim.headline()}\nStep {step!r} walks {method} {template}: {stop}{where}"
                )
            ) from None
        return Walk(step, pages, items, total, paging.items_pointer)

    def unique(
        self,
        name: str,
        *,
        format: str | None = None,
        pattern: str | None = None,
        max_length: int | None = None,
    ) -> str:
        """A fresh value for this test; the same `name` gives the same value (so a replay can reuse it).

        When the field has a `pattern` or `maxLength`, the value is shaped to fit it (a SKU pattern of
        upper-case letters and digits gets one), so uniqueness never makes a valid request invalid."""
        with self._lock:
            value = self._unique.get(name)
            if value is None:
                value = unique_value(name, format=format, pattern=pattern, max_length=max_length)
                self._unique[name] = value
            return value

    def now(
        self,
        seconds: int = 0,
        *,
        date_only: bool = False,
        at: str | None = None,
        weekday: bool = False,
        lane_days: int = 0,
    ) -> str:
        """The instant `seconds` from now, rounded up to the next whole hour (UTC, `2026-11-22T10:00:00Z`),
        or its date with `date_only`: lead times and cut-offs are relative to when the request is sent,
        not to a fixed date, and whole hours fit the slots of APIs that book on a grid. `at` ("10:00")
        takes that time of day on the day `seconds` from now; `weekday` counts those days in weekdays
        (office hours, business days); `lane_days` adds that many days per test run before this one, so
        tests that book the same resource do not collide."""
        days, rest = divmod(seconds, 86_400)
        days += lane_days * self.lane
        start_at = datetime.now(UTC)
        if weekday:
            moment = _weekdays_after(start_at, days) + timedelta(seconds=rest)
        else:
            moment = start_at + timedelta(days=days, seconds=rest)
        if date_only:
            return moment.date().isoformat()
        if at is not None:
            hours, minutes = (int(part) for part in at.split(":"))
            moment = moment.replace(hour=hours, minute=minutes, second=0, microsecond=0)
            return moment.strftime("%Y-%m-%dT%H:%M:%SZ")
        hour = moment.replace(minute=0, second=0, microsecond=0)
        return (hour if hour == moment else hour + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")

    # ---- mechanics --------------------------------------------------------------------------------

    def _prepare_kw(
        self, method: str, template: str, request: Mapping[str, Any]
    ) -> tuple[SentRequest, httpx.Request]:
        return self._prepare(
            method,
            template,
            request.get("identity", "default"),
            request.get("path"),
            request.get("query"),
            request.get("headers"),
            request.get("cookies"),
            request.get("json", NO_BODY),
            request.get("form"),
            request.get("multipart"),
        )

    def _prepare(
        self,
        method: str,
        template: str,
        identity: str,
        path: Mapping[str, Any] | None,
        query: Mapping[str, Any] | None,
        headers: Mapping[str, Any] | None,
        cookies: Mapping[str, Any] | None,
        body: Any,
        form: Mapping[str, Any] | None,
        multipart: Mapping[str, Any] | None,
    ) -> tuple[SentRequest, httpx.Request]:
        url = _fill_template(template, path or {})
        out_headers = self.identities.headers(identity, login=self._login, route=self._route)
        for name, value in (headers or {}).items():
            for existing in [k for k in out_headers if k.lower() == name.lower()]:
                del out_headers[existing]
            if value is not None:
                out_headers[name] = _text(value)
        if cookies:
            jar = "; ".join(f"{k}={_text(v)}" for k, v in cookies.items() if v is not None)
            session_cookie = next((k for k in out_headers if k.lower() == "cookie"), None)
            if session_cookie is not None:  # the identity's session cookie stays; the step's cookies join it
                jar = f"{out_headers.pop(session_cookie)}; {jar}"
            out_headers["Cookie"] = jar
        params: list[tuple[str, str | int | float | bool | None]] = [
            (k, _text(item)) for k, v in (query or {}).items() for item in _as_list(v) if item is not None
        ]
        content: bytes | None = None
        data: dict[str, str] | None = None
        files: dict[str, tuple[None, str]] | None = None
        sent_body: Any = MISSING
        if body is not NO_BODY:
            content = jsonlib.dumps(body, ensure_ascii=False).encode("utf-8")
            out_headers.setdefault("Content-Type", "application/json")
            sent_body = body
        elif form is not None:
            data = {k: _form_text(v) for k, v in form.items() if v is not None}
            sent_body = dict(form)
        elif multipart is not None:
            files = {k: (None, _form_text(v)) for k, v in multipart.items() if v is not None}
            sent_body = dict(multipart)
        request = self._client.build_request(
            method.upper(), url, params=params, headers=out_headers, content=content, data=data, files=files
        )
        sent = SentRequest(
            method=method.upper(),
            template=template,
            url=self.redactor.url(str(request.url)),
            identity=identity,
            path=dict(path or {}),
            query=dict(query or {}),
            headers=dict(headers or {}),
            cookies=dict(cookies or {}),
            body=sent_body,
        )
        return sent, request

    def _send(self, step: str, sent: SentRequest, request: httpx.Request) -> Response:
        __tracebackhide__ = True
        with self._lock:
            seq = next(self._seq)
        started_at = datetime.now(UTC).isoformat()
        start = time.perf_counter()
        request_body = self.redactor.body(request.read() or None, request.headers.get("content-type"))
        try:
            http = self._client.send(request)
            content = http.read()
        except httpx.HTTPError as exc:
            duration = (time.perf_counter() - start) * 1000
            self._record(
                step, seq, request, sent, request_body, None, {}, None, duration, started_at, str(exc)
            )
            raise CrossfieldFailure(
                self.redactor.text(
                    f"{self.claim.headline()}\nStep {step!r}: {sent.method} {sent.url} failed: "
                    f"{type(exc).__name__}: {exc}\nIs the API running at {self.base_url}? "
                    "(pass --base-url, set CROSSFIELD_BASE_URL, or base_url in crossfield.toml)"
                )
            ) from None
        duration = (time.perf_counter() - start) * 1000
        text = content.decode(http.encoding or "utf-8", errors="replace")
        body = _parse_json(text, http.headers.get("content-type"))
        self._record(
            step,
            seq,
            request,
            sent,
            request_body,
            http.status_code,
            http.headers.multi_items(),
            self.redactor.body(text, http.headers.get("content-type")),
            duration,
            started_at,
            None,
        )
        return Response(
            step=step,
            request=sent,
            status=http.status_code,
            headers=dict(http.headers.items()),
            text=text,
            body=body,
            duration_ms=duration,
            claim=self.claim,
            redactor=self.redactor,
        )

    def _record(
        self,
        step: str,
        seq: int,
        request: httpx.Request,
        sent: SentRequest,
        request_body: str | None,
        status: int | None,
        response_headers: list[tuple[str, str]] | dict[str, str],
        response_body: str | None,
        duration_ms: float,
        started_at: str,
        error: str | None,
    ) -> None:
        items = response_headers.items() if isinstance(response_headers, dict) else response_headers
        exchange = Exchange(
            test_id=self.claim.test_id,
            hypothesis_id=self.claim.hypothesis_id,
            step=step,
            seq=seq,
            method=sent.method,
            url=sent.url,
            request_headers=self.redactor.headers(request.headers.multi_items()),
            request_body=request_body,
            status=status,
            response_headers=self.redactor.headers(items),
            response_body=response_body,
            duration_ms=round(duration_ms, 3),
            started_at=started_at,
            error=self.redactor.text(error) if error else None,
        )
        with self._lock:
            self.exchanges.append(exchange)
        if self._recorder is not None:
            self._recorder(exchange)

    def _vet_group(self, group: Group, expect: StatusSpec) -> None:
        __tracebackhide__ = True
        for response in group.responses:
            self._vet(response, None, drift=False)
        if expect is not None:
            group.expect_status(*_allowed(expect))
        for response in group.responses:
            self._vet(response, None)

    def _vet(
        self, response: Response, expect: StatusSpec, *, drift: bool = True, setup: bool = False
    ) -> None:
        """What holds for every response: never a 5xx, then the step's claimed status, then a body that
        matches the spec for its status."""
        __tracebackhide__ = True
        if response.status >= 500:
            response.fail(
                "no server error (a 5xx is never an acceptable outcome)", f"returned {response.status}"
            )
        if expect is not None:
            allowed = _allowed(expect)
            if response.status == 429 and not status_allowed(429, allowed):
                # Throttled before the claim could be judged: that is neither a pass nor a finding.
                retry = response.headers.get("retry-after")
                pytest.skip(
                    f"step {response.step!r} was rate limited (429"
                    + (f", Retry-After {retry}" if retry else "")
                    + "): the claim could not be evaluated. Raise the limit for the test identities, "
                    "or run fewer tests against this server at once, and run again."
                )
            if setup and 400 <= response.status < 500 and not status_allowed(response.status, allowed):
                pytest.skip(
                    f"setup step {response.step!r} was refused: {response.describe()} returned "
                    f"{response.status} ({response.body_excerpt()}). The claim could not be evaluated; "
                    "rewrite the hypothesis so this prerequisite is a request the server accepts."
                )
            response.expect_status(*allowed)
        if self.spec is None or not drift:
            return
        verdict = self.spec.check(
            response.request.method,
            response.request.template,
            response.status,
            response.body,
            has_body=bool(response.text.strip()),
            is_json=response.body is not MISSING,
        )
        response.verdict = verdict
        if verdict.note:
            with self._lock:
                self.notes.append(f"step {response.step!r}: {verdict.note}")
        if verdict.drifts:
            details = "\n".join(d.describe() for d in verdict.drifts)
            message = (
                f"{self.claim.headline()}\n"
                f"Schema drift in step {response.step!r}: {response.describe()} returned {response.status}, "
                f"and its body does not match the spec's schema for {verdict.status_key}:\n{details}\n"
                f"Response body: {response.body_excerpt()}"
            )
            raise CrossfieldFailure(
                self.redactor.text(message), drift=[self.redactor.value(d.to_dict()) for d in verdict.drifts]
            )

    def _route(self, operation_id: str) -> tuple[str, str] | None:
        return self.spec.route(operation_id) if self.spec is not None else None

    def _login(
        self,
        login: Login,
        method: str,
        template: str,
        body: Any,
        form: Mapping[str, str] | None,
        headers: Mapping[str, str],
    ) -> tuple[int, Any, str]:
        request = self._client.build_request(
            method,
            template,
            headers=dict(headers),
            content=jsonlib.dumps(body).encode("utf-8") if body is not None and form is None else None,
            data=dict(form) if form is not None else None,
        )
        if body is not None and form is None:
            request.headers["Content-Type"] = "application/json"
        sent = SentRequest(method, template, self.redactor.url(str(request.url)), "login")
        response = self._send("login", sent, request)
        if response.status >= 500:
            response.fail("a successful login", f"returned {response.status}")
        return response.status, response.body, response.body_excerpt(300)


def _allowed(expect: StatusSpec) -> tuple[int | str, ...]:
    if isinstance(expect, int | str):
        return (expect,)
    return tuple(expect) if expect is not None else ()


def _with_fresh(
    request: Mapping[str, Any],
    fresh: Sequence[str],
    unique: Callable[[str], str],
    step: str,
    index: int,
) -> Mapping[str, Any]:
    """`request` with each header of `fresh` set to a unique value of its own for request `index`."""
    if not fresh:
        return request
    headers = dict(request.get("headers") or {})
    for name in fresh:
        headers[name] = unique(f"{step}-{name}-{index + 1}")
    return {**request, "headers": headers}


def _fill_template(template: str, values: Mapping[str, Any]) -> str:
    out = template
    for name, value in values.items():
        out = out.replace("{" + name + "}", quote(_text(value), safe=""))
    return out


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return ""
    if isinstance(value, dict | list):
        return jsonlib.dumps(value, ensure_ascii=False)
    return str(value)


def _form_text(value: Any) -> str:
    return _text(value)


def _as_list(value: Any) -> list[Any]:
    return list(value) if isinstance(value, list | tuple) else [value]


def _parse_json(text: str, content_type: str | None) -> Any:
    media = (content_type or "").split(";", 1)[0].strip().lower()
    stripped = text.strip()
    if not stripped:
        return MISSING
    if media.endswith("json") or stripped[:1] in "{[":
        try:
            return jsonlib.loads(stripped)
        except ValueError:
            return MISSING
    return MISSING


def unique_value(
    name: str, *, format: str | None = None, pattern: str | None = None, max_length: int | None = None
) -> str:
    """A new unique string for a field named `name`, fitted to its format, pattern and length."""
    if format == "uuid":
        return str(uuid.uuid4())
    token = uuid.uuid4().hex[:12]
    if format in ("email", "idn-email"):
        return f"{name}-{token}@example.com"
    digits = str(uuid.uuid4().int)[:12]
    stem = re.sub(r"[^a-z0-9]", "", name.lower())[:8] or "x"
    candidates = [
        f"{name}-{token}",
        f"{stem}{token}",
        f"{stem.upper()}-{token.upper()}",
        token.upper(),
        token,
        digits,
        f"{stem.upper()}{token.upper()}",
    ]
    if max_length is not None:
        candidates = [c[:max_length] for c in candidates if max_length >= 6] + candidates
    for candidate in candidates:
        if max_length is not None and len(candidate) > max_length:
            continue
        if pattern is None or _matches(pattern, candidate):
            return candidate
    if pattern is not None:
        fitted = _randomized_pattern_sample(pattern, max_length)
        if fitted is not None:
            return fitted
    return candidates[0]


_CLASSES = (string.digits, string.ascii_uppercase, string.ascii_lowercase)


def _randomized_pattern_sample(pattern: str, max_length: int | None) -> str | None:
    """A string matching a structured pattern (an ISBN, a product code), made unique by re-drawing each
    character at random within its class wherever the pattern still matches afterwards."""
    from crossfield.codegen.synth import _pattern_samples

    samples = _pattern_samples(pattern, 0, max_length, 0)
    if not samples:
        return None
    chars = list(samples[0])
    rng = secrets.SystemRandom()
    for index, char in enumerate(chars):
        pool = next((c for c in _CLASSES if char in c), None)
        if pool is None:
            continue
        for _ in range(4):
            trial = chars.copy()
            trial[index] = rng.choice(pool)
            if _matches(pattern, "".join(trial)):
                chars = trial
                break
    return "".join(chars)


def _matches(pattern: str, value: str) -> bool:
    try:
        return re.search(pattern, value) is not None
    except re.error:
        return True


def _weekdays_after(start: datetime, days: int) -> datetime:
    """`start` moved on by `days` weekdays (a weekend start first moves to Monday)."""
    moment = start
    while moment.weekday() >= 5:
        moment += timedelta(days=1)
    step = 1 if days >= 0 else -1
    left = abs(days)
    while left:
        moment += timedelta(days=step)
        if moment.weekday() < 5:
            left -= 1
    return moment
