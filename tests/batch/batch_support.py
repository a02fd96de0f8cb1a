"""Small specs and a scripted judge for the batch-run tests."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from crossfield.judgment.base import JudgeResult, Requirement, ScriptedJudge
from crossfield.judgment.models import HypothesisDraft
from crossfield.spec.model import Api


def orders_doc(
    title: str = "Orders", *, extra_field: bool = False, extra_operation: bool = False
) -> dict[str, Any]:
    """A tiny OpenAPI 3.0 API with a create and a read operation; `extra_*` make a second version."""
    props: dict[str, Any] = {
        "amount": {"type": "integer", "minimum": 1},
        "currency": {"type": "string", "enum": ["usd", "eur"]},
        "discount": {"type": "integer", "minimum": 0},
    }
    if extra_field:
        props["coupon"] = {"type": "string", "maxLength": 20}
    order = {"type": "object", "properties": {"id": {"type": "string"}, **props}}
    paths: dict[str, Any] = {
        "/orders": {
            "post": {
                "operationId": "createOrder",
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {
                            "schema": {"type": "object", "required": ["amount"], "properties": props}
                        }
                    },
                },
                "responses": {
                    "201": {"description": "created", "content": {"application/json": {"schema": order}}}
                },
            }
        },
        "/orders/{order_id}": {
            "get": {
                "operationId": "getOrder",
                "parameters": [
                    {"name": "order_id", "in": "path", "required": True, "schema": {"type": "string"}}
                ],
                "responses": {
                    "200": {"description": "ok", "content": {"application/json": {"schema": order}}}
                },
            }
        },
        "/health": {"get": {"operationId": "health", "responses": {"200": {"description": "ok"}}}},
    }
    if extra_operation:
        paths["/orders/{order_id}/cancel"] = {
            "post": {
                "operationId": "cancelOrder",
                "parameters": [
                    {"name": "order_id", "in": "path", "required": True, "schema": {"type": "string"}}
                ],
                "responses": {
                    "200": {"description": "ok", "content": {"application/json": {"schema": order}}}
                },
            }
        }
    return {"openapi": "3.0.3", "info": {"title": title, "version": "1"}, "paths": paths}


def write_spec(path: Path, doc: dict[str, Any] | None = None) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(doc or orders_doc(path.stem)), encoding="utf-8")
    return path


def draft(title: str = "discount must not exceed amount") -> HypothesisDraft:
    return HypothesisDraft.model_validate(
        {
            "title": title,
            "rationale": "a discount larger than the amount would make the order total negative",
            "category": "inter_parameter",
            "constraint_kind": "arithmetic_relational",
            "severity": "high",
            "confidence": 0.8,
            "fields": [
                {"operation": "createOrder", "path": "body.amount"},
                {"operation": "createOrder", "path": "body.discount"},
            ],
            "steps": [
                {
                    "id": "create",
                    "operation": "createOrder",
                    "body": {
                        "overrides": {
                            "amount": {"kind": "literal", "value": 5},
                            "discount": {"kind": "literal", "value": 10},
                        }
                    },
                    "expect": [{"kind": "status", "band": "4xx"}],
                }
            ],
        }
    )


def cancel_draft() -> HypothesisDraft:
    """A hypothesis about the operation only the second version has."""
    return HypothesisDraft.model_validate(
        {
            "title": "a cancelled order cannot be cancelled twice",
            "rationale": "double cancellation may refund twice",
            "category": "state_transition",
            "severity": "medium",
            "confidence": 0.6,
            "fields": [
                {"operation": "cancelOrder", "path": "path.order_id"},
                {"operation": "createOrder", "path": "body.amount"},
            ],
            "steps": [
                {
                    "id": "create",
                    "operation": "createOrder",
                    "captures": [{"name": "oid", "pointer": "/id"}],
                    "expect": [{"kind": "status", "band": "2xx"}],
                },
                {
                    "id": "cancel",
                    "operation": "cancelOrder",
                    "params": {"path.order_id": {"kind": "captured", "name": "oid"}},
                    "expect": [{"kind": "status", "band": "2xx"}],
                },
                {
                    "id": "again",
                    "operation": "cancelOrder",
                    "params": {"path.order_id": {"kind": "captured", "name": "oid"}},
                    "expect": [{"kind": "status", "band": "4xx"}],
                },
            ],
        }
    )


class CountingJudge:
    """A scripted judge that counts its calls (and can be slowed down, or fail on one spec title)."""

    name = "scripted"

    def __init__(self, *drafts: HypothesisDraft, delay: float = 0.0, fail_on: str | None = None) -> None:
        self._inner = ScriptedJudge([list(drafts or (draft(),))], repeat=True)
        self.delay = delay
        self.fail_on = fail_on
        self.calls: list[str] = []
        self.seen: list[Api] = []

    def judge(self, api: Api, *, requirements: list[Requirement] | None = None) -> JudgeResult:
        self.calls.append(api.title)
        self.seen.append(api)
        if self.delay:
            time.sleep(self.delay)
        if self.fail_on is not None and api.title == self.fail_on:
            raise RuntimeError(f"judge exploded on {api.title}")
        return self._inner.judge(api, requirements=requirements)
