"""Unique values stay valid for their field: format, pattern and length are honoured."""

from __future__ import annotations

import re

import pytest

from crossfield.codegen._session import unique_value

PATTERNS = [
    r"^97[89][0-9]{10}$",  # a structured code: fixed prefix, a choice, then digits
    r"^[A-Z]{2}-[0-9]{4}$",
    r"^[A-Z0-9][A-Z0-9-]{2,31}$",
    r"^acct_[a-z0-9]{8}$",
    r"^[a-z][a-z0-9-]*$",
]


@pytest.mark.parametrize("pattern", PATTERNS)
def test_unique_values_match_the_pattern_and_differ(pattern: str) -> None:
    values = [unique_value("code", pattern=pattern) for _ in range(20)]
    assert all(re.search(pattern, v) for v in values), values
    assert len(set(values)) >= 19, "values must be unique across draws"


def test_max_length_is_respected() -> None:
    values = [unique_value("handle", max_length=10) for _ in range(10)]
    assert all(len(v) <= 10 for v in values)
    assert len(set(values)) == 10


def test_formats() -> None:
    assert re.fullmatch(r"[0-9a-f-]{36}", unique_value("id", format="uuid"))
    assert unique_value("contact", format="email").endswith("@example.com")
