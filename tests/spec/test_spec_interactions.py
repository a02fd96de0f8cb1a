"""The interaction map on small specs written for the purpose: every fact kind, with evidence pointers."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from crossfield.spec import load_spec, load_spec_from_text
from crossfield.spec.interactions import (
    FACT_KINDS,
    FieldRelation,
    InteractionMap,
    Link,
    build_interaction_map,
)
from crossfield.spec.model import Api


@pytest.fixture(scope="module")
def api() -> Api:
    return load_spec(
        Path(__file__).resolve().parents[1] / "fixtures" / "specs" / "interactions-3.0.yaml", cache=False
    )


@pytest.fixture(scope="module")
def imap(api: Api) -> InteractionMap:
    return build_interaction_map(api)


def _links(imap: InteractionMap, consumer: str, field: str) -> list[Link]:
    return [link for link in imap.links if link.consumer == consumer and link.consumer_field == field]


def _relation(imap: InteractionMap, kind: str, *fields: str) -> FieldRelation:
    for r in imap.field_relations:
        if r.relation == kind and set(fields) <= set(r.fields):
            return r
    raise AssertionError(
        f"no {kind} relation over {fields}: {[(r.relation, r.fields) for r in imap.field_relations]}"
    )


def test_serializes_to_json(imap: InteractionMap) -> None:
    data = json.loads(json.dumps(imap.to_dict()))
    assert data["counts"] == imap.counts()
    assert set(data["counts"]) == set(FACT_KINDS)
    assert all(n > 0 for n in imap.counts().values()), imap.counts()
    for fact in imap.facts():
        d = fact.to_dict()
        assert d["kind"] == fact.kind
        assert d.get("evidence"), f"{fact.kind} without evidence"
        for ev in d["evidence"]:
            assert ev["pointer"].startswith(("/paths/", "/components/", "/info/")), ev


def test_immutable(imap: InteractionMap) -> None:
    with pytest.raises(AttributeError):
        imap.links[0].producer = "x"  # type: ignore[misc]


def test_links_from_openapi_links_location_and_structure(imap: InteractionMap) -> None:
    # The explicit OpenAPI link outranks the structural guess of the same producer field.
    sources = {link.source for link in _links(imap, "getCustomer", "path.customer_id")}
    assert sources == {"openapi_link", "location_header"}
    openapi = next(link for link in imap.links if link.source == "openapi_link")
    assert (openapi.producer, openapi.producer_field, openapi.consumer, openapi.consumer_field) == (
        "createCustomer",
        "response.id",
        "getCustomer",
        "path.customer_id",
    )
    assert (
        openapi.evidence[0].pointer
        == "/paths/~1customers/post/responses/201/links/GetCreatedCustomer/parameters/customer_id"
    )
    location = next(link for link in imap.links if link.source == "location_header")
    assert location.producer_field == "header.Location"
    (capture,) = _links(imap, "captureCharge", "path.charge_id")
    assert (capture.producer, capture.producer_field, capture.source) == (
        "createCharge",
        "response.id",
        "path_structure",
    )
    # A sub-collection's parent id comes from the parent's create.
    (refunds,) = _links(imap, "listRefunds", "path.charge_id")
    assert refunds.producer == "createCharge"


def test_links_by_name(imap: InteractionMap) -> None:
    (link,) = _links(imap, "createCharge", "body.customer")
    assert (link.producer, link.producer_field, link.source, link.resource) == (
        "createCustomer",
        "response.id",
        "name_match",
        "customer",
    )
    assert link.evidence[0].pointer.endswith("/properties/customer")


def test_links_by_name_and_suffix_with_type_check() -> None:
    api = load_spec_from_text(
        """
openapi: 3.0.3
info: {title: T, version: "1"}
paths:
  /payment-methods:
    post:
      operationId: createPaymentMethod
      responses:
        "201": {description: ok, content: {application/json: {schema: {type: object, properties: {id: {type: integer}}}}}}
  /orders:
    post:
      operationId: createOrder
      requestBody:
        content:
          application/json:
            schema:
              type: object
              properties:
                paymentMethodId: {type: integer}
                backup_payment_method_id: {type: integer}
                payment_method_ids: {type: array, items: {type: integer}}
                payment_method_enabled: {type: boolean}
                payment_method_label: {type: integer}
      responses: {"201": {description: ok}}
