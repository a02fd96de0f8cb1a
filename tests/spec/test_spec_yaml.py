"""The event-based YAML loader agrees with PyYAML where they should agree, follows YAML 1.2 where OpenAPI
needs it, and hands anything unusual to PyYAML."""

from __future__ import annotations

import math

import pytest
import yaml

from crossfield.spec import _yaml
from crossfield.spec._source import parse_document


def test_scalars_follow_yaml_12() -> None:
    doc = _yaml.load(
        b"a: [yes, no, on, off, y, n, true, False, ~, null, '', 12, -3, 0123, 1.5, 1e3, .5, .inf, -.Inf, 0x1F,"
        b" 0o17, 2024-01-31, 12:30, '007']\n"
    )
    values = doc["a"]
    assert values[:8] == ["yes", "no", "on", "off", "y", "n", True, False]
    assert values[8:11] == [None, None, ""]
    assert values[11:14] == [12, -3, "0123"]
    assert values[14:17] == [1.5, 1000.0, 0.5]
    assert values[17] == math.inf and values[18] == -math.inf
    assert values[19:] == [31, 15, "2024-01-31", "12:30", "007"]


def test_keys_are_strings_as_written() -> None:
    doc = _yaml.load(b"responses:\n  200: {description: ok}\n  default: {}\n  true: x\n  1.0: y\n")
    assert list(doc["responses"]) == ["200", "default", "true", "1.0"]


def test_anchors_aliases_and_merge_keys() -> None:
    doc = _yaml.load(
        b"base: &b {x: 1, y: 2}\nother:\n  <<: *b\n  y: 3\nlist: [*b, *b]\nmulti:\n  <<: [*b, {z: 4}]\n"
    )
    assert doc["other"] == {"x": 1, "y": 3}
    assert doc["list"] == [{"x": 1, "y": 2}] * 2
    assert doc["multi"] == {"x": 1, "y": 2, "z": 4}


def test_explicit_standard_tags() -> None:
    assert _yaml.load(b"a: !!str 12\nb: !!int '7'\nc: !!float '2'\nd: !!null ''\n") == {
        "a": "12",
        "b": 7,
        "c": 2.0,
        "d": None,
    }


def test_block_scalars_and_quoting() -> None:
    text = b"a: |\n  line 1\n  line 2\nb: >-\n  folded\n  text\nc: \"x\\ty\"\nd: 'it''s'\n"
    assert _yaml.load(text) == yaml.safe_load(text)


@pytest.mark.parametrize("text", [b"a: !custom 1\n", b"? [a, b]\n: c\n", b"a: 1\n---\nb: 2\n"])
def test_unusual_documents_are_left_to_pyyaml(text: bytes) -> None:
    with pytest.raises(_yaml.Unsupported):
        _yaml.load(text)


def test_parse_document_falls_back_for_unsupported_constructs() -> None:
    assert parse_document(b"a: !!binary aGVsbG8=\n", "x.yaml") == {"a": b"hello"}


def test_malformed_yaml_raises_pyyaml_errors() -> None:
    with pytest.raises(yaml.YAMLError):
        _yaml.load(b"a: [1, 2\nb: 3\n")


def test_empty_document() -> None:
    assert _yaml.load(b"") is None
    assert _yaml.load(b"just a string\n") == "just a string"
