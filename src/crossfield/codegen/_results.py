"""What a step of a generated test gets back, and the expectations it can state about it.

`Response` is one call, `Group` a repeated or concurrent batch of calls, `Walk` a paginated list walked to
its end. Each `expect_*` method fails with a `CrossfieldFailure` whose message names the hypothesis and
its claim, the step, the request (method, URL, identity), the status and an excerpt of the body, all
with secrets redacted.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, NoReturn

from crossfield.codegen._checks import (
    MISSING,
    CrossfieldFailure,
    describe_allowed,
    describe_relation,
    excerpt,
    pointer_get,
    relation_holds,
    status_allowed,
)
from crossfield.codegen._redact import Redactor
from crossfield.codegen._spec_book import Verdict
from crossfield.codegen.synth import split_path

__all__ = ["Claim", "Group", "Response", "SentRequest", "Walk"]


@dataclass(frozen=True, slots=True)
class Claim:
    """Which hypothesis a test checks, for failure messages."""

    hypothesis_id: str = ""
    text: str = ""
    test_id: str = ""

    def headline(self) -> str:
        if self.hypothesis_id and self.text:
            return f"Hypothesis {self.hypothesis_id} claims: {self.text}"
        if self.text:
            return f"Claim: {self.text}"
        return f"Hypothesis {self.hypothesis_id}" if self.hypothesis_id else "crossfield check"


@dataclass(frozen=True, slots=True)
class SentRequest:
    """What a step sent, as the test gave it (identity headers are not included)."""

    method: str
    template: str
    url: str
    identity: str
    path: Mapping[str, Any] = field(default_factory=dict)
    query: Mapping[str, Any] = field(default_factory=dict)
    headers: Mapping[str, Any] = field(default_factory=dict)
    cookies: Mapping[str, Any] = field(default_factory=dict)
    body: Any = MISSING

    def value(self, field_path: str) -> Any:
        """The value sent for a field path: 'body.amount', 'query.limit', 'path.id', 'header.X-Key'."""
        location, _, rest = field_path.partition(".")
        if location == "body":
            node = self.body
            for token in split_path(rest):
                if isinstance(node, Mapping) and token in node:
                    node = node[token]
                elif isinstance(node, list) and token.isdigit() and int(token) < len(node):
                    node = node[int(token)]
                else:
                    return MISSING
            return node
        table = {"path": self.path, "query": self.query, "header": self.headers, "cookie": self.cookies}.get(
            location
        )
        if table is None:
            return MISSING
        if location == "header":
            for key, value in table.items():
                if key.lower() == rest.lower():
                    return value
            return MISSING
        return table.get(rest, MISSING)


class Response:
    """One HTTP response of a step."""

    def __init__(
        self,
        *,
        step: str,
        request: SentRequest,
        status: int,
        headers: Mapping[str, str],
        text: str,
        body: Any,
        duration_ms: float,
        claim: Claim,
        redactor: Redactor,
        verdict: Verdict | None = None,
    ) -> None:
        self.step = step
        self.request = request
        self.status = status
        self.headers = {k.lower(): v for k, v in headers.items()}
        self.text = text
        self.body = body
        self.duration_ms = duration_ms
        self.claim = claim
        self.verdict = verdict
        self._redactor = redactor

    @property
    def url(self) -> str:
        return self.request.url

    def __repr__(self) -> str:
        return f"<Response {self.step} {self.request.method} {self.request.url} {self.status}>"

    # ---- reading ----------------------------------------------------------------------------------

    def get(self, pointer: str) -> Any:
        """The value at a JSON pointer of the body, or MISSING."""
        return pointer_get(self.body, pointer)

    def capture(self, pointer: str) -> Any:
        """The value at `pointer`, for a later step; fails clearly when the response does not have it."""
        __tracebackhide__ = True
        value = pointer_get(self.body, pointer)
        if value is MISSING:
            self.fail(f"a value at {pointer or '(body)'} to capture", "has none there")
        return value

    def capture_header(self, name: str) -> str:
        __tracebackhide__ = True
        value = self.headers.get(name.strip("/").replace("~1", "/").replace("~0", "~").lower())
        if value is None:
            self.fail(f"a {name!r} header to capture", "has no such header")
        return value

    def sent(self, field_path: str) -> Any:
        """What this step sent for a request field ('body.amount')."""
        __tracebackhide__ = True
        value = self.request.value(field_path)
        if value is MISSING:
            raise CrossfieldFailure(
                f"{self.claim.headline()}\nStep {self.step!r} sent no value for {field_path!r}"
            )
        return value

    # ---- expectations -----------------------------------------------------------------------------

    def expect_status(self, *allowed: int | str) -> Response:
        """The status is one of these codes or bands ('2xx', '4xx'). (5xx always failed already.)"""
        __tracebackhide__ = True
        if not status_allowed(self.status, allowed):
            self.fail(f"status {describe_allowed(allowed)}", f"returned {self.status}")
        return self

    def expect_conforms(self) -> Response:
        """The body conforms to the spec's schema for this status (checked on every call; explicit here)."""
        __tracebackhide__ = True
        if self.verdict is not None and not self.verdict.documented:
            self.fail(
                "a status the spec documents, with a body that conforms to it", f"returned {self.status}"
            )
        return self

    def expect_relation(self, pointer: str, op: str, against: Any = MISSING) -> Response:
        __tracebackhide__ = True
        actual = pointer_get(self.body, pointer)
        holds, why = relation_holds(actual, op, against)
        if not holds:
            self.fail(describe_relation(pointer, op, against), f"returned {self.status}, where {why}")
        return self

    def expect_same_as(self, other: Response | Group | Walk, pointers: Sequence[str] = ()) -> Response:
        """Same status and body as `other` (or the same values at `pointers`)."""
        __tracebackhide__ = True
        reference = other.first() if isinstance(other, Group | Walk) else other
        problems = _differences(reference, self, pointers)
        if problems:
            what = (
                f"the same values as step {reference.step!r} at {', '.join(pointers)}"
                if pointers
                else (
                    f"the same response as step {reference.step!r} ({reference.status}, {excerpt(reference.body, 200)})"
                )
            )
            self.fail(what, f"returned {self.status}; " + "; ".join(problems))
        return self

    def expect_contains(self, value: Any, *, items: str | None = None, id: str = "/id") -> Response:
        __tracebackhide__ = True
        _contains(self, self.items(items), value, id, present=True)
        return self

    def expect_not_contains(self, value: Any, *, items: str | None = None, id: str = "/id") -> Response:
        __tracebackhide__ = True
        _contains(self, self.items(items), value, id, present=False)
        return self

    def expect_each_once(
        self, ids: Sequence[Any] = (), *, items: str | None = None, id: str = "/id"
    ) -> Response:
        __tracebackhide__ = True
        _each_once(self, self.items(items), ids, id)
        return self

    def expect_count_delta(
        self, baseline: Response | Walk, delta: int, *, items: str | None = None
    ) -> Response:
        __tracebackhide__ = True
        _count_delta(self, len(self.items(items)), baseline, delta, items)
        return self

    def items(self, pointer: str | None = None) -> list[Any]:
        """The list at `pointer` (default: the body if it is a list, else `/data`)."""
        __tracebackhide__ = True
        if pointer is None:
            pointer = "" if isinstance(self.body, list) else "/data"
        found = pointer_get(self.body, pointer)
        if not isinstance(found, list):
            self.fail(f"a list of items at {pointer or '(body)'}", f"returned {excerpt(found, 200)} there")
        return found

    # ---- messages ---------------------------------------------------------------------------------

    def describe(self) -> str:
        who = f" as {self.request.identity}" if self.request.identity != "default" else ""
        return f"{self.request.method} {self.request.url}{who}"

    def body_excerpt(self, limit: int = 600) -> str:
        text = self._redactor.body(self.text, self.headers.get("content-type")) or ""
        text = " ".join(text.split())
        return text if len(text) <= limit else text[:limit] + f"... ({len(text) - limit} more characters)"

    def fail(self, expected: str, got: str) -> NoReturn:
        """Fail the test: the claim, what the step expected, and what this response shows."""
        __tracebackhide__ = True
        message = (
            f"{self.claim.headline()}\n"
            f"Step {self.step!r} expected {expected},\n"
            f"but {self.describe()} {got}.\n"
            f"Response body: {self.body_excerpt() or '(empty)'}"
        )
        raise CrossfieldFailure(self._redactor.text(message))