"""
    )
    imap = build_interaction_map(api)
    consumers = {link.consumer_field for link in imap.links if link.producer == "createPaymentMethod"}
    assert consumers == {"body.paymentMethodId", "body.backup_payment_method_id", "body.payment_method_ids"}


def test_resources_and_lifecycle(imap: InteractionMap) -> None:
    customer = imap.resource("customer")
    assert customer is not None
    assert (customer.collection_path, customer.item_path, customer.id_parameter) == (
        "/customers",
        "/customers/{customer_id}",
        "path.customer_id",
    )
    assert (customer.create, customer.read, customer.list, customer.update, customer.delete) == (
        "createCustomer",
        "getCustomer",
        "listCustomers",
        "updateCustomer",
        "deleteCustomer",
    )
    charge = imap.resource("charge")
    assert charge is not None
    verbs = {a.verb: a for a in charge.actions}
    assert set(verbs) == {"capture", "refund"}
    assert verbs["refund"].terminal and not verbs["capture"].terminal
    refund = imap.resource("/charges/{}/refunds")
    assert refund is not None and refund.parent == "/charges" and refund.list == "listRefunds"
    assert charge.evidence[0].pointer == "/paths/~1charges/post"


def test_action_verbs_of_every_shape() -> None:
    api = load_spec_from_text(
        """
openapi: 3.0.3
info: {title: T, version: "1"}
paths:
  /v1/subscriptions/{id}/pause: {post: {operationId: pause, responses: {"200": {description: ok}}}}
  /v1/invoices/{invoice}/mark_uncollectible: {post: {operationId: markUncollectible, responses: {"200": {description: ok}}}}
  /v1/jobs/{name}:cancel: {post: {operationId: cancelJob, responses: {"200": {description: ok}}}}
  /v1/orders/search: {get: {operationId: searchOrders, responses: {"200": {description: ok}}}}
  /v1/account: {get: {operationId: getAccount, responses: {"200": {description: ok}}}}
"""
    )
    imap = build_interaction_map(api)
    actions = {a.operation_id: a for r in imap.resources for a in r.actions}
    assert actions["pause"].verb == "pause" and not actions["pause"].terminal
    assert actions["markUncollectible"].verb == "mark"
    assert actions["cancelJob"].verb == "cancel" and actions["cancelJob"].terminal
    assert actions["searchOrders"].verb == "search" and not actions["searchOrders"].item_level
    account = imap.resource("account")
    assert account is not None and account.singleton and account.read == "getAccount"


def test_state_field(imap: InteractionMap) -> None:
    (status,) = [s for s in imap.state_fields if s.resource == "charge" and s.name == "status"]
    assert status.values == ("pending", "succeeded", "failed", "refunded", "canceled")
    assert set(status.terminal_values) == {"succeeded", "failed", "refunded", "canceled"}
    moves = {(t.operation_id, t.via) for t in status.transitions}
    assert {("captureCharge", "action"), ("refundCharge", "action"), ("createCharge", "create")} <= moves
    refund = next(t for t in status.transitions if t.operation_id == "refundCharge")
    assert refund.likely_values == ("refunded",) and refund.terminal
    assert status.client_settable  # createCharge accepts `status`
    assert any(e.pointer.endswith("/properties/status") for e in status.evidence)


@pytest.mark.parametrize(
    ("kind", "fields", "source"),
    [
        ("one_of", ("body.card_token", "body.bank_account"), "schema"),
        ("any_of", ("body.email", "body.phone"), "schema"),
        ("dependent_required", ("body.billing_address", "body.postal_code"), "schema"),
        ("conditional", ("body.kind", "body.group_name"), "schema"),
        ("mutually_exclusive", ("body.promo", "body.referral"), "schema"),
        ("temporal", ("body.start_time", "body.end_time"), "name"),
        ("range", ("body.min_guests", "body.max_guests"), "name"),
        ("amount_currency", ("body.amount", "body.currency"), "name"),
        ("arithmetic", ("body.items[].quantity", "body.items[].unit_price", "body.items[].total"), "name"),
        ("arithmetic", ("body.subtotal", "body.tax", "body.total"), "name"),
        ("arithmetic", ("body.items[].total", "body.total"), "name"),
        ("mutually_exclusive", ("body.coupon_code", "body.gift_card"), "description"),
        ("co_required", ("body.start_time", "body.end_time"), "description"),
        ("dependent_required", ("body.address", "body.delivery"), "description"),
        ("range", ("body.guests", "body.max_guests"), "description"),
    ],
)
def test_field_relations(imap: InteractionMap, kind: str, fields: tuple[str, ...], source: str) -> None:
    relation = _relation(imap, kind, *fields)
    assert relation.source == source
    assert relation.evidence
    if source == "description":
        assert relation.evidence[0].text and relation.evidence[0].pointer.endswith(
            "/properties/" + fields[0].split(".")[-1]
        )
    if source == "schema":
        assert "/requestBody/content/application~1json/schema" in relation.evidence[0].pointer


def test_relation_from_two_signals_keeps_both_evidences(imap: InteractionMap) -> None:
    # Stated in prose and implied by the names: the sentence comes first, the names' pointers follow.
    relation = _relation(imap, "temporal", "body.check_in", "body.check_out")
    assert relation.fields == ("body.check_in", "body.check_out") and relation.source == "description"
    texts = [e.text for e in relation.evidence if e.text]
    assert texts == ["Must be after `check_in`."]
    assert relation.evidence[0].pointer.endswith("/properties/check_out")
    assert any(e.pointer.endswith("/properties/check_in") and e.text is None for e in relation.evidence)


def test_one_of_groups() -> None:
    api = load_spec_from_text(
        """
