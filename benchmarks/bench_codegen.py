"""Benchmark: compile 1,000 hypotheses (every category) for a small spec. Goal: under 2 seconds.

    python benchmarks/bench_codegen.py [--count 1000] [--repeat 3]

Prints the best and median wall time of `compile_hypotheses` (synthesis, rendering and the parse check
of every module included; writing files excluded) and the size of what it produced.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections import Counter

from crossfield.codegen import compile_hypotheses
from crossfield.judgment.models import (
    Body,
    Capture,
    CapturedValue,
    Category,
    CollectionExpectation,
    ConstraintKind,
    FieldRef,
    GroupExpectation,
    Hypothesis,
    LiteralValue,
    Pagination,
    Provenance,
    RelationExpectation,
    SameResponseExpectation,
    Severity,
    StatusExpectation,
    Step,
    UniqueValue,
)
from crossfield.spec import Api, load_spec_from_text

SPEC = """
openapi: 3.0.3
info: {title: Bench Shop, version: "1.0"}
paths:
  /orders:
    get:
      operationId: listOrders
      tags: [Orders]
      parameters:
        - {name: limit, in: query, schema: {type: integer, minimum: 1, maximum: 100}}
        - {name: offset, in: query, schema: {type: integer, minimum: 0}}
      responses:
        "200": {description: ok, content: {application/json: {schema: {$ref: "#/components/schemas/OrderList"}}}}
    post:
      operationId: createOrder
      tags: [Orders]
      parameters:
        - {name: Idempotency-Key, in: header, schema: {type: string, maxLength: 64}}
      requestBody:
        required: true
        content: {application/json: {schema: {$ref: "#/components/schemas/OrderCreate"}}}
      responses:
        "201": {description: ok, content: {application/json: {schema: {$ref: "#/components/schemas/Order"}}}}
        "400": {description: bad, content: {application/json: {schema: {$ref: "#/components/schemas/Error"}}}}
  /orders/{order_id}:
    get:
      operationId: getOrder
      tags: [Orders]
      parameters: [{name: order_id, in: path, required: true, schema: {type: string}}]
      responses:
        "200": {description: ok, content: {application/json: {schema: {$ref: "#/components/schemas/Order"}}}}
  /orders/{order_id}/refunds:
    post:
      operationId: createRefund
      tags: [Refunds]
      parameters: [{name: order_id, in: path, required: true, schema: {type: string}}]
      requestBody:
        required: true
        content:
          application/json:
            schema: {type: object, required: [amount], properties: {amount: {type: integer, minimum: 1}}}
      responses:
        "201": {description: ok, content: {application/json: {schema: {type: object}}}}
  /promotions:
    post:
      operationId: createPromotion
      tags: [Promotions]
      requestBody:
        required: true
        content:
          application/json:
            schema:
              type: object
              required: [name, starts_at, ends_at]
              properties:
                name: {type: string, minLength: 1}
                starts_at: {type: string, format: date-time}
                ends_at: {type: string, format: date-time}
                role: {type: string, enum: [member, admin]}
      responses:
        "201": {description: ok, content: {application/json: {schema: {type: object}}}}
components:
  schemas:
    Item:
      type: object
      required: [price, quantity]
      properties:
        price: {type: integer, minimum: 1}
        quantity: {type: integer, minimum: 1, maximum: 1000}
    OrderCreate:
      type: object
      required: [items]
      properties:
        items: {type: array, minItems: 1, items: {$ref: "#/components/schemas/Item"}}
        coupon_code: {type: string, nullable: true}
        gift_card: {type: string, nullable: true}
        delivery: {type: string, enum: [standard, scheduled], default: standard}
        delivery_date: {type: string, format: date, nullable: true}
    Order:
      type: object
      required: [id, total, status, items]
      properties:
        id: {type: string}
        total: {type: integer}
        status: {type: string, enum: [pending, paid, shipped]}
        items: {type: array, items: {$ref: "#/components/schemas/Item"}}
    OrderList:
      type: object
      required: [data, total]
      properties:
        data: {type: array, items: {$ref: "#/components/schemas/Order"}}
        total: {type: integer}
    Error:
      type: object
      properties: {detail: {type: string}}