class Group:
    """The responses of a step run `repeat` times in a row or `concurrent` times at once, in send order."""

    def __init__(self, step: str, responses: list[Response], *, concurrent: bool) -> None:
        self.step = step
        self.responses = responses
        self.concurrent = concurrent

    def __repr__(self) -> str:
        return f"<Group {self.step} statuses={[r.status for r in self.responses]}>"

    def first(self) -> Response:
        """The first successful response (else the first): what captures and comparisons use."""
        for response in self.responses:
            if 200 <= response.status < 300:
                return response
        return self.responses[0]

    def capture(self, pointer: str) -> Any:
        __tracebackhide__ = True
        return self.first().capture(pointer)

    def capture_header(self, name: str) -> str:
        __tracebackhide__ = True
        return self.first().capture_header(name)

    def sent(self, field_path: str) -> Any:
        __tracebackhide__ = True
        return self.responses[0].sent(field_path)

    def statuses(self) -> list[int]:
        return [r.status for r in self.responses]

    def expect_status(self, *allowed: int | str) -> Group:
        """Every response has one of these statuses."""
        __tracebackhide__ = True
        for response in self.responses:
            if not status_allowed(response.status, allowed):
                self._fail(f"every response to have status {describe_allowed(allowed)}", response)
        return self

    def expect_count(
        self, *allowed: int | str, at_least: int | None = None, at_most: int | None = None
    ) -> Group:
        """Between `at_least` and `at_most` responses have one of these statuses."""
        __tracebackhide__ = True
        count = sum(1 for r in self.responses if status_allowed(r.status, allowed))
        if (at_least is not None and count < at_least) or (at_most is not None and count > at_most):
            bounds = []
            if at_least is not None:
                bounds.append(f"at least {at_least}")
            if at_most is not None:
                bounds.append(f"at most {at_most}")
            mode = "concurrent" if self.concurrent else "repeated"
            sample = next((r for r in self.responses if status_allowed(r.status, allowed)), self.responses[0])
            message = (
                f"{sample.claim.headline()}\n"
                f"Step {self.step!r} expected {' and '.join(bounds)} of its {len(self.responses)} {mode} calls "
                f"to return {describe_allowed(allowed)},\n"
                f"but {count} did. Statuses in send order: {self.statuses()}.\n"
                f"Request: {sample.describe()}\n"
                f"Sample response body ({sample.status}): {sample.body_excerpt() or '(empty)'}"
            )
            raise CrossfieldFailure(sample._redactor.text(message))
        return self

    def expect_conforms(self) -> Group:
        __tracebackhide__ = True
        for response in self.responses:
            response.expect_conforms()
        return self

    def expect_relation(self, pointer: str, op: str, against: Any = MISSING) -> Group:
        """Every response satisfies the relation; `unique` means: the values differ across the responses."""
        __tracebackhide__ = True
        if op == "unique":
            values = [pointer_get(r.body, pointer) for r in self.responses if 200 <= r.status < 300]
            holds, why = relation_holds([v for v in values if v is not MISSING], "unique")
            if not holds:
                self._fail(f"{pointer} to differ across the successful responses, but {why}", self.first())
            return self
        for response in self.responses:
            response.expect_relation(pointer, op, against)
        return self

    def expect_same_as(self, other: Response | Group | Walk, pointers: Sequence[str] = ()) -> Group:
        __tracebackhide__ = True
        for response in self.responses:
            response.expect_same_as(other, pointers)
        return self

    # Collection checks on a repeated or concurrent step look at its first successful response.

    def expect_contains(self, value: Any, *, items: str | None = None, id: str = "/id") -> Group:
        __tracebackhide__ = True
        self.first().expect_contains(value, items=items, id=id)
        return self

    def expect_not_contains(self, value: Any, *, items: str | None = None, id: str = "/id") -> Group:
        __tracebackhide__ = True
        self.first().expect_not_contains(value, items=items, id=id)
        return self

    def expect_each_once(
        self, ids: Sequence[Any] = (), *, items: str | None = None, id: str = "/id"
    ) -> Group:
        __tracebackhide__ = True
        self.first().expect_each_once(ids, items=items, id=id)
        return self

    def expect_count_delta(self, baseline: Response | Walk, delta: int, *, items: str | None = None) -> Group:
        __tracebackhide__ = True
        self.first().expect_count_delta(baseline, delta, items=items)
        return self

    def _fail(self, expected: str, response: Response) -> NoReturn:
        __tracebackhide__ = True
        index = self.responses.index(response) + 1
        response.fail(
            f"{expected} (call {index} of {len(self.responses)}; statuses in send order: {self.statuses()})",
            f"returned {response.status}",
        )


