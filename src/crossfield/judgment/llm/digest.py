"""The compact spec digest a model reads, and the split of a large spec into chunks that fit a token budget.

The digest is not the raw spec: per operation it gives id, method, path, summary, description, the
parameters and body fields with type/format/enum/bounds/required/readOnly and a short description, and the
success-response fields (identical response shapes within a chunk are written once). Operations are grouped
by resource (first path segment after any version prefix, or the first tag) and packed greedily into
chunks whose estimated prompt (system prompt + tool schema + user message, tokens ~ chars/4) fits the
budget; a resource too big for one chunk is split, and a single operation too big even alone is rendered
with less detail and flagged `oversize`.

Every chunk also carries the interaction facts about its operations (`InteractionMap.facts_for`) and a
one-line digest of related operations outside the chunk (producers of the ids it consumes), so a
hypothesis can create its prerequisites through the API.
"""

from __future__ import annotations

import functools
import json
import logging
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from crossfield.judgment.base import Requirement
from crossfield.spec.model import Api, Field, Operation

log = logging.getLogger("crossfield.judgment.llm")

SplitBy = Literal["path", "tag"]
DEFAULT_BUDGET_TOKENS = 12_000
MIN_CHUNK_TOKENS = 800
_VERSION_SEGMENT = re.compile(r"^(v\d+(\.\d+)*|api|rest|latest)$", re.IGNORECASE)
_FACT_PRIORITY = (
    "field_relation",
    "link",
    "state_field",
    "idempotency_key",
    "pagination",
    "ownership",
    "privileged_field",
    "rate_limit",
    "resource",
    "shared_field",
)


def estimate_tokens(text: str) -> int:
    """A provider-independent estimate: about four characters per token."""
    return (len(text) + 3) // 4


class InteractionFacts(Protocol):
    """What the digest needs from `crossfield.spec.interactions.InteractionMap`."""

    def facts_for(self, operation_id: str) -> Iterable[Any]: ...


@dataclass(frozen=True, slots=True)
class Chunk:
    """One part of a spec, ready to render into a user message."""

    index: int
    total: int
    name: str
    operation_ids: tuple[str, ...]
    digest: str
    related: str = ""
    facts: str = ""
    oversize: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {
            "index": self.index,
            "name": self.name,
            "operations": list(self.operation_ids),
            "oversize": self.oversize,
        }


@dataclass(slots=True)
class _Group:
    name: str
    operations: list[Operation] = field(default_factory=list)


# ---- resources ----------------------------------------------------------------------------------------


def resource_key(op: Operation, split_by: SplitBy = "path") -> str:
    """The resource an operation belongs to: `/v1/charges/{id}/refunds` -> `charges`."""
    if split_by == "tag" and op.tags:
        return op.tags[0]
    for segment in op.path.strip("/").split("/"):
        if segment and not segment.startswith("{") and not _VERSION_SEGMENT.match(segment):
            return segment
    return op.tags[0] if op.tags else "root"


def group_operations(api: Api, split_by: SplitBy = "path") -> list[_Group]:
    groups: dict[str, _Group] = {}
    for op in api.operations:
        key = resource_key(op, split_by)
        groups.setdefault(key, _Group(key)).operations.append(op)
    return list(groups.values())


# ---- rendering ----------------------------------------------------------------------------------------


_HTML_TAG = re.compile(
    r"</?(?:p|a|br|b|i|em|strong|code|pre|span|div|ul|ol|li|table|thead|tbody|tr|td|th|h[1-6]|sup|sub|hr)"
    r"(?:\s[^<>]*)?/?>",
    re.IGNORECASE,
)


