"""The line formats of the training-data exports, as JSON Schemas, and a validator for export files.

Each JSONL export line must match its format's schema, and every assistant message must be a hypothesis
that passes the crossfield contract — a training example whose answer would not validate teaches the model
to write unusable output. `validate_file` checks both; the tests run it on every export.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
from pydantic import ValidationError

from crossfield.judgment.models import HypothesisDraft

_DEFS: dict[str, Any] = {
    "prompt_message": {
        "type": "object",
        "required": ["role", "content"],
        "additionalProperties": False,
        "properties": {"role": {"enum": ["system", "user"]}, "content": {"type": "string", "minLength": 1}},
    },
    "assistant_message": {
        "type": "object",
        "required": ["role", "content"],
        "additionalProperties": False,
        "properties": {"role": {"const": "assistant"}, "content": {"type": "string", "minLength": 2}},
    },
    "prompt": {"type": "array", "minItems": 1, "items": {"$ref": "#/$defs/prompt_message"}},
    "answer": {"type": "array", "minItems": 1, "maxItems": 1, "items": {"$ref": "#/$defs/assistant_message"}},
}


def _schema(properties: dict[str, Any], title: str) -> dict[str, Any]:
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": title,
        "type": "object",
        "required": list(properties),
        "additionalProperties": False,
        "properties": properties,
        "$defs": _DEFS,
    }


LINE_SCHEMAS: dict[str, dict[str, Any]] = {
    "openai-sft": _schema(
        {
            "messages": {
                "type": "array",
                "minItems": 2,
                "prefixItems": [{"$ref": "#/$defs/prompt_message"}],
                "items": {
                    "anyOf": [{"$ref": "#/$defs/prompt_message"}, {"$ref": "#/$defs/assistant_message"}]
                },
            }
        },
        "OpenAI supervised fine-tuning (chat) line",
    ),
    "openai-dpo": _schema(
        {
            "input": {
                "type": "object",
                "required": ["messages"],
                "additionalProperties": False,
                "properties": {"messages": {"$ref": "#/$defs/prompt"}},
            },
            "preferred_output": {"$ref": "#/$defs/answer"},
            "non_preferred_output": {"$ref": "#/$defs/answer"},
        },
        "OpenAI preference fine-tuning (DPO) line",
    ),
    "trl-preference": _schema(
        {
            "prompt": {"$ref": "#/$defs/prompt"},
            "chosen": {"$ref": "#/$defs/answer"},
            "rejected": {"$ref": "#/$defs/answer"},
        },
        "TRL conversational preference line (DPOTrainer, RewardTrainer...)",
    ),
    "trl-kto": _schema(
        {
            "prompt": {"$ref": "#/$defs/prompt"},
            "completion": {"$ref": "#/$defs/answer"},
            "label": {"type": "boolean"},
        },
        "TRL conversational unpaired preference line (KTOTrainer)",
    ),
}


def _answers(fmt: str, record: dict[str, Any]) -> list[str]:
    if fmt == "openai-sft":
        return [m["content"] for m in record["messages"] if m["role"] == "assistant"]
    keys = {
        "openai-dpo": ("preferred_output", "non_preferred_output"),
        "trl-preference": ("chosen", "rejected"),
    }
    return [m["content"] for key in keys.get(fmt, ("completion",)) for m in record[key]]


def validate_record(fmt: str, record: Any) -> list[str]:
    """Every way `record` (one parsed line) breaks format `fmt`; empty when it is valid."""
    if fmt not in LINE_SCHEMAS:
        raise ValueError(f"no line schema for format {fmt!r}")
    validator = jsonschema.Draft202012Validator(LINE_SCHEMAS[fmt])
    problems = [
        f"{'/'.join(str(p) for p in e.absolute_path) or '(line)'}: {e.message}"
        for e in validator.iter_errors(record)
    ]
    if problems:
        return problems
    if fmt == "openai-sft" and record["messages"][-1]["role"] != "assistant":
        problems.append("messages: the last message must be the assistant's answer")
    for answer in _answers(fmt, record):
        try:
            HypothesisDraft.model_validate_json(answer)
        except ValidationError as exc:
            problems.append(f"assistant content is not a valid hypothesis: {exc.errors()[0]['msg']}")
    if fmt in ("openai-dpo", "trl-preference"):
        first, second = _answers(fmt, record)
        if first == second:
            problems.append("the preferred and the non-preferred answers are identical")
    return problems


def validate_file(fmt: str, path: str | Path) -> list[str]:
    """Validate every line of a JSONL export; returns `line N: problem` strings (empty when valid)."""
    problems: list[str] = []
    with Path(path).open(encoding="utf-8") as fh:
        for number, line in enumerate(fh, start=1):
            try:
                record = json.loads(line)
            except json.JSONDecodeError as exc:
                problems.append(f"line {number}: not JSON ({exc.msg})")
                continue
            problems.extend(f"line {number}: {p}" for p in validate_record(fmt, record))
    return problems