openapi: 3.1.0
info: {title: T, version: "1"}
paths:
  /pay:
    post:
      operationId: pay
      requestBody:
        content:
          application/json:
            schema:
              type: object
              properties:
                kind: {type: string}
                card_number: {type: string}
                cvc: {type: string}
                iban: {type: string}
              oneOf:
                - {required: [kind, card_number, cvc]}
                - {required: [kind, iban]}
      responses: {"200": {description: ok}}
"""
    )
    (r,) = [r for r in build_interaction_map(api).field_relations if r.relation == "one_of"]
    assert r.groups == (("body.card_number", "body.cvc"), ("body.iban",))


_A, _B = "body.a_field", "body.b_field"


@pytest.mark.parametrize(
    ("sentence", "kind", "fields"),
    [
        ("Cannot be used together with `b_field`.", "mutually_exclusive", (_A, _B)),
        ("Only one of `a_field` and `b_field` may be set.", "mutually_exclusive", (_A, _B)),
        ("Exactly one of `a_field` or `b_field` must be provided.", "one_of", (_A, _B)),
        ("At least one of `a_field` and `b_field` is needed.", "any_of", (_A, _B)),
        # "a must be given together with b": whenever `b` is sent, `a` must be too (trigger first).
        ("Must be provided together with `b_field`.", "dependent_required", (_B, _A)),
        ("Required when `b_field` is set.", "dependent_required", (_B, _A)),
        ("Requires `b_field`.", "dependent_required", (_A, _B)),
        ("Only valid if `b_field` is `card`.", "conditional", (_A, _B)),
        ("Must not exceed `b_field`.", "range", (_A, _B)),
        ("Must be greater than `b_field`.", "range", (_B, _A)),
        ("Must equal the sum of `b_field` values.", "arithmetic", (_A, _B)),
    ],
)
def test_prose_patterns(sentence: str, kind: str, fields: tuple[str, ...]) -> None:
    api = load_spec_from_text(
        f"""
openapi: 3.0.3
info: {{title: T, version: "1"}}
paths:
  /x:
    post:
      operationId: x
      requestBody:
        content:
          application/json:
            schema:
              type: object
              properties:
                a_field: {{type: integer, description: "{sentence}"}}
                b_field: {{type: integer}}
      responses: {{"200": {{description: ok}}}}
