"""Showing a hypothesis to a person and taking their rewrite back: the parts of a review that do not depend
on a terminal (the key-by-key loop is `crossfield.cli._review`).

A reviewer must judge a hypothesis in half a minute, so `render_hypothesis` lays out the claim, its
category/severity/confidence, the fields, each step with what it sends and expects, and the evidence. A
rewrite happens in the reviewer's editor as YAML (readable, comment-friendly); `parse_rewrite` takes the
text back and reports every problem — YAML, contract, grounding — in one list, so the reviewer can fix them
all in one more pass.
"""

from __future__ import annotations

import os
import shlex
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel
from rich.console import Group, RenderableType
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from crossfield.errors import HypothesisError
from crossfield.feedback._decide import revalidate
from crossfield.judgment.grounding import grounding_problems
from crossfield.judgment.models import (
    Body,
    CapturedValue,
    HypothesisDraft,
    LiteralValue,
    RelativeTimeValue,
    RequestValue,
    Step,
    SynthesizedValue,
    UniqueValue,
)
from crossfield.spec.model import Api

YAML_HEADER = """\
# Rewrite this hypothesis, then save and close the editor.
# It is checked against the hypothesis contract and grounded in the spec before it is stored.
# Leave the file empty (or unchanged) to abort the rewrite. Lines starting with '#' are ignored.
"""


def describe_value(value: BaseModel | None) -> str:
    """A value of a scenario in a few characters: `1000`, `⟨charge_id⟩`, `⟨charge_id+1⟩`, `«synthesized»`."""
    if isinstance(value, LiteralValue):
        return (
            yaml.safe_dump(value.value, default_flow_style=True, width=10_000)
            .strip()
            .removesuffix("...")
            .strip()
        )
    if isinstance(value, CapturedValue):
        shift = f"{value.plus:+g}" if value.plus else ""
        return f"⟨{value.name}{shift}⟩"
    if isinstance(value, RequestValue):
        return f"⟨{value.step}.{value.path}⟩"
    if isinstance(value, SynthesizedValue):
        return "«synthesized»"
    if isinstance(value, UniqueValue):
        return f"«unique {value.name}»"
    if isinstance(value, RelativeTimeValue):
        at = f" at {value.at}" if value.at else ""
        return f"«now{value.seconds:+d}s{at}{' (date)' if value.date_only else ''}»"
    return "—"


def _describe_body(body: Body | None) -> list[str]:
    if body is None or body.mode == "none":
        return []
    if body.mode == "literal":
        return ["body " + describe_value(LiteralValue(value=body.value))]
    parts = [f"body.{path}={describe_value(v)}" for path, v in body.overrides.items()]
    parts += [f"omit body.{path}" for path in body.omit]
    return parts


def _describe_expect(step: Step) -> str:
    out: list[str] = []
    for e in step.expect:
        data = e.model_dump(exclude_defaults=True, exclude={"kind"})
        if e.kind == "status":
            out.append(str(data.get("band") or "/".join(str(c) for c in data.get("codes", []))))
        elif e.kind == "relation":
            out.append(
                f"{data['pointer']} {data['op']} {describe_value(getattr(e, 'against', None))}".rstrip(" —")
            )
        elif e.kind == "conforms":
            out.append("body conforms to the schema")
        else:
            details = ", ".join(f"{k}={v}" for k, v in data.items() if k not in ("value", "ids", "against"))
            out.append(f"{e.kind}({details})")
    return "; ".join(out) or "(nothing)"


def _describe_step(step: Step) -> Text:
    sends = [f"{k}={describe_value(v)}" for k, v in step.params.items()] + _describe_body(step.body)
    line = Text()
    line.append(step.id, style="bold")
    line.append(f"  {step.operation}")
    if step.identity != "default":
        line.append(f" as {step.identity}", style="magenta")
    if step.repeat > 1:
        line.append(f" ×{step.repeat}")
    if step.concurrent > 1:
        line.append(f" ×{step.concurrent} at once")
    if step.paginate is not None:
        line.append(f" (walk {step.paginate.style} pages)")
    if sends:
        line.append("\n   sends " + ", ".join(sends), style="dim")
    line.append("\n   expects ")
    line.append(_describe_expect(step), style="cyan")
    if step.captures:
        line.append("\n   keeps " + ", ".join(f"{c.name}={c.pointer}" for c in step.captures), style="dim")
    if step.note:
        line.append(f"\n   ({step.note})", style="italic dim")
    return line