class Walk:
    """Every page of a paginated list, and every item collected across them."""

    def __init__(
        self, step: str, pages: list[Response], items: list[Any], total: Any, items_pointer: str
    ) -> None:
        self.step = step
        self.pages = pages
        self.items_collected = items
        self.total = total
        self.items_pointer = items_pointer

    def __repr__(self) -> str:
        return f"<Walk {self.step} pages={len(self.pages)} items={len(self.items_collected)}>"

    @property
    def count(self) -> int:
        return len(self.items_collected)

    def first(self) -> Response:
        return self.pages[0]

    def capture(self, pointer: str) -> Any:
        __tracebackhide__ = True
        return self.pages[0].capture(pointer)

    def capture_header(self, name: str) -> str:
        __tracebackhide__ = True
        return self.pages[0].capture_header(name)

    def sent(self, field_path: str) -> Any:
        __tracebackhide__ = True
        return self.pages[0].sent(field_path)

    def items(self, pointer: str | None = None) -> list[Any]:
        return self.items_collected

    def expect_status(self, *allowed: int | str) -> Walk:
        __tracebackhide__ = True
        for page in self.pages:
            page.expect_status(*allowed)
        return self

    def expect_conforms(self) -> Walk:
        __tracebackhide__ = True
        for page in self.pages:
            page.expect_conforms()
        return self

    def expect_relation(self, pointer: str, op: str, against: Any = MISSING) -> Walk:
        __tracebackhide__ = True
        for page in self.pages:
            page.expect_relation(pointer, op, against)
        return self

    def expect_same_as(self, other: Response | Group | Walk, pointers: Sequence[str] = ()) -> Walk:
        __tracebackhide__ = True
        self.pages[0].expect_same_as(other, pointers)
        return self

    def expect_contains(self, value: Any, *, items: str | None = None, id: str = "/id") -> Walk:
        __tracebackhide__ = True
        _contains(self, self.items_collected, value, id, present=True)
        return self

    def expect_not_contains(self, value: Any, *, items: str | None = None, id: str = "/id") -> Walk:
        __tracebackhide__ = True
        _contains(self, self.items_collected, value, id, present=False)
        return self

    def expect_each_once(self, ids: Sequence[Any] = (), *, items: str | None = None, id: str = "/id") -> Walk:
        """No item appears twice in the walk, and each of `ids` appears exactly once."""
        __tracebackhide__ = True
        _each_once(self, self.items_collected, ids, id)
        return self

    def expect_count_equals_total(self) -> Walk:
        """The number of items walked equals the total the first page reported."""
        __tracebackhide__ = True
        if self.total is MISSING or not isinstance(self.total, int) or isinstance(self.total, bool):
            self.pages[0].fail("a total count in the first page", f"reported {excerpt(self.total, 100)}")
        if self.total != self.count:
            self._fail(
                f"to collect as many items as the reported total ({self.total})", f"collected {self.count}"
            )
        return self

    def expect_count_delta(self, baseline: Response | Walk, delta: int, *, items: str | None = None) -> Walk:
        __tracebackhide__ = True
        _count_delta(self, self.count, baseline, delta, items)
        return self

    def fail(self, expected: str, got: str) -> NoReturn:
        __tracebackhide__ = True
        self._fail(expected, got)

    def _fail(self, expected: str, got: str) -> NoReturn:
        __tracebackhide__ = True
        first = self.pages[0]
        urls = "\n".join(
            f"  page {n}: {p.describe()} -> {p.status}" for n, p in enumerate(self.pages[:12], 1)
        )
        ids = excerpt(
            [pointer_get(i, "/id") if isinstance(i, Mapping) else i for i in self.items_collected], 400
        )
        message = (
            f"{first.claim.headline()}\n"
            f"Step {self.step!r} (a walk over {len(self.pages)} pages) expected {expected},\n"
            f"but it {got}.\n{urls}\nItems collected (ids): {ids}"
        )
        raise CrossfieldFailure(first._redactor.text(message))


