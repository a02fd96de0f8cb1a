"""`diff_specs` on two real releases of Stripe's API description (2022-12-15 -> 2023-08-10).

Every change asserted here was confirmed by reading the two YAML files directly (not through crossfield):
the JSON pointer that shows it is next to each assertion. The test also checks a rewrite that is *not* a
change (Stripe's "emptyable" anyOf), because a diff that reports noise is as wrong as one that misses things.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from crossfield.spec import load_spec
from crossfield.spec.diff import ChangeKind, SpecDiff, diff_specs

STRIPE = Path(__file__).resolve().parents[2] / ".." / "shared" / "corpora" / "stripe"
OLD, NEW = STRIPE / "spec3-2022-12-15.yaml", STRIPE / "spec3-2023-08-10.yaml"

pytestmark = [
    pytest.mark.shared,
    pytest.mark.skipif(
        not (OLD.is_file() and NEW.is_file()),
        reason="needs the Stripe descriptions in ../shared/corpora/stripe (the shared corpora beside the repository)",
    ),
]


@pytest.fixture(scope="module")
def diff() -> SpecDiff:
    return diff_specs(load_spec(OLD), load_spec(NEW))


def test_operations_added(diff: SpecDiff) -> None:
    # /paths/~1v1~1tax~1calculations/post (operationId PostTaxCalculations) and
    # /paths/~1v1~1subscriptions~1{subscription}~1resume/post exist only in 2023-08-10
    added = set(diff.added_operations)
    assert {"PostTaxCalculations", "PostSubscriptionsSubscriptionResume", "GetTaxSettings"} <= added
    assert len(added) == 10
    assert diff.removed_operations == ()
    (c,) = diff.find(ChangeKind.OPERATION_ADDED, "PostSubscriptionsSubscriptionResume")
    assert c.new == "POST /v1/subscriptions/{subscription}/resume" and not c.breaking


def test_query_parameter_added(diff: SpecDiff) -> None:
    # /paths/~1v1~1subscriptions/get/parameters: 12 names in 2022-12-15, 13 in 2023-08-10, the new one is
    # `automatic_tax` (in: query, required: false, a deepObject filter)
    (c,) = diff.find(ChangeKind.FIELD_ADDED, "GetSubscriptions", "query.automatic_tax")
    assert c.new == "object" and not c.breaking
    assert diff.find(ChangeKind.FIELD_ADDED, "GetCheckoutSessions", "query.payment_link")


def test_enum_values_added_to_request_fields(diff: SpecDiff) -> None:
    # /paths/~1v1~1customers~1{customer}~1tax_ids/post/requestBody/.../properties/type/enum: 51 values, then 66,
    # among them co_nit and uy_ruc
    added = {
        c.new for c in diff.find(ChangeKind.ENUM_VALUE_ADDED, "PostCustomersCustomerTaxIds", "body.type")
    }
    assert {"co_nit", "uy_ruc"} <= added
    assert len(added) == 15
    # /paths/~1v1~1customers~1{customer}~1payment_methods/get/parameters[type].schema.enum gains "cashapp"
    q = diff.find(ChangeKind.ENUM_VALUE_ADDED, "GetCustomersCustomerPaymentMethods", "query.type")
    assert "cashapp" in {c.new for c in q}
    assert not any(c.breaking for c in q)  # a request accepting one more value breaks no caller


def test_enum_value_removed_from_a_response(diff: SpecDiff) -> None:
    # /components/schemas/invoice/properties/status/enum: ["deleted", "draft", ...] -> without "deleted"
    (c,) = diff.find(ChangeKind.ENUM_VALUE_REMOVED, "GetInvoicesInvoice", "response.status")
    assert c.old == "deleted" and not c.breaking


def test_body_field_removed(diff: SpecDiff) -> None:
    # /paths/~1v1~1payment_intents/post/requestBody/.../payment_method_options/properties/link/anyOf/0/properties
    # has persistent_token in 2022-12-15 only
    (c,) = diff.find(
        ChangeKind.FIELD_REMOVED, "PostPaymentIntents", "body.payment_method_options.link.persistent_token"
    )
    assert c.breaking
    assert diff.find(
        ChangeKind.FIELD_REMOVED, "GetPaymentMethodsPaymentMethod", "response.link.persistent_token"
    )


def test_required_becomes_optional(diff: SpecDiff) -> None:
    # /paths/~1v1~1issuing~1cardholders/post/requestBody/.../schema/required: [billing, name, type] -> [billing, name]
    (c,) = diff.find(ChangeKind.FIELD_OPTIONAL, "PostIssuingCardholders", "body.type")
    assert not c.breaking  # a request field that may now be left out breaks nobody
    # /paths/~1v1~1checkout~1sessions/post/.../required: [cancel_url, success_url] -> [success_url]
    assert diff.find(ChangeKind.FIELD_OPTIONAL, "PostCheckoutSessions", "body.cancel_url")
    # ... and the session object's cancel_url is no longer guaranteed in responses: breaking for readers
    (r,) = diff.find(ChangeKind.FIELD_OPTIONAL, "GetCheckoutSessionsSession", "response.cancel_url")
    assert r.breaking


def test_field_retyped_by_format(diff: SpecDiff) -> None:
    # /paths/~1v1~1files/post/requestBody/content/multipart~1form-data/schema/properties/file gains format: binary
    (c,) = diff.find(ChangeKind.FIELD_RETYPED, "PostFiles", "body.file")
    assert (c.old, c.new) == ("string", "string(binary)")
    assert len([x for x in diff.changes if x.kind is ChangeKind.FIELD_RETYPED]) == 1


def test_max_length_loosened(diff: SpecDiff) -> None:
    # .../checkout~1sessions/post/.../custom_text/properties/submit/anyOf/0/properties/message/maxLength: 500 -> 1000
    (c,) = diff.find(
        ChangeKind.CONSTRAINT_LOOSENED, "PostCheckoutSessions", "body.custom_text.submit.message"
    )
    assert (c.detail, c.old, c.new, c.breaking) == ("max_length", 500, 1000, False)


def test_emptyable_rewrite_is_not_reported(diff: SpecDiff) -> None:
    # /paths/~1v1~1accounts/post/.../settings/.../card_issuing/.../tos_acceptance/properties/user_agent:
    # {type: string, maxLength: 5000} -> anyOf [{type: string, maxLength: 5000}, {enum: [""]}]: same values
    field = "body.settings.card_issuing.tos_acceptance.user_agent"
    assert not [c for c in diff.changes if c.operation == "PostAccounts" and c.field == field]


def test_summary_is_stable(diff: SpecDiff) -> None:
    counts = diff.counts()
    assert counts["operation_added"] == 10
    assert counts["field_retyped"] == 1
    assert "operation_removed" not in counts
    assert len(diff.touched_operations) < diff.operations_new  # most operations changed somewhere, not all