"""
    )
    relations = [r for r in build_interaction_map(api).field_relations if r.source == "description"]
    assert [(r.relation, r.fields) for r in relations] == [(kind, fields)]
    assert relations[0].evidence[0].text == sentence
    assert relations[0].evidence[0].pointer.endswith("/properties/a_field")


def _body_relations(properties: str, description: str = "") -> list[tuple[str, tuple[str, ...]]]:
    """(kind, fields) of the prose relations of one POST whose body has `properties` (YAML flow mappings)."""
    api = load_spec_from_text(
        f"""
openapi: 3.0.3
info: {{title: T, version: "1"}}
paths:
  /x:
    post:
      operationId: x
      description: {json.dumps(description)}
      requestBody:
        content:
          application/json:
            schema:
              type: object
              properties:
{properties}
      responses: {{"200": {{description: ok}}}}
"""
    )
    return sorted(
        (r.relation, r.fields)
        for r in build_interaction_map(api).field_relations
        if r.source == "description"
    )


_COUPON = """                percent_off: {type: number}
                amount_off: {type: integer}
                currency: {type: string}
"""


def test_a_sentence_with_two_relations_in_two_directions() -> None:
    """A requirement and an exclusion in one sentence are two relations, not one exclusion of three fields:
    `amount_off` needs `currency`, and `currency` excludes `percent_off`."""
    found = _body_relations(
        _COUPON, "* `currency` is required together with `amount_off` and not allowed with `percent_off`."
    )
    assert found == [
        ("dependent_required", ("body.amount_off", "body.currency")),
        ("mutually_exclusive", ("body.currency", "body.percent_off")),
    ]


def test_clauses_of_a_field_description_are_read_apart() -> None:
    properties = _COUPON.replace(
        "amount_off: {type: integer}",
        'amount_off: {type: integer, description: "Requires `currency`; mutually exclusive with `percent_off`."}',
    )
    assert _body_relations(properties) == [
        ("dependent_required", ("body.amount_off", "body.currency")),
        ("mutually_exclusive", ("body.amount_off", "body.percent_off")),
    ]


def test_requirement_relation_keeps_its_groups() -> None:
    api = load_spec_from_text(
        """
openapi: 3.0.3
info: {title: T, version: "1"}
paths:
  /x:
    post:
      operationId: x
      requestBody:
        content:
          application/json:
            schema:
              type: object
              properties:
                amount_off: {type: integer}
                currency: {type: string, description: Required together with `amount_off`.}
      responses: {"200": {description: ok}}
"""
    )
    (r,) = [r for r in build_interaction_map(api).field_relations if r.relation == "dependent_required"]
    assert r.fields == ("body.amount_off", "body.currency")
    assert r.groups == (("body.amount_off",), ("body.currency",))
    assert r.evidence[0].text == "Required together with `amount_off`."


@pytest.mark.parametrize(
    ("description", "expected"),
    [
        # "exactly one" or "must": one is required; "can be set" / "may pass": at most one, none is fine.
        (
            "Exactly one of `a_x`, `b_x` and `c_x` must be given.",
            [("one_of", ("body.a_x", "body.b_x", "body.c_x"))],
        ),
        ("Either `a_x` or `b_x` must be given, but not both.", [("one_of", ("body.a_x", "body.b_x"))]),
        ("Only one of `a_x` and `b_x` can be set.", [("mutually_exclusive", ("body.a_x", "body.b_x"))]),
        (
            "You may pass either `a_x` or `b_x`, but not both.",
            [("mutually_exclusive", ("body.a_x", "body.b_x"))],
        ),
        (
            "`a_x`, `b_x` and `c_x` are mutually exclusive.",
            [
                ("mutually_exclusive", ("body.a_x", "body.b_x")),
                ("mutually_exclusive", ("body.a_x", "body.c_x")),
                ("mutually_exclusive", ("body.b_x", "body.c_x")),
            ],
        ),
        ("At least one of `a_x` and `c_x` is required.", [("any_of", ("body.a_x", "body.c_x"))]),
    ],
)
def test_groups_of_alternatives(description: str, expected: list[tuple[str, tuple[str, ...]]]) -> None:
    properties = "".join(f"                {n}: {{type: string}}\n" for n in ("a_x", "b_x", "c_x"))
    assert _body_relations(properties, description) == expected


def test_time_order_between_dates_and_bound_between_numbers() -> None:
    properties = """                opens_on: {type: string, format: date}
                closes_on: {type: string, format: date, description: Must be after `opens_on`.}
                floor_price: {type: integer}
                ceiling_price: {type: integer, description: Must be greater than `floor_price`.}