# ---- collection checks shared by Response and Walk ------------------------------------------------

_Owner = Response | Walk


def _fail_owner(owner: _Owner, expected: str, got: str) -> NoReturn:
    __tracebackhide__ = True
    if isinstance(owner, Walk):
        owner._fail(expected, got)
    owner.fail(expected, got)


def _ids(items: list[Any], id_pointer: str) -> list[Any]:
    return [pointer_get(item, id_pointer) for item in items]


def _contains(owner: _Owner, items: list[Any], value: Any, id_pointer: str, *, present: bool) -> None:
    __tracebackhide__ = True
    ids = _ids(items, id_pointer)
    found = value in ids
    if found != present:
        expected = f"{'an' if present else 'no'} item with {id_pointer} = {excerpt(value, 100)}"
        got = f"{'did not' if present else 'did'} list one among {len(items)} items"
        _fail_owner(owner, expected, got)


def _each_once(owner: _Owner, items: list[Any], wanted: Sequence[Any], id_pointer: str) -> None:
    __tracebackhide__ = True
    ids = [i for i in _ids(items, id_pointer) if i is not MISSING]
    keys = [repr(i) for i in ids]
    repeated = sorted({k for k in keys if keys.count(k) > 1})
    problems = []
    if repeated:
        problems.append(f"listed {', '.join(repeated)} more than once")
    missing = [w for w in wanted if repr(w) not in keys]
    if missing:
        problems.append(f"never listed {excerpt(missing, 300)}")
    if problems:
        expected = f"every item exactly once (by {id_pointer})" + (
            f", including {excerpt(list(wanted), 300)}" if wanted else ""
        )
        _fail_owner(owner, expected, " and ".join(problems) + f" ({len(items)} items collected)")


def _count_delta(owner: _Owner, count: int, baseline: Response | Walk, delta: int, items: str | None) -> None:
    __tracebackhide__ = True
    before = baseline.count if isinstance(baseline, Walk) else len(baseline.items(items))
    if count - before != delta:
        _fail_owner(
            owner,
            f"the item count to change by {delta:+d} since step {baseline.step!r} (which had {before})",
            f"has {count} (a change of {count - before:+d})",
        )


def _differences(reference: Response, actual: Response, pointers: Sequence[str]) -> list[str]:
    problems: list[str] = []
    if not pointers:
        if reference.status != actual.status:
            problems.append(f"status {actual.status} differs from {reference.status}")
        if reference.body != actual.body:
            problems.append(f"body differs: {excerpt(actual.body, 300)}")
        return problems
    for pointer in pointers:
        left, right = pointer_get(reference.body, pointer), pointer_get(actual.body, pointer)
        if left != right:
            problems.append(f"{pointer} is {excerpt(right, 100)}, was {excerpt(left, 100)}")
    return problems
