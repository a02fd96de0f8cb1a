"""The runtime generated tests import: checks, redaction, schema drift, identities, groups and walks.

Most tests talk to an in-process `httpx.MockTransport`; concurrency is proven against a real server."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from crossfield._serving import serve_app
from crossfield.codegen._checks import MISSING, pointer_get, relation_holds, status_allowed
from crossfield.codegen._identities import IdentityBook
from crossfield.codegen._recording import Exchange
from crossfield.codegen._redact import REDACTED, Redactor
from crossfield.codegen.config import config_from_mapping
from crossfield.codegen.runtime import ApiSession, Claim, CrossfieldFailure, Paging, SpecBook
from crossfield.errors import ConfigError

Handler = Callable[[httpx.Request], httpx.Response]

SCHEMAS = {
    "format": "crossfield.schemas/1",
    "api": {"title": "T"},
    "operations": {
        "getThing": {
            "method": "GET",
            "path": "/things/{id}",
            "responses": {
                "200": {"$ref": "#/$defs/Thing"},
                "404": None,
                "4XX": {"type": "object", "required": ["error"]},
            },
        },
        "createThing": {"method": "POST", "path": "/things", "responses": {"201": {"$ref": "#/$defs/Thing"}}},
        "login": {"method": "POST", "path": "/login"},
    },
    "$defs": {
        "Thing": {
            "type": "object",
            "required": ["id", "amount"],
            "properties": {"id": {"type": "string"}, "amount": {"type": "integer", "minimum": 0}},
        }
    },
}


def session(
    handler: Handler,
    *,
    config: dict[str, Any] | None = None,
    records: list[Exchange] | None = None,
    identities: IdentityBook | None = None,
    redactor: Redactor | None = None,
) -> ApiSession:
    redactor = redactor or (identities._redactor if identities is not None else Redactor())
    book = identities or IdentityBook(config_from_mapping(config or {}), redactor)
    return ApiSession(
        "http://api.test",
        spec=SpecBook.from_data(SCHEMAS),
        identities=book,
        claim=Claim("h_1234", "Things keep their amount", "test_x"),
        recorder=records.append if records is not None else None,
        redactor=redactor,
        transport=httpx.MockTransport(handler),
    )


def json_response(status: int, body: Any, **headers: str) -> httpx.Response:
    return httpx.Response(status, json=body, headers=headers)


# ---- pure checks ------------------------------------------------------------------------------------


def test_pointers() -> None:
    doc = {"a": {"b/c": [10, {"~d": 1}]}, "": 5}
    assert pointer_get(doc, "/a/b~1c/0") == 10
    assert pointer_get(doc, "/a/b~1c/1/~0d") == 1
    assert pointer_get(doc, "") is doc
    assert pointer_get(doc, "/") == 5
    assert pointer_get(doc, "a/b~1c/0") == 10, "a missing leading slash is tolerated"
    assert pointer_get(doc, "/a/x") is MISSING
    assert pointer_get(doc, "/a/b~1c/9") is MISSING
    assert pointer_get([1], "/-") is MISSING


def test_status_bands_and_codes() -> None:
    assert status_allowed(201, ["2xx"])
    assert status_allowed(409, [400, 409])
    assert status_allowed(409, ["409"])
    assert not status_allowed(500, ["2xx", "4xx"])
    assert not status_allowed(200, [])


@pytest.mark.parametrize(
    ("actual", "op", "against", "holds"),
    [
        (5, "eq", 5, True),
        (5.0, "eq", 5, True),
        (0.1 + 0.2, "eq", 0.3, True),
        (True, "eq", 1, False),
        ("a", "ne", "b", True),
        (3, "lt", 4, True),
        (4, "le", 4, True),
        (5, "gt", 4, True),
        (4, "ge", 5, False),
        ("2024-01-02", "gt", "2024-01-01", True),
        ("x", "lt", 3, False),
        ("usd", "in", ["usd", "eur"], True),
        ("gbp", "not_in", ["usd", "eur"], True),
        (["a", "b"], "in", "a", True),
        ([1, 2], "len_eq", 2, True),
        ([1, 2], "len_ge", 3, False),
        ("abc", "len_le", 3, True),
        ([1, 2, 1], "unique", MISSING, False),
        ([{"a": 1}, {"a": 2}], "unique", MISSING, True),
        (MISSING, "exists", MISSING, False),
        (None, "exists", MISSING, True),
        (MISSING, "absent", MISSING, True),
        (None, "absent", MISSING, False),
        (MISSING, "eq", 1, False),
    ],
)
def test_relations(actual: Any, op: str, against: Any, holds: bool) -> None:
    assert relation_holds(actual, op, against)[0] is holds


def test_redaction_by_name_and_by_value() -> None:
    redactor = Redactor(["sk_live_abcdef"])
    headers = redactor.headers(
        [
            ("Authorization", "Bearer x"),
            ("X-API-Key", "k"),
            ("X-Session-Id", "s"),
            ("Cookie", "c=1"),
            ("Set-Cookie", "c=2"),
            ("Accept", "application/json"),
            ("X-Echo", "token sk_live_abcdef inside"),
        ]
    )
    assert headers == {
        "Authorization": REDACTED,
        "X-API-Key": REDACTED,
        "X-Session-Id": REDACTED,
        "Cookie": REDACTED,
        "Set-Cookie": REDACTED,
        "Accept": "application/json",
        "X-Echo": f"token {REDACTED} inside",
    }
    url = redactor.url("http://user:pw@h/p?api_key=1&access_token=2&key=3&limit=5")
    assert "pw" not in url and "api_key=[REDACTED]" in url and "limit=5" in url
    assert "access_token=[REDACTED]" in url and "&key=[REDACTED]" in url
    body = redactor.body(json.dumps({"user": "u", "password": "hunter22", "nested": [{"api_key": "k"}]}))
    assert body is not None and "hunter22" not in body and '"user": "u"' in body
    form = redactor.body("username=u&password=hunter22", "application/x-www-form-urlencoded")
    assert form is not None and "hunter22" not in form
    assert redactor.body("echo sk_live_abcdef") == f"echo {REDACTED}"
    assert redactor.body("x" * 70_000) is not None and len(redactor.body("x" * 70_000) or "") < 66_000


def test_bearer_tokens_are_scrubbed_without_their_scheme() -> None:
    redactor = Redactor(["Bearer tok_123456"])
    assert redactor.text("your token is tok_123456") == f"your token is {REDACTED}"
    assert redactor.text("ab") == "ab"
    redactor.add_secret("ab")  # too short to scrub safely
    assert redactor.text("ab") == "ab"


# ---- the session ------------------------------------------------------------------------------------


def thing_server(status: int = 200, body: Any = None) -> Handler:
    def handle(request: httpx.Request) -> httpx.Response:
        if request.url.path.startswith("/things/"):
            thing_id = request.url.path.rsplit("/", 1)[1]
            return json_response(status, body if body is not None else {"id": thing_id, "amount": 5})
        return json_response(404, {"error": "nope"})

    return handle


def test_call_fills_the_template_and_records_the_exchange() -> None:
    records: list[Exchange] = []
    seen: list[httpx.Request] = []

    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return json_response(200, {"id": "a/b", "amount": 5})

    api = session(handle, records=records)
    response = api.call(
        "GET", "/things/{id}", step="get", path={"id": "a/b c"}, query={"flag": True, "n": [1, 2]}
    )
    assert seen[0].url.raw_path == b"/things/a%2Fb%20c?flag=true&n=1&n=2"
    assert response.status == 200 and response.body == {"id": "a/b", "amount": 5}
    assert response.capture("/amount") == 5
    assert response.sent("path.id") == "a/b c"
    assert response.sent("query.flag") is True
    (exchange,) = records
    assert (exchange.step, exchange.seq, exchange.status, exchange.test_id, exchange.hypothesis_id) == (
        "get",
        1,
        200,
        "test_x",
        "h_1234",
    )
    assert exchange.url == "http://api.test/things/a%2Fb%20c?flag=true&n=1&n=2"
    assert exchange.response_body == '{"id":"a/b","amount":5}'
    assert api.exchanges == records


def test_every_5xx_fails_with_the_claim() -> None:
    api = session(thing_server(503, {"oops": 1}))
    with pytest.raises(CrossfieldFailure) as info:
        api.call("GET", "/things/{id}", step="get", path={"id": "1"}, expect="4xx")
    message = str(info.value)
    assert "Hypothesis h_1234 claims: Things keep their amount" in message
    assert "a 5xx is never an acceptable outcome" in message
    assert "GET http://api.test/things/1 returned 503" in message
    assert '{"oops":1}' in message


def test_status_claim_is_checked_before_schema_drift() -> None:
    api = session(thing_server(200, {"id": 7}))
    with pytest.raises(CrossfieldFailure, match="expected status 4xx"):
        api.call("GET", "/things/{id}", step="get", path={"id": "1"}, expect="4xx")


def test_schema_drift_is_a_structured_diff() -> None:
    api = session(thing_server(200, {"id": 7, "amount": -1}))
    with pytest.raises(CrossfieldFailure) as info:
        api.call("GET", "/things/{id}", step="get", path={"id": "1"}, expect="2xx")
    message = str(info.value)
    assert "Schema drift in step 'get'" in message and "schema for 200" in message
    pointers = {d["pointer"]: d for d in info.value.drift}
    assert pointers["/id"]["expected"] == {"type": "string"} and pointers["/id"]["actual"] == 7
    assert pointers["/amount"]["expected"] == {"type": "integer", "minimum": 0}
    assert "at /amount: -1 is less than the minimum of 0" in message


def test_status_ranges_default_and_undocumented_statuses() -> None:
    api = session(thing_server(418, {"error": "teapot"}))
    assert api.call("GET", "/things/{id}", step="get", path={"id": "1"}).status == 418, "4XX range matches"
    api = session(thing_server(418, {"nope": 1}))
    with pytest.raises(CrossfieldFailure, match="schema for 4XX"):
        api.call("GET", "/things/{id}", step="get", path={"id": "1"})
    api = session(thing_server(404, "not json at all"))
    api.call("GET", "/things/{id}", step="get", path={"id": "1"})  # documented without a schema
    api = session(thing_server(302, {}))
    api.call("GET", "/things/{id}", step="get", path={"id": "1"})
    assert api.notes and "returned 302, which the spec does not document" in api.notes[0]


def test_non_json_body_for_a_json_schema_is_drift() -> None:
    api = session(lambda r: httpx.Response(200, text="<html>oops</html>"))
    with pytest.raises(CrossfieldFailure, match="not JSON"):
        api.call("GET", "/things/{id}", step="get", path={"id": "1"})


def test_identities_headers_env_and_login(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BOB_KEY", "bob-secret-key")
    logins: list[dict[str, Any]] = []
    records: list[Exchange] = []

    def handle(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/login":
            logins.append(json.loads(request.content))
            return json_response(200, {"access_token": "tok-carol-123"})
        return json_response(200, {"headers": dict(request.headers), "id": "1", "amount": 1})

    config = {
        "default_identity": "alice",
        "identities": {
            "alice": {"headers": {"Authorization": "Bearer alice-token"}},
            "bob": {"headers": {"X-API-Key": "${BOB_KEY}"}},
            "carol": {
                "login": {
                    "operation": "login",
                    "body": {"username": "carol", "password": "s3cret-pw"},
                    "token_pointer": "/access_token",
                }
            },
        },
    }
    redactor = Redactor()
    book = IdentityBook(config_from_mapping(config), redactor)
    for _ in range(2):  # two tests of one run share the identity book: carol logs in once
        api = session(handle, identities=book, records=records)
        assert (
            api.call("GET", "/things/{id}", step="a", path={"id": "1"}).body["headers"]["authorization"]
            == "Bearer alice-token"
        )
        assert (
            api.call("GET", "/things/{id}", step="b", path={"id": "1"}, identity="bob").body["headers"][
                "x-api-key"
            ]
            == "bob-secret-key"
        )
        carol = api.call("GET", "/things/{id}", step="c", path={"id": "1"}, identity="carol")
        assert carol.body["headers"]["authorization"] == "Bearer tok-carol-123"
        overridden = api.call(
            "GET", "/things/{id}", step="d", path={"id": "1"}, headers={"authorization": "Bearer other"}
        )
        assert overridden.body["headers"]["authorization"] == "Bearer other"
    assert logins == [{"username": "carol", "password": "s3cret-pw"}]
    recorded = json.dumps([e.to_dict() for e in records])
    for secret in ("alice-token", "bob-secret-key", "tok-carol-123", "s3cret-pw"):
        assert secret not in recorded, secret
    assert [e.step for e in records].count("login") == 1


def test_unknown_identity_and_missing_env_are_config_errors(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NOPE_KEY", raising=False)
    api = session(thing_server(), config={"identities": {"bob": {"headers": {"K": "${NOPE_KEY}"}}}})
    with pytest.raises(ConfigError, match="identity 'zed', which is not configured"):
        api.call("GET", "/things/{id}", step="a", path={"id": "1"}, identity="zed")
    with pytest.raises(ConfigError, match="NOPE_KEY"):
        api.call("GET", "/things/{id}", step="a", path={"id": "1"}, identity="bob")
    assert api.call("GET", "/things/{id}", step="a", path={"id": "1"}).status == 200, "default: no auth"


def test_failed_login_says_so() -> None:
    api = session(
        lambda r: json_response(401, {"error": "bad"}),
        config={
            "identities": {"carol": {"login": {"method": "POST", "path": "/login", "token_pointer": "/t"}}}
        },
    )
    with pytest.raises(ConfigError, match="login POST /login returned 401"):
        api.call("GET", "/things/{id}", step="a", path={"id": "1"}, identity="carol")


def test_unique_values() -> None:
    api = session(thing_server())
    assert api.unique("key") == api.unique("key")
    assert api.unique("key") != api.unique("other")
    assert api.unique("key").startswith("key-")
    assert "@" in api.unique("mail", format="email")
    assert len(api.unique("id", format="uuid")) == 36
    assert session(thing_server()).unique("key") != api.unique("key"), "fresh per test"


def test_captures_and_their_failures() -> None:
    api = session(lambda r: json_response(200, {"id": "1", "amount": 2}, Location="/things/1"))
    response = api.call("GET", "/things/{id}", step="get", path={"id": "1"})
    assert response.capture_header("Location") == "/things/1"
    assert response.capture_header("/location") == "/things/1"
    with pytest.raises(CrossfieldFailure, match="a value at /nope to capture"):
        response.capture("/nope")
    with pytest.raises(CrossfieldFailure, match=r"sent no value for 'body\.x'"):
        response.sent("body.x")


def test_same_response_and_relations_on_responses() -> None:
    counter = iter(range(100))
    api = session(lambda r: json_response(200, {"id": "1", "amount": next(counter)}))
    first = api.call("GET", "/things/{id}", step="first", path={"id": "1"})
    second = api.call("GET", "/things/{id}", step="second", path={"id": "1"})
    second.expect_same_as(first, ["/id"])
    with pytest.raises(CrossfieldFailure, match="the same response as step 'first'"):
        second.expect_same_as(first)
    second.expect_relation("/amount", "gt", first.capture("/amount"))
    with pytest.raises(
        CrossfieldFailure, match=r"expected /amount == 9,\nbut GET .* returned 200, where it is 1"
    ):
        second.expect_relation("/amount", "eq", 9)


def test_repeat_and_group_counts() -> None:
    statuses = iter([201, 201, 429, 429])
    records: list[Exchange] = []
    api = session(lambda r: json_response(next(statuses), {"id": "1", "amount": 1}), records=records)
    group = api.repeat(4, "POST", "/things", step="burst", json={"a": 1})
    assert group.statuses() == [201, 201, 429, 429]
    group.expect_count(429, at_least=1)
    group.expect_count("2xx", at_most=2)
    with pytest.raises(
        CrossfieldFailure, match=r"at most 1 of its 4 repeated calls to return 2xx,\nbut 2 did"
    ):
        group.expect_count("2xx", at_most=1)
    with pytest.raises(CrossfieldFailure, match="call 3 of 4"):
        group.expect_status("2xx")
    assert group.capture("/id") == "1"
    assert [r.seq for r in records] == [1, 2, 3, 4]


def test_concurrent_group_with_a_mock_transport() -> None:
    api = session(lambda r: json_response(201, {"id": "1", "amount": 1}))
    group = api.concurrent(5, "POST", "/things", step="rush", json={}, expect="2xx")
    assert group.statuses() == [201] * 5 and group.concurrent


def test_concurrent_fresh_headers_give_each_request_its_own_value() -> None:
    """Simultaneous *distinct* requests (a concurrency claim) each carry their own idempotency key; other
    headers are shared, and the same header without `fresh_headers` is the same in every request."""
    seen: list[tuple[str | None, str | None]] = []
    lock = threading.Lock()

    def handler(request: httpx.Request) -> httpx.Response:
        with lock:
            seen.append((request.headers.get("Idempotency-Key"), request.headers.get("X-Trace")))
        return json_response(201, {"id": "1", "amount": 1})

    api = session(handler)
    api.concurrent(
        4,
        "POST",
        "/things",
        step="rush",
        json={},
        headers={"X-Trace": "t1"},
        fresh_headers=["Idempotency-Key"],
        expect="2xx",
    )
    keys = [k for k, _ in seen]
    assert len(seen) == 4 and None not in keys and len(set(keys)) == 4
    assert {t for _, t in seen} == {"t1"}
    seen.clear()
    api.concurrent(3, "POST", "/things", step="replay", json={}, headers={"Idempotency-Key": "same"})
    assert {k for k, _ in seen} == {"same"}


def test_concurrent_calls_reach_a_real_server_at_the_same_time() -> None:
    from fastapi import FastAPI

    app = FastAPI()
    state = {"now": 0, "max": 0}

    @app.post("/slow")
    async def slow() -> dict[str, int]:
        state["now"] += 1
        state["max"] = max(state["max"], state["now"])
        await asyncio.sleep(0.3)
        state["now"] -= 1
        return {"ok": 1}

    with serve_app(app) as url, ApiSession(url) as api:
        started = time.perf_counter()
        group = api.concurrent(8, "POST", "/slow", step="rush", expect="2xx")
        elapsed = time.perf_counter() - started
    assert group.statuses() == [200] * 8
    assert state["max"] == 8, "all eight requests were in flight together"
    assert elapsed < 8 * 0.3 / 2


def test_transport_errors_explain_themselves() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    records: list[Exchange] = []
    api = session(refuse, records=records)
    with pytest.raises(CrossfieldFailure, match=r"Is the API running at http://api\.test"):
        api.call("GET", "/things/{id}", step="get", path={"id": "1"})
    assert records[0].status is None and "refused" in (records[0].error or "")


# ---- walks --------------------------------------------------------------------------------------------


def list_server(
    items: list[dict[str, Any]], style: str, *, skip_bug: bool = False, loop: bool = False
) -> Handler:
    def handle(request: httpx.Request) -> httpx.Response:
        query = {k: v[0] for k, v in parse_qs(urlsplit(str(request.url)).query).items()}
        limit = int(query.get("limit", 2))
        if style == "offset":
            start = int(query.get("offset", 0))
            start = start + 1 if skip_bug and start else start
        elif style == "page":
            start = (int(query.get("page", 1)) - 1) * limit
        else:
            after = query.get("after")
            start = next((i + 1 for i, it in enumerate(items) if it["id"] == after), 0) if after else 0
        if loop:
            start = 0
        page = items[start : start + limit]
        body: dict[str, Any] = {"data": page, "total": len(items), "has_more": start + limit < len(items)}
        if style == "cursor":
            body["next"] = page[-1]["id"] if body["has_more"] else None
        if style == "link":
            body["next_url"] = f"/items?after={page[-1]['id']}&limit={limit}" if body["has_more"] else None
        return json_response(200, body)

    return handle


ITEMS = [{"id": f"i{n}"} for n in range(5)]


@pytest.mark.parametrize(
    "paging",
    [
        Paging(style="offset", size_param="query.limit", offset_param="query.offset", total_pointer="/total"),
        Paging(style="page", size_param="query.limit", page_param="query.page", total_pointer="/total"),
        Paging(
            style="cursor",
            size_param="query.limit",
            cursor_param="query.after",
            cursor_pointer="/next",
            total_pointer="/total",
        ),
        Paging(
            style="cursor",
            size_param="query.limit",
            cursor_param="query.after",
            cursor_from_last_item="/id",
            has_more_pointer="/has_more",
            total_pointer="/total",
        ),
        Paging(style="link", size_param="query.limit", next_pointer="/next_url", total_pointer="/total"),
    ],
    ids=["offset", "page", "cursor", "last-item", "link"],
)
def test_walk_styles(paging: Paging) -> None:
    style = "cursor" if paging.style == "link" else paging.style
    handler = list_server(ITEMS, style)
    if paging.style == "link":
        handler = list_server(ITEMS, "link")
    api = session(handler)
    walk = api.walk("GET", "/items", step="walk", paging=paging, expect="2xx")
    assert [i["id"] for i in walk.items()] == [i["id"] for i in ITEMS]
    assert len(walk.pages) == 3
    walk.expect_each_once(["i0", "i4"]).expect_count_equals_total().expect_contains("i3").expect_not_contains(
        "i9"
    )


def test_walk_finds_skipped_items_and_duplicates() -> None:
    api = session(list_server(ITEMS, "offset", skip_bug=True))
    walk = api.walk(
        "GET",
        "/items",
        step="walk",
        paging=Paging(
            style="offset", size_param="query.limit", offset_param="query.offset", total_pointer="/total"
        ),
    )
    with pytest.raises(CrossfieldFailure, match=r"never listed \[\"i2\"\]"):
        walk.expect_each_once(["i0", "i2"])
    with pytest.raises(CrossfieldFailure, match=r"(?s)reported total \(5\).*collected 4"):
        walk.expect_count_equals_total()


def test_walk_detects_loops_and_bounds() -> None:
    paging = Paging(style="offset", size_param="query.limit", offset_param="query.offset")
    with pytest.raises(CrossfieldFailure, match="pagination loop: page 2 repeats page 1"):
        session(list_server(ITEMS, "offset", loop=True)).walk("GET", "/items", step="walk", paging=paging)
    cursor = Paging(style="cursor", cursor_param="query.after", cursor_pointer="/next")
    with pytest.raises(CrossfieldFailure, match="gives cursor"):
        session(lambda r: json_response(200, {"data": [{"id": str(r.url)}], "next": "same"})).walk(
            "GET", "/items", step="walk", paging=cursor
        )
    endless = Paging(style="page", page_param="query.page", page_size=1, max_pages=3)
    pages = iter(range(100))
    with pytest.raises(CrossfieldFailure, match="within max_pages=3"):
        session(lambda r: json_response(200, {"data": [{"id": next(pages)}]})).walk(
            "GET", "/items", step="w", paging=endless
        )
    with pytest.raises(CrossfieldFailure, match="expected a list of items at /data"):
        session(lambda r: json_response(200, {"items": []})).walk("GET", "/items", step="w", paging=paging)
    with pytest.raises(CrossfieldFailure, match="page 1 of the walk returned 404"):
        session(lambda r: json_response(404, {"error": "x"})).walk("GET", "/items", step="w", paging=paging)


def test_count_delta_between_lists() -> None:
    sizes = iter([2, 3])
    api = session(lambda r: json_response(200, {"data": [{"id": n} for n in range(next(sizes))]}))
    before = api.call("GET", "/items", step="before")
    after = api.call("GET", "/items", step="after")
    after.expect_count_delta(before, 1, items="/data")
    with pytest.raises(CrossfieldFailure, match=r"change by \+2 since step 'before' \(which had 2\)"):
        after.expect_count_delta(before, 2)


def test_cookies_join_the_identity_cookie() -> None:
    seen: list[httpx.Request] = []

    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return json_response(200, {"id": "1", "amount": 1})

    api = session(handle, config={"identities": {"dora": {"headers": {"Cookie": "session=abc123"}}}})
    api.call(
        "GET",
        "/things/{id}",
        step="get",
        path={"id": "1"},
        identity="dora",
        cookies={"theme": "dark", "x": None},
    )
    assert seen[0].headers["cookie"] == "session=abc123; theme=dark"
    assert api.exchanges[0].request_headers["cookie"] == REDACTED


def test_a_throttled_step_skips_the_test_instead_of_failing_the_claim() -> None:
    """A 429 where the step expects success means the claim could not be judged: skipped, saying why.
    A step that expects the 429 (a rate-limit claim) still sees it as a pass."""
    api = session(lambda r: json_response(429, {"error": "slow down"}, **{"Retry-After": "30"}))
    with pytest.raises(pytest.skip.Exception, match=r"rate limited \(429, Retry-After 30\)"):
        api.call("POST", "/things", step="setup", json={}, expect="2xx")
    assert api.call("POST", "/things", step="burst", json={}, expect=429).status == 429
    with pytest.raises(CrossfieldFailure):
        session(lambda r: json_response(409, {})).call("POST", "/things", step="s", json={}, expect="2xx")


def test_a_refused_setup_step_skips_the_test_but_a_claim_step_fails() -> None:
    api = session(lambda r: json_response(422, {"message": "no equipment string"}))
    with pytest.raises(
        pytest.skip.Exception, match=r"setup step 'create_rental' was refused: .*422.*no equipment"
    ):
        api.call("POST", "/things", step="create_rental", json={"a": 1}, expect="2xx", setup=True)
    with pytest.raises(CrossfieldFailure, match="expected status 2xx"):
        api.call("POST", "/things", step="first_request", json={"a": 1}, expect="2xx")


def test_a_setup_step_answering_5xx_still_fails() -> None:
    api = session(lambda r: json_response(500, {"message": "boom"}))
    with pytest.raises(CrossfieldFailure, match="no server error"):
        api.call("POST", "/things", step="create_rental", json={"a": 1}, expect="2xx", setup=True)