"""
    relations = _body_relations(properties)
    assert ("temporal", ("body.opens_on", "body.closes_on")) in relations
    assert ("range", ("body.floor_price", "body.ceiling_price")) in relations


def test_query_parameters_are_read_clause_by_clause() -> None:
    api = load_spec_from_text(
        """
openapi: 3.0.3
info: {title: T, version: "1"}
paths:
  /x:
    get:
      operationId: listX
      parameters:
        - {name: ids, in: query, schema: {type: string}, description: "Cannot be used with `after_key` or `before_key`."}
        - {name: after_key, in: query, schema: {type: string}}
        - {name: before_key, in: query, schema: {type: string}}
      responses: {"200": {description: ok}}
"""
    )
    found = sorted((r.relation, r.fields) for r in build_interaction_map(api).field_relations)
    assert found == [
        ("mutually_exclusive", ("query.ids", "query.after_key")),
        ("mutually_exclusive", ("query.ids", "query.before_key")),
    ]


def test_plain_words_are_whole_words() -> None:
    """With no backticks, a field is named by its name as a word of its own: `line` is not in "multi-line"."""
    properties = """                line: {type: integer}
                start_line: {type: integer, description: Required when using multi-line comments.}
"""
    assert _body_relations(properties) == []


def test_sentences_about_nested_fields_are_still_read_whole() -> None:
    api = load_spec_from_text(
        """
openapi: 3.0.3
info: {title: T, version: "1"}
paths:
  /x:
    post:
      operationId: x
      requestBody:
        content:
          application/json:
            schema:
              type: object
              properties:
                window:
                  type: object
                  properties:
                    first_slot: {type: string, description: Must be provided together with `last_slot`.}
                    last_slot: {type: string}
      responses: {"200": {description: ok}}
"""
    )
    (r,) = build_interaction_map(api).field_relations
    assert (r.relation, r.fields) == ("co_required", ("body.window.first_slot", "body.window.last_slot"))


def test_start_and_end_words_pair_across_word_families() -> None:
    api = load_spec_from_text(
        """
openapi: 3.0.3
info: {title: T, version: "1"}
paths:
  /rentals:
    post:
      operationId: rent
      requestBody:
        content:
          application/json:
            schema:
              type: object
              properties:
                pickup_date: {type: string, format: date}
                return_date: {type: string, format: date}
      responses: {"201": {description: ok}}
"""
    )
    (r,) = build_interaction_map(api).field_relations
    assert (r.relation, r.fields, r.source) == ("temporal", ("body.pickup_date", "body.return_date"), "name")


def test_branches_minus_what_is_always_required() -> None:
    api = load_spec_from_text(
        """
openapi: 3.1.0
info: {title: T, version: "1"}
paths:
  /pay:
    post:
      operationId: pay
      requestBody:
        content:
          application/json:
            schema:
              type: object
              required: [kind]
              properties:
                kind: {type: string}
                card_number: {type: string}
                iban: {type: string}
              oneOf:
                - {required: [kind, card_number]}
                - {required: [iban]}
      responses: {"200": {description: ok}}
"""
    )
    (r,) = [r for r in build_interaction_map(api).field_relations if r.relation == "one_of"]
    assert r.groups == (("body.card_number",), ("body.iban",))


def test_plain_english_words_only_match_sibling_fields() -> None:
    api = load_spec_from_text(
        """
openapi: 3.0.3
info: {title: T, version: "1"}
paths:
  /x:
    post:
      operationId: x
      requestBody:
        content:
          application/json:
            schema:
              type: object
              properties:
                notes: {type: string, description: The behavior must not exceed what the limit allows.}
                settings: {type: object, properties: {behavior: {type: string}}}
      responses: {"200": {description: ok}}