"""

FIELD_OF = {
    "createOrder": "body.items",
    "listOrders": "query.limit",
    "getOrder": "path.order_id",
    "createRefund": "body.amount",
    "createPromotion": "body.starts_at",
}
OK = StatusExpectation(band="2xx")
NO = StatusExpectation(band="4xx")
PROV = Provenance(judge="bench")


def lit(value: object) -> LiteralValue:
    return LiteralValue(value=value)  # type: ignore[arg-type]


def make(n: int) -> Hypothesis:
    """The n-th hypothesis: one of eleven shapes (one per category), with n in its values."""
    kind = n % 11
    order = Step(
        id="create_order",
        operation="createOrder",
        body=Body(overrides={"items": lit([{"price": 100 + n, "quantity": 1 + n % 5}])}),
        captures=[Capture(name="order_id", pointer="/id"), Capture(name="total", pointer="/total")],
        expect=[OK],
        note=f"Order number {n}.",
    )
    steps: list[Step]
    category = list(Category)[kind]
    constraint = None
    if category is Category.INTER_PARAMETER:
        constraint = ConstraintKind.ONLY_ONE
        steps = [
            Step(
                id="both",
                operation="createOrder",
                body=Body(
                    overrides={
                        "items": lit([{"price": n + 1, "quantity": 1}]),
                        "coupon_code": lit(f"C{n}"),
                        "gift_card": lit(f"G{n}"),
                    }
                ),
                expect=[NO],
            )
        ]
    elif category is Category.STATE_TRANSITION:
        steps = [
            order,
            Step(
                id="again",
                operation="getOrder",
                params={"path.order_id": CapturedValue(name="order_id")},
                expect=[OK, RelationExpectation(pointer="/status", op="eq", against=lit("pending"))],
            ),
        ]
    elif category is Category.IDEMPOTENCY:
        replay = Step(
            id="replay",
            operation="createOrder",
            params={"header.Idempotency-Key": UniqueValue(name="key")},
            body=Body(overrides={"items": lit([{"price": n + 1, "quantity": 1}])}),
            expect=[OK, SameResponseExpectation(step="first")],
        )
        steps = [replay.model_copy(update={"id": "first", "expect": [OK]}), replay]
    elif category is Category.ARITHMETIC_INVARIANT:
        steps = [
            order,
            Step(
                id="refund",
                operation="createRefund",
                params={"path.order_id": CapturedValue(name="order_id")},
                body=Body(overrides={"amount": CapturedValue(name="total", plus=1)}),
                expect=[NO],
            ),
        ]
    elif category is Category.PAGINATION:
        steps = [
            order,
            Step(
                id="walk",
                operation="listOrders",
                paginate=Pagination(
                    style="offset",
                    page_size=1 + n % 4,
                    size_param="query.limit",
                    offset_param="query.offset",
                    total_pointer="/total",
                ),
                expect=[
                    OK,
                    CollectionExpectation(check="each_once", ids=[CapturedValue(name="order_id")]),
                    CollectionExpectation(check="count_equals_total"),
                ],
            ),
        ]
    elif category is Category.CONCURRENCY:
        steps = [
            Step(
                id="rush",
                operation="createOrder",
                body=Body(overrides={"items": lit([{"price": n + 1, "quantity": 1}])}),
                concurrent=2 + n % 8,
                expect=[GroupExpectation(band="2xx", max_count=1 + n % 3)],
            )
        ]
    elif category is Category.AUTHORIZATION:
        steps = [
            order,
            Step(
                id="other",
                operation="getOrder",
                identity="bob",
                params={"path.order_id": CapturedValue(name="order_id")},
                expect=[StatusExpectation(codes=[403, 404])],
            ),
        ]
    elif category is Category.TEMPORAL_ORDERING:
        steps = [
            Step(
                id="backwards",
                operation="createPromotion",
                body=Body(
                    overrides={
                        "starts_at": lit(f"2030-01-{1 + n % 27:02d}T00:00:00Z"),
                        "ends_at": lit("2030-01-01T00:00:00Z"),
                    }
                ),
                expect=[NO],
            )
        ]
    elif category is Category.MASS_ASSIGNMENT:
        steps = [
            Step(
                id="promo",
                operation="createPromotion",
                body=Body(overrides={"role": lit("admin"), "name": lit(f"P{n}")}, include_optional=True),
                expect=[OK, RelationExpectation(pointer="/role", op="ne", against=lit("admin"))],
            )
        ]
    elif category is Category.RATE_LIMITING:
        steps = [
            Step(
                id="burst",
                operation="listOrders",
                repeat=5 + n % 20,
                expect=[GroupExpectation(codes=[429], min_count=1)],
            )
        ]
    else:
        steps = [
            Step(
                id="zero",
                operation="createOrder",
                body=Body(overrides={"items": lit([{"price": n + 1, "quantity": 0}])}),
                expect=[NO],
            )
        ]
    main = steps[-1].operation
    fields = [FieldRef(operation=main, path=FIELD_OF[main])]
    fields += [
        FieldRef(operation=op, path=FIELD_OF[op]) for op in ("createOrder", "listOrders") if op != main
    ]
    return Hypothesis(
        title=f"{category.value.replace('_', ' ').capitalize()} claim number {n}",
        rationale=f"Benchmark hypothesis {n} of category {category.value}.",
        category=category,
        constraint_kind=constraint,
        severity=Severity.MEDIUM,
        confidence=0.5,
        fields=fields,
        steps=steps,
        provenance=PROV,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    api: Api = load_spec_from_text(SPEC, name="bench.yaml")
    hypotheses = [make(n) for n in range(args.count)]
    timings = []
    files: dict[str, str] = {}
    for _ in range(args.repeat):
        started = time.perf_counter()
        files = compile_hypotheses(hypotheses, api)
        timings.append(time.perf_counter() - started)
    categories = Counter(h.category.value for h in hypotheses)
    size = sum(len(text) for text in files.values())
    lines = sum(text.count("\n") for name, text in files.items() if name.endswith(".py"))
    print(f"compiled {len(hypotheses)} hypotheses ({len(categories)} categories) into {len(files)} files")
    print(f"  {lines} lines of Python, {size / 1024:.0f} KiB in all")
    print(f"  best {min(timings):.3f} s, median {statistics.median(timings):.3f} s over {args.repeat} runs")
    print(f"  goal < 2 s: {'met' if min(timings) < 2 else 'NOT met'}")


if __name__ == "__main__":
    main()