def render_hypothesis(h: HypothesisDraft, *, position: str = "", status: str | None = None) -> RenderableType:
    """A readable panel for one hypothesis; `position` (e.g. `12/40`) goes in its title."""
    meta = Text()
    meta.append(h.category.value, style="bold magenta")
    if h.constraint_kind is not None:
        meta.append(f" ({h.constraint_kind.value})")
    meta.append(f" · severity {h.severity.value} · confidence {h.confidence:.2f}")
    provenance = getattr(h, "provenance", None)
    if provenance is not None:
        meta.append(f" · judge {provenance.judge}" + (f" ({provenance.model})" if provenance.model else ""))
    if status:
        meta.append(f" · {status}")
    fields = Table.grid(padding=(0, 2))
    for ref in h.fields:
        fields.add_row(Text(ref.operation, style="green"), ref.path)
    steps = [Text.assemble((f"{i}. ", "bold"), _describe_step(s)) for i, s in enumerate(h.steps, 1)]
    parts: list[RenderableType] = [
        Text(h.title, style="bold"),
        meta,
        Text(h.rationale),
        Text("\nFields", style="bold underline"),
        fields,
        Text("\nScenario", style="bold underline"),
        *steps,
    ]
    if h.evidence:
        parts.append(Text("\nEvidence", style="bold underline"))
        for ev in h.evidence:
            line = Text(ev.pointer, style="dim")
            if ev.text:
                line.append(f"  “{ev.text}”", style="italic")
            parts.append(line)
    if h.requirement_ids:
        parts.append(Text("Requirements: " + ", ".join(h.requirement_ids), style="dim"))
    hid = getattr(h, "id", "")
    title = " · ".join(p for p in (position, hid) if p)
    return Panel(Group(*parts), title=title or None, title_align="left", expand=True)


def to_yaml(h: HypothesisDraft) -> str:
    """The editable form of a hypothesis: the draft (no id or provenance, which the store sets) as YAML."""
    data = h.model_dump(mode="json", exclude={"id", "provenance"})
    return YAML_HEADER + yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=100)


def parse_rewrite(text: str, api: Api | None) -> tuple[HypothesisDraft | None, list[str]]:
    """(draft, []) when `text` is a valid, grounded hypothesis; (None, problems) otherwise.

    With `api` None only the contract is checked (the caller reports why the spec is missing)."""
    try:
        data: Any = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        return None, [f"not valid YAML: {exc}"]
    if not isinstance(data, dict):
        return None, [
            "the file must hold one hypothesis (a YAML mapping with title, category, fields, steps...)"
        ]
    try:
        draft = revalidate(data)
    except HypothesisError as exc:
        return None, exc.problems
    problems = grounding_problems(draft, api) if api is not None else []
    return (None, problems) if problems else (draft, [])


def editor_command() -> list[str]:
    """`$EDITOR` (else `$VISUAL`, else `vi`), split like a shell would: `EDITOR="code --wait"` works."""
    return shlex.split(os.environ.get("EDITOR") or os.environ.get("VISUAL") or "vi")


def edit_text(text: str, *, suffix: str = ".yaml") -> str:
    """Open `text` in the reviewer's editor and return what they saved."""
    fd, name = tempfile.mkstemp(prefix="crossfield-rewrite-", suffix=suffix)
    path = Path(name)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        subprocess.run([*editor_command(), str(path)], check=True)
        return path.read_text(encoding="utf-8")
    finally:
        path.unlink(missing_ok=True)


def is_blank(text: str) -> bool:
    """True when nothing but comments and whitespace is left: the reviewer aborted the rewrite."""
    return all(not line.strip() or line.lstrip().startswith("#") for line in text.splitlines())