"""
    )
    assert build_interaction_map(api).field_relations == ()


def test_idempotency_key(imap: InteractionMap) -> None:
    (key,) = imap.idempotency_keys
    assert (key.operation_id, key.field, key.required, key.source) == (
        "createCharge",
        "header.Idempotency-Key",
        True,
        "name",
    )
    assert key.evidence[0].pointer == "/paths/~1charges/post/parameters/0"


def test_pagination(imap: InteractionMap) -> None:
    pages = {p.operation_id: p for p in imap.paginations}
    customers = pages["listCustomers"]
    assert customers.style == "cursor"
    assert customers.params == ("query.starting_after", "query.limit")
    assert customers.limit_param == "query.limit"
    assert customers.items_pointer == "/data"
    assert (customers.has_more_field, customers.next_field) == ("response.has_more", "response.next_cursor")
    refunds = pages["listRefunds"]
    assert (refunds.style, refunds.items_pointer, refunds.next_field) == ("page", "", "header.Link")
    assert "getCustomer" not in pages


def test_shared_fields(imap: InteractionMap) -> None:
    shared = {s.name: s for s in imap.shared_fields}
    assert "currency" in shared and shared["currency"].operation_count >= 2
    assert "customer_id" in shared
    assert "id" not in shared  # too generic to say anything
    assert {o.operation_id for o in shared["customer_id"].occurrences} == {
        "getCustomer",
        "updateCustomer",
        "deleteCustomer",
    }


def test_ownership(imap: InteractionMap) -> None:
    owners = {o.resource: o for o in imap.ownership}
    customer = owners["customer"]
    assert customer.secured
    assert any(r.path == "response.owner_id" for r in customer.owner_fields)
    assert any("owner" in s for s in customer.signals)
    me = owners["me"]
    assert me.scope_parameter == "/me"


def test_privileged_fields(imap: InteractionMap) -> None:
    found = {(p.operation_id, p.field): p for p in imap.privileged_fields}
    balance = found[("createCustomer", "body.balance")]
    assert balance.accepted and any("readOnly" in r for r in balance.reasons)
    assert found[("updateMe", "body.role")].accepted
    assert found[("updateMe", "body.is_admin")].accepted
    owner = found[("createCustomer", "body.owner_id")]
    assert not owner.accepted and owner.evidence[0].pointer.endswith("/properties/owner_id")
    assert ("updateMe", "body.display_name") not in found


def test_rate_limits(imap: InteractionMap) -> None:
    limits = {r.operation_id: r for r in imap.rate_limits}
    assert limits[None].evidence[0].text == "Requests are rate limited to 100 requests per minute per key."
    charge = limits["createCharge"]
    assert charge.headers == ("X-RateLimit-Limit", "Retry-After")
    assert any("429" in s for s in charge.signals)


def test_facts_for_an_operation(imap: InteractionMap) -> None:
    facts = imap.facts_for("createCharge")
    kinds = {f.kind for f in facts}
    assert {
        "link",
        "resource",
        "state_field",
        "field_relation",
        "idempotency_key",
        "privileged_field",
        "rate_limit",
    } <= kinds
    assert all("createCharge" in f.operation_ids or f.kind == "rate_limit" for f in facts)
    assert imap.facts_for("nope") == tuple(r for r in imap.rate_limits if r.operation_id is None)


def test_api_interactions_property_is_cached(api: Api) -> None:
    assert api.interactions is api.interactions
    assert api.interactions.counts() == build_interaction_map(api).counts()


def test_names_from_our_datasets_are_not_needed() -> None:
    """The same rules apply to an API in another vocabulary (here, a library)."""
    api = load_spec_from_text(
        """
