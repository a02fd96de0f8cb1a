"""Requirements input: a Markdown or text file whose requirements carry ids like `REQ-123`.

Recognized shapes, mixed freely in one file:

    ## REQ-12: Refunds never exceed the charge       (a heading; the paragraphs under it are its text)
    - REQ-13: A captured charge cannot be captured again.   (a list item; stops at a blank line)
    REQ-14 - Every refund is listed on its charge.    (a plain line)
    | REQ-15 | Another account's charges are invisible | high |   (a table row)

An id is letters/digits, dash-separated, ending in a number (`REQ-7`, `SEC-12`, `REQ-PAY-3`). An id in the
middle of a sentence ("see REQ-2") is a reference, not a new requirement. A repeated id appends its text.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from crossfield.errors import ConfigError
from crossfield.judgment.base import Requirement

REQUIREMENT_ID = re.compile(r"[A-Z][A-Z0-9]*(?:-[A-Z0-9]+)*-\d+")
_LEAD = re.compile(r"^\s*(?:#{1,6}\s+|[-*+]\s+(?:\[[ xX]\]\s+)?|>\s*|\d+[.)]\s+|\|\s*)?(?:\*\*|__|`|\[)?")
_AFTER_ID = re.compile(r"^(?:\*\*|__|`|\])?\s*(?:[:.)\-\u2013\u2014|]\s*)?")
_HEADING = re.compile(r"^\s*#{1,6}\s")
_TABLE_SEPARATOR = re.compile(r"^\s*\|?\s*:?-{3,}")


def parse_requirements(text: str) -> list[Requirement]:
    """Every requirement in `text`, in order of first appearance."""
    texts: dict[str, list[str]] = {}
    current: str | None = None
    stop_at_blank = True
    for raw in text.splitlines():
        line = raw.rstrip()
        if _TABLE_SEPARATOR.match(line):
            continue
        start = _requirement_start(line)
        if start is not None:
            req_id, rest = start
            current = req_id
            texts.setdefault(req_id, [])
            stop_at_blank = not _HEADING.match(line)
            if rest and not stop_at_blank and rest[-1] not in ".!?:;":
                rest += "."  # a heading's title, then its paragraphs
            if rest:
                texts[req_id].append(rest)
            continue
        if current is None:
            continue
        if not line.strip():
            if stop_at_blank:
                current = None
            continue
        if _HEADING.match(line) or line.lstrip().startswith("|"):
            current = None  # a new section, or a table that is not a requirement row
            continue
        texts[current].append(line.strip().strip("|").strip())
    return [Requirement(req_id, " ".join(" ".join(parts).split())) for req_id, parts in texts.items()]


def load_requirements(path: str | os.PathLike[str]) -> list[Requirement]:
    """Read and parse a requirements file; an unreadable file or one without any id is a `ConfigError`."""
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read requirements file {file}: {exc.strerror or exc}") from exc
    requirements = parse_requirements(text)
    if not requirements:
        raise ConfigError(
            f"{file}: no requirements found; write one per line or heading, each starting with an id "
            "such as 'REQ-12: Refunds never exceed the captured amount.'"
        )
    return requirements


def _requirement_start(line: str) -> tuple[str, str] | None:
    lead = _LEAD.match(line)
    rest = line[lead.end() :] if lead else line
    match = REQUIREMENT_ID.match(rest)
    if match is None:
        return None
    tail = rest[match.end() :]
    if tail and tail[0].isalnum():
        return None
    tail = _AFTER_ID.sub("", tail, count=1)
    if line.lstrip().startswith("|"):
        cells = [c.strip() for c in tail.split("|")]
        tail = " \u2014 ".join(c for c in cells if c)
    return match.group(0), tail.strip().strip("*_`").strip()
