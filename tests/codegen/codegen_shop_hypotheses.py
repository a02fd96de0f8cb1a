"""Hand-written hypotheses for the shop app, one or two per risk category, each with the seeded bug it
must catch and a fragment its failure message must contain (so a test fails for the right reason)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from crossfield.judgment.models import (
    Body,
    Capture,
    CapturedValue,
    Category,
    CollectionExpectation,
    ConformsExpectation,
    ConstraintKind,
    FieldRef,
    GroupExpectation,
    Hypothesis,
    LiteralValue,
    Pagination,
    Provenance,
    RelationExpectation,
    RequestValue,
    SameResponseExpectation,
    Severity,
    SpecEvidence,
    StatusExpectation,
    Step,
    UniqueValue,
)

SHOP_CONFIG = """\
default_identity = "alice"

[identities.alice]
headers = { Authorization = "Bearer alice-token" }

[identities.bob]
headers = { "X-API-Key" = "${SHOP_BOB_KEY}" }

[identities.carol.login]
operation = "login"
body = { username = "carol", password = "pw" }
token_pointer = "/access_token"
"""
SHOP_ENV = {"SHOP_BOB_KEY": "bob-key"}


@dataclass(frozen=True)
class Case:
    hypothesis: Hypothesis
    bug: str
    failure: str  # a fragment of the failure message against the buggy app


def lit(value: Any) -> LiteralValue:
    return LiteralValue(value=value)


def cap(name: str, plus: float | None = None) -> CapturedValue:
    return CapturedValue(name=name, plus=plus)


OK = StatusExpectation(band="2xx")
REFUSED = StatusExpectation(band="4xx")
PROV = Provenance(judge="human", model=None, prompt_id="handwritten")
ITEM = {"price": 100, "quantity": 1}


def hyp(
    title: str,
    category: Category,
    fields: list[tuple[str, str]],
    steps: list[Step],
    *,
    kind: ConstraintKind | None = None,
    rationale: str = "",
) -> Hypothesis:
    return Hypothesis(
        title=title,
        rationale=rationale or f"{title}: a rule that spans fields or requests, easy to get wrong.",
        category=category,
        constraint_kind=kind,
        severity=Severity.HIGH,
        confidence=0.8,
        fields=[FieldRef(operation=op, path=path) for op, path in fields],
        evidence=[SpecEvidence(pointer="/paths/~1orders/post", text="See the operation's description.")],
        steps=steps,
        provenance=PROV,
    )


def create_order(step_id: str = "create_order", **overrides: Any) -> Step:
    values = {"items": lit([ITEM]), **overrides}
    return Step(
        id=step_id,
        operation="createOrder",
        body=Body(overrides=values),
        captures=[Capture(name="order_id", pointer="/id")],
        expect=[OK],
        note="An order to work with.",
    )


def cases() -> list[Case]:
    out = [
        Case(
            hyp(
                "coupon_code and gift_card cannot be combined",
                Category.INTER_PARAMETER,
                [("createOrder", "body.coupon_code"), ("createOrder", "body.gift_card")],
                [
                    Step(
                        id="both",
                        operation="createOrder",
                        body=Body(
                            overrides={
                                "items": lit([ITEM]),
                                "coupon_code": lit("SAVE10"),
                                "gift_card": lit("GIFT-1"),
                            }
                        ),
                        expect=[REFUSED],
                        note="Both discounts at once must be refused.",
                    ),
                    Step(
                        id="coupon_only",
                        operation="createOrder",
                        body=Body(overrides={"items": lit([ITEM]), "coupon_code": lit("SAVE10")}),
                        expect=[OK],
                        note="Positive control: the coupon alone is fine.",
                    ),
                ],
                kind=ConstraintKind.ONLY_ONE,
            ),
            "coupon-and-gift-card",
            "expected status 4xx",
        ),
        Case(
            hyp(
                "Scheduled delivery requires a delivery_date",
                Category.INTER_PARAMETER,
                [("createOrder", "body.delivery"), ("createOrder", "body.delivery_date")],
                [
                    Step(
                        id="scheduled_without_date",
                        operation="createOrder",
                        body=Body(overrides={"items": lit([ITEM]), "delivery": lit("scheduled")}),
                        expect=[REFUSED],
                    ),
                    Step(
                        id="scheduled_with_date",
                        operation="createOrder",
                        body=Body(
                            overrides={
                                "items": lit([ITEM]),
                                "delivery": lit("scheduled"),
                                "delivery_date": lit("2030-01-31"),
                            }
                        ),
                        expect=[OK],
                    ),
                ],
                kind=ConstraintKind.REQUIRES,
            ),
            "scheduled-without-date",
            "expected status 4xx",
        ),
        Case(
            hyp(
                "An unpaid order cannot be shipped",
                Category.STATE_TRANSITION,
                [("shipOrder", "path.order_id"), ("payOrder", "path.order_id")],
                [
                    Step(
                        id="create_order",
                        operation="createOrder",
                        identity="carol",
                        body=Body(overrides={"items": lit([ITEM])}),
                        captures=[Capture(name="order_id", pointer="/id")],
                        expect=[OK, RelationExpectation(pointer="/status", op="eq", against=lit("pending"))],
                    ),
                    Step(
                        id="ship_unpaid",
                        operation="shipOrder",
                        identity="carol",
                        params={"path.order_id": cap("order_id")},
                        expect=[StatusExpectation(codes=[409])],
                        note="pending -> shipped skips payment.",
                    ),
                    Step(
                        id="pay",
                        operation="payOrder",
                        identity="carol",
                        params={"path.order_id": cap("order_id")},
                        expect=[OK],
                    ),
                    Step(
                        id="ship_paid",
                        operation="shipOrder",
                        identity="carol",
                        params={"path.order_id": cap("order_id")},
                        expect=[OK, RelationExpectation(pointer="/status", op="eq", against=lit("shipped"))],
                    ),
                ],
            ),
            "ship-unpaid",
            "expected status 409",
        ),
        Case(
            hyp(
                "Replaying an order with the same Idempotency-Key returns the same order",
                Category.IDEMPOTENCY,
                [("createOrder", "header.Idempotency-Key"), ("createOrder", "body.items")],
                [
                    Step(id="before", operation="listOrders", expect=[OK]),
                    Step(
                        id="first",
                        operation="createOrder",
                        params={"header.Idempotency-Key": UniqueValue(name="order_key")},
                        body=Body(overrides={"items": lit([ITEM])}),
                        expect=[OK],
                    ),
                    Step(
                        id="replay",
                        operation="createOrder",
                        params={"header.Idempotency-Key": UniqueValue(name="order_key")},
                        body=Body(overrides={"items": lit([ITEM])}),
                        expect=[OK, SameResponseExpectation(step="first")],
                        note="The same key and body: a replay, not a new order.",
                    ),
                    Step(
                        id="after",
                        operation="listOrders",
                        expect=[
                            OK,
                            CollectionExpectation(check="count_delta", baseline_step="before", delta=1),
                        ],
                    ),
                ],
            ),
            "replay-duplicates",
            "the same response as step 'first'",
        ),
        Case(
            hyp(
                "Reusing an Idempotency-Key with a different body is refused",
                Category.IDEMPOTENCY,
                [("createOrder", "header.Idempotency-Key"), ("createOrder", "body.items[].quantity")],
                [
                    Step(
                        id="first",
                        operation="createOrder",
                        params={"header.Idempotency-Key": UniqueValue(name="order_key")},
                        body=Body(overrides={"items": lit([ITEM])}),
                        expect=[OK],
                    ),
                    Step(
                        id="different_body",
                        operation="createOrder",
                        params={"header.Idempotency-Key": UniqueValue(name="order_key")},
                        body=Body(overrides={"items": lit([{"price": 100, "quantity": 5}])}),
                        expect=[REFUSED],
                    ),
                ],
            ),
            "key-reuse-accepted",
            "expected status 4xx",
        ),
        Case(
            hyp(
                "An order's total is the sum of price times quantity",
                Category.ARITHMETIC_INVARIANT,
                [("createOrder", "body.items[].price"), ("createOrder", "body.items[].quantity")],
                [
                    Step(
                        id="create_order",
                        operation="createOrder",
                        body=Body(
                            overrides={
                                "items": lit([{"price": 250, "quantity": 2}, {"price": 100, "quantity": 3}])
                            }
                        ),
                        expect=[
                            OK,
                            RelationExpectation(pointer="/total", op="eq", against=lit(800)),
                            RelationExpectation(
                                pointer="/items/0/quantity",
                                op="eq",
                                against=RequestValue(step="create_order", path="body.items.0.quantity"),
                            ),
                        ],
                    )
                ],
            ),
            "total-ignores-quantity",
            "/total == 800",
        ),
        Case(
            hyp(
                "Refunds never exceed the order total",
                Category.ARITHMETIC_INVARIANT,
                [("createRefund", "body.amount"), ("createOrder", "body.items[].price")],
                [
                    Step(
                        id="create_order",
                        operation="createOrder",
                        body=Body(overrides={"items": lit([{"price": 500, "quantity": 1}])}),
                        captures=[
                            Capture(name="order_id", pointer="/id"),
                            Capture(name="total", pointer="/total"),
                        ],
                        expect=[OK],
                    ),
                    Step(
                        id="first_refund",
                        operation="createRefund",
                        params={"path.order_id": cap("order_id")},
                        body=Body(overrides={"amount": lit(300)}),
                        expect=[OK],
                    ),
                    Step(
                        id="too_much",
                        operation="createRefund",
                        params={"path.order_id": cap("order_id")},
                        body=Body(overrides={"amount": cap("total", plus=-299)}),
                        expect=[StatusExpectation(codes=[409])],
                        note="201 more than the 200 that remain.",
                    ),
                    Step(
                        id="the_rest",
                        operation="createRefund",
                        params={"path.order_id": cap("order_id")},
                        body=Body(overrides={"amount": lit(200)}),
                        expect=[OK],
                        note="Positive control: exactly the remainder.",
                    ),
                ],
            ),
            "refund-exceeds-total",
            "expected status 409",
        ),
        Case(
            hyp(
                "Walking the product list by offset lists every product exactly once",
                Category.PAGINATION,
                [("listProducts", "query.offset"), ("listProducts", "query.limit")],
                [
                    *[
                        Step(
                            id=f"create_{n}",
                            operation="createProduct",
                            body=Body(overrides={"name": lit(f"Product {n}")}),
                            captures=[Capture(name=f"product_{n}", pointer="/id")],
                            expect=[OK],
                        )
                        for n in (1, 2, 3)
                    ],
                    Step(
                        id="walk",
                        operation="listProducts",
                        paginate=Pagination(
                            style="offset",
                            page_size=2,
                            size_param="query.limit",
                            offset_param="query.offset",
                            total_pointer="/total",
                        ),
                        expect=[
                            OK,
                            CollectionExpectation(
                                check="each_once", ids=[cap("product_1"), cap("product_2"), cap("product_3")]
                            ),
                            CollectionExpectation(check="count_equals_total"),
                        ],
                    ),
                ],
            ),
            "offset-skips",
            "exactly once",
        ),
        Case(
            hyp(
                "Concurrent purchases never sell more than the stock",
                Category.CONCURRENCY,
                [("purchaseProduct", "body.quantity"), ("createProduct", "body.stock")],
                [
                    Step(
                        id="create_product",
                        operation="createProduct",
                        body=Body(overrides={"stock": lit(3)}),
                        captures=[Capture(name="product_id", pointer="/id")],
                        expect=[OK],
                    ),
                    Step(
                        id="purchases",
                        operation="purchaseProduct",
                        params={"path.product_id": cap("product_id")},
                        body=Body(overrides={"quantity": lit(1)}),
                        concurrent=8,
                        expect=[
                            GroupExpectation(band="2xx", max_count=3),
                            GroupExpectation(codes=[409], min_count=5),
                        ],
                        note="Eight buyers at once for three items.",
                    ),
                    Step(
                        id="product_after",
                        operation="getProduct",
                        params={"path.product_id": cap("product_id")},
                        expect=[OK, RelationExpectation(pointer="/stock", op="eq", against=lit(0))],
                    ),
                ],
            ),
            "oversell",
            "at most 3",
        ),
        Case(
            hyp(
                "Another account cannot read someone's order",
                Category.AUTHORIZATION,
                [("getOrder", "path.order_id"), ("createOrder", "body.items")],
                [
                    create_order(),
                    Step(
                        id="bob_reads",
                        operation="getOrder",
                        identity="bob",
                        params={"path.order_id": cap("order_id")},
                        expect=[StatusExpectation(codes=[403, 404])],
                    ),
                    Step(
                        id="alice_reads",
                        operation="getOrder",
                        params={"path.order_id": cap("order_id")},
                        expect=[OK, ConformsExpectation()],
                    ),
                ],
            ),
            "orders-readable-by-anyone",
            "as bob returned 200",
        ),
        Case(
            hyp(
                "A promotion cannot end before it starts",
                Category.TEMPORAL_ORDERING,
                [("createPromotion", "body.starts_at"), ("createPromotion", "body.ends_at")],
                [
                    Step(
                        id="backwards",
                        operation="createPromotion",
                        body=Body(
                            overrides={
                                "starts_at": lit("2030-06-02T00:00:00Z"),
                                "ends_at": lit("2030-06-01T00:00:00Z"),
                            }
                        ),
                        expect=[REFUSED],
                    ),
                    Step(
                        id="forwards",
                        operation="createPromotion",
                        body=Body(
                            overrides={
                                "starts_at": lit("2030-06-01T00:00:00Z"),
                                "ends_at": lit("2030-06-02T00:00:00Z"),
                            }
                        ),
                        expect=[OK],
                    ),
                ],
            ),
            "end-before-start",
            "expected status 4xx",
        ),
        Case(
            hyp(
                "A new user cannot make themselves admin",
                Category.MASS_ASSIGNMENT,
                [("createUser", "body.name"), ("createUser", "body.email")],
                [
                    Step(
                        id="sign_up",
                        operation="createUser",
                        body=Body(
                            mode="literal",
                            value={"name": "Mallory", "email": "m@example.com", "role": "admin"},
                        ),
                        expect=[OK, RelationExpectation(pointer="/role", op="eq", against=lit("member"))],
                        note="role is not a field of UserCreate; the server must ignore it.",
                    )
                ],
            ),
            "role-assignable",
            '/role == "member"',
        ),
        Case(
            hyp(
                "Password resets are rate limited",
                Category.RATE_LIMITING,
                [("requestPasswordReset", "body.email")],
                [
                    Step(
                        id="burst",
                        operation="requestPasswordReset",
                        identity="bob",
                        repeat=8,
                        expect=[GroupExpectation(codes=[429], min_count=1)],
                    )
                ],
            ),
            "no-rate-limit",
            "at least 1",
        ),
        Case(
            hyp(
                "An order item's quantity must be at least 1",
                Category.INPUT_VALIDATION,
                [("createOrder", "body.items[].quantity")],
                [
                    Step(
                        id="zero",
                        operation="createOrder",
                        identity="bob",
                        body=Body(overrides={"items": lit([{"price": 100, "quantity": 0}])}),
                        expect=[REFUSED],
                        note="As bob, so an order it wrongly creates stays out of alice's lists.",
                    )
                ],
            ),
            "zero-quantity",
            "expected status 4xx",
        ),
    ]
    return out