swagger: "2.0"
info: {title: Library, version: "1"}
paths:
  /libraries/{libraryId}/books:
    post:
      operationId: addBook
      parameters:
        - {name: libraryId, in: path, required: true, type: string}
        - name: body
          in: body
          schema:
            type: object
            properties:
              title: {type: string}
              borrowed_from: {type: string, format: date}
              borrowed_until: {type: string, format: date}
              author_id: {type: string}
      responses:
        "201": {description: ok, schema: {type: object, properties: {id: {type: string}}}}
  /libraries:
    post:
      operationId: createLibrary
      responses:
        "201": {description: ok, schema: {type: object, properties: {id: {type: string}}}}
  /authors:
    post:
      operationId: createAuthor
      responses:
        "201": {description: ok, schema: {type: object, properties: {id: {type: string}}}}
  /libraries/{libraryId}/books/{bookId}/return:
    post:
      operationId: returnBook
      parameters:
        - {name: libraryId, in: path, required: true, type: string}
        - {name: bookId, in: path, required: true, type: string}
      responses: {"200": {description: ok}}
"""
    )
    imap = build_interaction_map(api)
    pairs = {(link.producer, link.consumer, link.consumer_field) for link in imap.links}
    assert ("createLibrary", "addBook", "path.libraryId") in pairs
    assert ("createAuthor", "addBook", "body.author_id") in pairs
    assert ("addBook", "returnBook", "path.bookId") in pairs
    assert _relation(imap, "temporal", "body.borrowed_from", "body.borrowed_until").source == "name"
    book = imap.resource("book")
    assert book is not None and book.parent == "/libraries" and [a.verb for a in book.actions] == ["return"]


def test_fast_on_a_large_generated_spec() -> None:
    paths: list[str] = []
    for i in range(300):
        paths.append(
            f"""  /things{i}:
    post:
      operationId: create{i}
      requestBody:
        content:
          application/json:
            schema:
              type: object
              properties:
                start_date: {{type: string, format: date}}
                end_date: {{type: string, format: date}}
                things{(i + 1) % 300}_id: {{type: string, description: "Required if `start_date` is set."}}
                amount: {{type: integer}}
                currency: {{type: string}}
      responses:
        "201": {{description: ok, content: {{application/json: {{schema: {{type: object, properties: {{id: {{type: string}}}}}}}}}}}}
  /things{i}/{{id}}:
    get:
      operationId: get{i}
      parameters: [{{name: id, in: path, required: true, schema: {{type: string}}}}]
      responses: {{"200": {{description: ok}}}}
"""
        )
    api = load_spec_from_text("openapi: 3.0.3\ninfo: {title: Big, version: '1'}\npaths:\n" + "".join(paths))
    started = time.perf_counter()
    imap = build_interaction_map(api)
    assert time.perf_counter() - started < 2.0
    assert imap.counts()["link"] >= 600


def test_split_resources_merge_and_noun_actions_name_their_verb() -> None:
    """Created under a parent, addressed on its own: one resource. `/reversal` performs `reverse`. A readable
    verb-named sub-path of an item is a sub-resource, not an action."""
    api = load_spec_from_text(
        """
openapi: 3.0.3
info: {title: T, version: "1"}
paths:
  /accounts: {post: {operationId: openAccount, responses: {"201": {description: ok}}}}
  /accounts/{account_id}/transfers:
    post: {operationId: createTransfer, responses: {"201": {description: ok}}}
  /transfers/{transfer_id}: {get: {operationId: getTransfer, responses: {"200": {description: ok}}}}
  /transfers/{transfer_id}/reversal:
    post: {operationId: reverseTransfer, responses: {"200": {description: ok}}}
  /exports/{export_id}/archive:
    get: {operationId: getArchive, responses: {"200": {description: ok}}}
    delete: {operationId: deleteArchive, responses: {"204": {description: ok}}}
"""
    )
    imap = build_interaction_map(api)
    transfers = [r for r in imap.resources if r.name == "transfer"]
    assert len(transfers) == 1
    (transfer,) = transfers
    assert (transfer.create, transfer.read) == ("createTransfer", "getTransfer")
    assert transfer.parent == "/accounts"
    assert [(a.verb, a.operation_id) for a in transfer.actions] == [("reverse", "reverseTransfer")]
    assert not any(
        a.operation_id in ("getArchive", "deleteArchive") for r in imap.resources for a in r.actions
    )