def _clip(text: str, limit: int) -> str:
    text = " ".join(_HTML_TAG.sub(" ", text).split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "\u2026"


def _fmt(value: Any) -> str:
    if isinstance(value, str):
        return (
            value if value and re.fullmatch(r"[\w.:/@+-]+", value) else json.dumps(value, ensure_ascii=False)
        )
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def render_field(f: Field, *, description_limit: int) -> str:
    """`body.amount* integer min=50 max=99999999 - Amount to charge`."""
    parts = [f.path + ("*" if f.required else "")]
    kind = f.type or "any"
    if f.format:
        kind += f"({f.format})"
    if f.nullable:
        kind += "|null"
    parts.append(kind)
    if f.enum is not None:
        values = [_fmt(v) for v in f.enum[:16]]
        more = f",+{len(f.enum) - 16}" if len(f.enum) > 16 else ""
        parts.append("enum=[" + ",".join(values) + more + "]")
    for label, value in (
        ("min", f.minimum),
        ("max", f.maximum),
        (">", f.exclusive_minimum),
        ("<", f.exclusive_maximum),
        ("minLen", f.min_length),
        ("maxLen", f.max_length),
        ("minItems", f.min_items),
        ("maxItems", f.max_items),
    ):
        if value is not None:
            number = int(value) if isinstance(value, float) and value.is_integer() else value
            parts.append(f"{label}={number}")
    if f.pattern:
        parts.append(f"pattern={_clip(f.pattern, 60)}")
    if f.default is not None:
        parts.append(f"default={_clip(_fmt(f.default), 40)}")
    if f.read_only:
        parts.append("ro")
    if f.write_only:
        parts.append("wo")
    line = " ".join(parts)
    if f.description and description_limit > 0:
        line += " \u2014 " + _clip(f.description, description_limit)
    return line


def _auth(op: Operation, api: Api) -> str | None:
    if op.security is None or tuple(op.security) == tuple(api.security):
        return None  # the API-wide scheme, stated once in the header
    if not op.security or all(not req for req in op.security):
        return "none (public)" if api.security else None
    return " or ".join("+".join(sorted(req)) for req in op.security)


@dataclass(frozen=True, slots=True)
class _OperationParts:
    main: str
    response: tuple[str, ...]
    success: str
    more_response: int


def _operation_parts(
    op: Operation, api: Api, detail: int, max_request_fields: int = 60, max_response_fields: int = 30
) -> _OperationParts:
    desc_limit = {2: 1500, 1: 400, 0: 0}[detail]
    field_desc = {2: 140, 1: 60, 0: 0}[detail]
    lines = [f"## {op.id} \u2014 {op.method.upper()} {op.path}"]
    meta = [f"ptr: {op.pointer}"] if op.pointer else []
    if op.tags:
        meta.append("tags: " + ", ".join(op.tags))
    if op.deprecated:
        meta.append("deprecated")
    auth = _auth(op, api)
    if auth:
        meta.append(f"auth: {auth}")
    if meta:
        lines.append(" | ".join(meta))
    if op.summary:
        lines.append("summary: " + _clip(op.summary, 200))
    if op.description and desc_limit:
        lines.append("description: " + _clip(op.description, desc_limit))
    params = [f for f in op.fields if f.location in ("path", "query", "header", "cookie")]
    body = [f for f in op.fields if f.location == "body"]
    if params:
        lines.append("params:")
        lines.extend("  " + render_field(f, description_limit=field_desc) for f in params)
    if op.request_body and (body or op.request_body_required):
        media = op.body_media_type or "?"
        lines.append(f"body ({media}{', required' if op.request_body_required else ''}):")
        lines.extend("  " + render_field(f, description_limit=field_desc) for f in body[:max_request_fields])
        if len(body) > max_request_fields:
            lines.append(f"  \u2026 {len(body) - max_request_fields} more body fields")
    statuses = [r.status for r in op.responses]
    if statuses:
        lines.append("responses: " + ", ".join(statuses))
    response = [f for f in op.fields if f.location == "response"]
    rendered = tuple(
        render_field(f, description_limit=min(field_desc, 80)) for f in response[:max_response_fields]
    )
    success = next((r.status for r in op.success_responses if r.json_schema is not None), "2xx")
    return _OperationParts("\n".join(lines), rendered, success, max(0, len(response) - max_response_fields))


def _join_parts(op_id: str, parts: _OperationParts, response_seen: dict[tuple[str, ...], str] | None) -> str:
    if not parts.response:
        return parts.main
    lines = [parts.main]
    earlier = response_seen.get(parts.response) if response_seen is not None else None
    if earlier is not None:
        lines.append(f"response {parts.success}: same fields as {earlier}")
    else:
        if response_seen is not None:
            response_seen[parts.response] = op_id
        lines.append(f"response {parts.success} fields:")
        lines.extend("  " + line for line in parts.response)
        if parts.more_response:
            lines.append(f"  \u2026 {parts.more_response} more response fields")
    return "\n".join(lines)


def render_operation(
    op: Operation,
    api: Api,
    *,
    detail: int = 2,
    response_seen: dict[tuple[str, ...], str] | None = None,
) -> str:
    """The digest of one operation. `detail` 2 is full, 1 shortens prose, 0 keeps only names and types.
    With `response_seen`, a response shape already written for another operation is referred to by name."""
    return _join_parts(op.id, _operation_parts(op, api, detail), response_seen)


def render_related(op: Operation) -> str:
    """One line: how to call an operation that is not the focus (a prerequisite or a read-back)."""
    required = [
        f"{f.path}:{f.type or 'any'}" + (f"[{','.join(_fmt(v) for v in f.enum[:6])}]" if f.enum else "")
        for f in op.fields
        if f.required and f.location in ("path", "query", "header", "body") and f.path.count(".") == 1
    ]
    top = [f.path for f in op.fields if f.location == "response" and f.path.count(".") == 1]
    ids = sorted(top, key=lambda p: not (p == "response.id" or p.endswith("_id")))[:8]  # ids first, stable
    line = f"- {op.id} \u2014 {op.method.upper()} {op.path}"
    if op.summary:
        line += f" ({_clip(op.summary, 60)})"
    if required:
        line += "; requires " + ", ".join(required[:10])
    if ids:
        line += "; returns " + ", ".join(ids)
    return line


def _compact(value: Any, depth: int = 0) -> Any:
    if isinstance(value, Mapping):
        out: dict[str, Any] = {}
        for key, item in value.items():
            if key == "evidence":
                said = (
                    [e.get("text") for e in item if isinstance(e, Mapping) and e.get("text")]
                    if isinstance(item, list)
                    else []
                )
                if said:
                    out["says"] = [_clip(str(s), 200) for s in said[:2]]
                continue
            out[str(key)] = _compact(item, depth + 1)
        return out
    if isinstance(value, list | tuple):
        items = [_compact(v, depth + 1) for v in value[:8]]
        if len(value) > 8:
            items.append(f"\u2026+{len(value) - 8}")
        return items
    if isinstance(value, str):
        return _clip(value, 240)
    return value


def fact_to_dict(fact: Any) -> dict[str, Any]:
    """A fact of the interaction map as a plain dict, whatever its type."""
    to_dict = getattr(fact, "to_dict", None)
    if callable(to_dict):
        data = to_dict()
        return dict(data) if isinstance(data, Mapping) else {"fact": data}
    if isinstance(fact, Mapping):
        return dict(fact)
    return {"fact": str(fact)}


def _fact_operations(fact: Any) -> tuple[str, ...]:
    ops = getattr(fact, "operation_ids", None)
    if isinstance(ops, tuple | list):
        return tuple(str(o) for o in ops)
    return ()


def fact_line(fact: Any) -> tuple[int, str, tuple[str, ...]]:
    """(priority rank, `- kind: {json}` line, operation ids) of one fact."""
    data = fact_to_dict(fact)
    kind = str(data.pop("kind", type(fact).__name__))
    body = json.dumps(_compact(data), ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    rank = _FACT_PRIORITY.index(kind) if kind in _FACT_PRIORITY else len(_FACT_PRIORITY)
    return rank, f"- {kind}: {body}", _fact_operations(fact)


_FactEntry = tuple[str, int, tuple[str, ...]]
"""(line, token cost with its newline, operation ids) of one rendered fact."""


def render_facts(
    facts: Sequence[Any],
    budget_tokens: int,
    line_of: Callable[[Any], tuple[int, str, tuple[str, ...]]] = fact_line,
) -> tuple[str, set[str]]:
    """The facts as compact JSON lines, most useful kinds first, within `budget_tokens`; plus the operation
    ids they mention (for related operations)."""
    seen: set[str] = set()
    entries: list[tuple[int, _FactEntry]] = []
    for fact in facts:
        rank, line, ops = line_of(fact)
        if line in seen:
            continue
        seen.add(line)
        entries.append((rank, (line, estimate_tokens(line) + 1, ops)))
    entries.sort(key=lambda e: e[0])
    kept, mentioned = _keep_facts((entry for _, entry in entries), budget_tokens)
    return "\n".join(kept), mentioned


def _keep_facts(entries: Iterable[_FactEntry], budget_tokens: int) -> tuple[list[str], set[str]]:
    """Greedy, in the given (priority) order: every line that still fits the budget."""
    kept: list[str] = []
    mentioned: set[str] = set()
    used = 0
    for line, cost, ops in entries:
        if used + cost > budget_tokens:
            continue
        kept.append(line)
        used += cost
        if len(ops) <= 6:
            mentioned.update(ops)
    return kept, mentioned


def _tokens(length: int) -> int:
    """`estimate_tokens` of a text of `length` characters."""
    return (length + 3) // 4


def _joined_length(lines: Sequence[str], separator: int) -> int:
    return sum(map(len, lines)) + separator * (len(lines) - 1) if lines else 0


# ---- chunking -----------------------------------------------------------------------------------------


def _path_producers(by_path: Mapping[str, Sequence[Operation]], ops: Sequence[Operation]) -> list[str]:
    """Without an interaction map: the POST operations on the collections whose ids the chunk consumes."""
    found: list[str] = []
    for op in ops:
        segments = op.path.rstrip("/").split("/")
        for i, segment in enumerate(segments):
            if segment.startswith("{"):
                collection = "/".join(segments[:i])
                found.extend(c.id for c in by_path.get(collection, ()) if c.method.lower() == "post")
    return found


class _Pack:
    """The operations of one chunk being packed, with what its size depends on kept as they are added: the
    digest's length, the response shapes already written, and the chunk's distinct facts by priority. Adding
    operations renders only those; measuring re-selects the facts (cheap: their lines are rendered once per
    builder) and the related operations. `render()` gives exactly the texts `size()` measures."""

    def __init__(self, builder: ChunkBuilder, detail: int) -> None:
        self._builder = builder
        self._detail = detail
        self.ops: list[Operation] = []
        self._own: set[str] = set()
        self._pieces: list[str] = []
        self._digest_length = 0
        self._seen: dict[tuple[str, ...], str] = {}
        self._lines: set[str] = set()
        self._by_rank: dict[int, list[_FactEntry]] = {}
        self._producers: set[str] = set()

    def add(self, ops: Iterable[Operation]) -> None:
        builder = self._builder
        for op in ops:
            piece = _join_parts(op.id, builder._op_parts(op, self._detail), self._seen)
            self._digest_length += len(piece) + (2 if self._pieces else 0)  # "\n\n" between operations
            self._pieces.append(piece)
            self.ops.append(op)
            self._own.add(op.id)
            for rank, entry in builder._facts_of(op):
                if entry[0] not in self._lines:
                    self._lines.add(entry[0])
                    self._by_rank.setdefault(rank, []).append(entry)
            if builder.imap is None:
                self._producers.update(_path_producers(builder._by_path, [op]))

    def _select(self) -> tuple[list[str], list[str]]:
        """(fact lines kept, related-operation lines)."""
        builder = self._builder
        ranked = (entry for rank in sorted(self._by_rank) for entry in self._by_rank[rank])
        kept, mentioned = _keep_facts(ranked, max(200, builder.content_budget // 3))
        related_ids = mentioned | self._producers
        related = [builder._related_line(op) for op in builder._related_ops(related_ids, self._own)]
        return kept, related

    def size(self) -> int:
        """`sum(estimate_tokens(text) for text in self.render())`, without joining the texts."""
        kept, related = self._select()
        return (
            _tokens(self._digest_length)
            + _tokens(_joined_length(related, 1))
            + _tokens(_joined_length(kept, 1))
        )

    def render(self) -> tuple[str, str, str]:
        """(digest, related, facts)."""
        kept, related = self._select()
        return "\n\n".join(self._pieces), "\n".join(related), "\n".join(kept)


class ChunkBuilder:
    """Renders chunks of one API. `overhead_tokens` is everything of the prompt that is not chunk content
    (system prompt, tool schema, API header, requirements, template text)."""

    def __init__(
        self,
        api: Api,
        *,
        budget_tokens: int = DEFAULT_BUDGET_TOKENS,
        overhead_tokens: int = 0,
        interaction_map: InteractionFacts | None = None,
        split_by: SplitBy = "path",
        max_operations: int | None = None,
    ) -> None:
        self.api = api
        self.budget_tokens = budget_tokens
        self.max_operations = max_operations
        self.overhead_tokens = overhead_tokens
        self.imap = interaction_map
        self.split_by = split_by
        available = budget_tokens - overhead_tokens
        if available < MIN_CHUNK_TOKENS:
            log.warning(
                "token budget %d leaves %d tokens for spec content after the fixed prompt (%d); using %d",
                budget_tokens,
                available,
                overhead_tokens,
                MIN_CHUNK_TOKENS,
            )
            available = MIN_CHUNK_TOKENS
        self.content_budget = available
        self._parts: dict[tuple[str, int], _OperationParts] = {}
        self._related: dict[str, str] = {}
        self._fact_entries: dict[int, tuple[Any, tuple[int, _FactEntry]]] = {}
        self._op_facts: dict[str, list[tuple[int, _FactEntry]]] = {}
        self._by_path: dict[str, list[Operation]] = {}
        self._positions: dict[str, list[int]] = {}
        for position, candidate in enumerate(api.operations):
            self._by_path.setdefault(candidate.path.rstrip("/"), []).append(candidate)
            self._positions.setdefault(candidate.id, []).append(position)

    def _op_parts(self, op: Operation, detail: int) -> _OperationParts:
        key = (op.id, detail)
        parts = self._parts.get(key)
        if parts is None:
            parts = self._parts[key] = _operation_parts(op, self.api, detail)
        return parts

    def _related_line(self, op: Operation) -> str:
        line = self._related.get(op.id)
        if line is None:
            line = self._related[op.id] = render_related(op)
        return line

    def _fact_entry(self, fact: Any) -> tuple[int, _FactEntry]:
        cached = self._fact_entries.get(id(fact))
        if cached is None or cached[0] is not fact:  # keyed by identity; the fact is kept alive with it
            rank, line, ops = fact_line(fact)
            cached = self._fact_entries[id(fact)] = (fact, (rank, (line, estimate_tokens(line) + 1, ops)))
        return cached[1]

    def _facts_of(self, op: Operation) -> list[tuple[int, _FactEntry]]:
        """(rank, entry) of every interaction fact of `op`; each fact is rendered once per builder."""
        entries = self._op_facts.get(op.id)
        if entries is None:
            facts = self.imap.facts_for(op.id) if self.imap is not None else ()
            entries = self._op_facts[op.id] = [self._fact_entry(fact) for fact in facts]
        return entries

    def _related_ops(self, ids: set[str], own: set[str]) -> list[Operation]:
        """The operations of `ids` not in `own`, in spec order, at most 20."""
        positions = sorted(p for o in ids if o not in own for p in self._positions.get(o, ()))
        return [self.api.operations[p] for p in positions[:20]]

    def pack(self, ops: Sequence[Operation] = (), *, detail: int = 2) -> _Pack:
        """A chunk under construction: operations can be added to it, and its size is kept up to date."""
        pack = _Pack(self, detail)
        pack.add(ops)
        return pack

    def render(self, ops: Sequence[Operation], *, detail: int = 2) -> tuple[str, str, str]:
        """(digest, related, facts) for a set of operations."""
        return self.pack(ops, detail=detail).render()

    def size(self, ops: Sequence[Operation], *, detail: int = 2) -> int:
        return self.pack(ops, detail=detail).size()

    def fits(self, ops: Sequence[Operation]) -> bool:
        if self.max_operations is not None and len(ops) > self.max_operations:
            return False
        return self.size(ops) <= self.content_budget

    def _grow(self, pack: _Pack, ops: Sequence[Operation]) -> bool:
        """Add `ops` to `pack` if the result still fits (`fits(pack.ops + ops)`). When it does not, `pack` is
        left in an unspecified state: the caller starts a new chunk and drops it."""
        if self.max_operations is not None and len(pack.ops) + len(ops) > self.max_operations:
            return False
        pack.add(ops)
        return pack.size() <= self.content_budget

    def plan(self) -> list[tuple[str, list[Operation], bool]]:
        """Group by resource, then pack greedily: (name, operations, oversize) per chunk."""
        chunks: list[tuple[list[str], list[Operation], bool]] = []
        current_names: list[str] = []
        current: list[Operation] = []

        def flush() -> None:
            nonlocal current_names, current
            if current:
                chunks.append((current_names, current, False))
            current_names, current = [], []

        pack: _Pack | None = None  # `current`, with its size kept up to date as groups join it
        for group in group_operations(self.api, self.split_by):
            if current and pack is not None and self._grow(pack, group.operations):
                current_names.append(group.name)
                current.extend(group.operations)
                continue
            flush()
            pack = None
            if self.max_operations is None or len(group.operations) <= self.max_operations:
                pack = self.pack(group.operations)
                if pack.size() <= self.content_budget:
                    current_names, current = [group.name], list(group.operations)
                    continue
                pack = None
            parts: list[list[Operation]] = [[]]
            part: _Pack | None = None
            for op in group.operations:
                if part is not None and self._grow(part, [op]):
                    parts[-1].append(op)
                    continue
                if parts[-1]:
                    parts.append([])
                parts[-1].append(op)
                part = self.pack([op])
            for n, ops in enumerate(parts, 1):
                label = f"{group.name} ({n}/{len(parts)})" if len(parts) > 1 else group.name
                oversize = len(ops) == 1 and self.size(ops) > self.content_budget
                chunks.append(([label], ops, oversize))
        flush()
        planned: list[tuple[str, list[Operation], bool]] = []
        used: set[str] = set()
        for names, ops, oversize in chunks:
            if len(names) == 1:
                name = names[0]
            else:
                others = ", ".join(names[1:4]) + (", \u2026" if len(names) > 4 else "")
                name = f"{names[0]} +{len(names) - 1} ({others})"
            base, n = name, 2
            while name in used:
                name, n = f"{base} #{n}", n + 1
            used.add(name)
            planned.append((name, ops, oversize))
        return planned

    def build(self, on_oversize: Callable[[str, int], None] | None = None) -> list[Chunk]:
        planned = self.plan()
        out: list[Chunk] = []
        for index, (name, ops, oversize) in enumerate(planned, 1):
            if oversize:
                for detail in (1, 0):  # less prose first, then names and types only
                    pack = self.pack(ops, detail=detail)
                    size = pack.size()
                    if size <= self.content_budget:
                        break
                if on_oversize is not None and size > self.content_budget:
                    on_oversize(name, size)
                oversize = size > self.content_budget
            else:
                pack = self.pack(ops)
            digest, related, facts = pack.render()
            out.append(
                Chunk(
                    index=index,
                    total=len(planned),
                    name=name,
                    operation_ids=tuple(op.id for op in ops),
                    digest=digest,
                    related=related,
                    facts=facts,
                    oversize=oversize,
                )
            )
        return out


def select_requirements(
    requirements: Sequence[Requirement], ops: Sequence[Operation], budget_tokens: int
) -> list[Requirement]:
    """All requirements when they fit `budget_tokens`; otherwise those that mention an operation id, a path
    segment or a field name of `ops` (as a whole word: `\\bword\\b`)."""
    if sum(estimate_tokens(r.id + r.text) + 3 for r in requirements) <= budget_tokens:
        return list(requirements)
    words: set[str] = set()
    for op in ops:
        words.add(op.id.lower())
        words.update(s.lower() for s in op.path.split("/") if s and not s.startswith("{"))
        words.update(f.name.lower() for f in op.fields if len(f.name) > 2)
    # A word of word characters only matches `\bword\b` exactly where it is a whole run of word characters
    # of the text, so a set lookup decides it; the others (`expand[]`, `a.b`) are searched for.
    plain = {w for w in words if _WORD.fullmatch(w)}
    other = [re.compile(r"\b" + re.escape(w) + r"\b") for w in words - plain]
    picked = []
    for req in requirements:
        text = req.text.lower()
        if not plain.isdisjoint(_word_runs(text)) or any(p.search(text) for p in other):
            picked.append(req)
    return picked


_WORD = re.compile(r"\w+")


@functools.lru_cache(maxsize=4096)
def _word_runs(text: str) -> frozenset[str]:
    return frozenset(_WORD.findall(text))
