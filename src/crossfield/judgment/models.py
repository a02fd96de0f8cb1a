"""The risk hypothesis: the contract between a judge (which decides *what* to test and why) and the code
generator (which compiles it, mechanically, into a test).

It is small and strict on purpose: an LLM must be able to fill it reliably through a JSON Schema, a
reviewer must be able to read it in half a minute, and every field must mean exactly one thing to the
compiler. `HypothesisDraft` is what a judge writes; `Hypothesis` adds the stable content id and the
provenance that crossfield attaches.
"""

from __future__ import annotations

import hashlib
import json
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, JsonValue, field_validator, model_validator

IDENT_PATTERN = r"^[a-z][a-z0-9_]{0,47}$"


class Category(StrEnum):
    """The fixed taxonomy of cross-field and cross-request risks."""

    INTER_PARAMETER = "inter_parameter"
    """Constraints between parameters of one request: requires, only-one, all-or-none, zero-or-one, arithmetic/relational."""
    STATE_TRANSITION = "state_transition"
    IDEMPOTENCY = "idempotency"
    ARITHMETIC_INVARIANT = "arithmetic_invariant"
    """Totals, refunds, balances, currency: invariants that span requests."""
    PAGINATION = "pagination"
    CONCURRENCY = "concurrency"
    AUTHORIZATION = "authorization"
    """Authorization and object ownership."""
    TEMPORAL_ORDERING = "temporal_ordering"
    MASS_ASSIGNMENT = "mass_assignment"
    RATE_LIMITING = "rate_limiting"
    INPUT_VALIDATION = "input_validation"
    """A single field's own constraint; not cross-field, kept so single-field controls fit the same contract."""


SINGLE_FIELD_CATEGORIES = frozenset({Category.INPUT_VALIDATION, Category.RATE_LIMITING})


class ConstraintKind(StrEnum):
    """Sub-kind of an inter-parameter constraint."""

    REQUIRES = "requires"
    ONLY_ONE = "only_one"
    ALL_OR_NONE = "all_or_none"
    ZERO_OR_ONE = "zero_or_one"
    ARITHMETIC_RELATIONAL = "arithmetic_relational"


class Severity(StrEnum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"


SEVERITY_WEIGHT = {Severity.LOW: 1.0, Severity.MEDIUM: 2.0, Severity.HIGH: 3.0, Severity.CRITICAL: 4.0}


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, use_enum_values=False)


class FieldRef(_Model):
    """A field of the spec model: an operation id and a dotted field path (`body.amount`, `path.id`)."""

    operation: str = Field(description="operationId (or 'METHOD /path') of an operation in the spec")
    path: str = Field(
        description="dotted field path, e.g. 'body.amount', 'query.limit', 'path.id', 'body.items[].price'"
    )


class SpecEvidence(_Model):
    """What in the spec supports the claim: a JSON pointer and, when it is prose, the sentence."""

    pointer: str = Field(description="JSON pointer into the spec document, e.g. '/paths/~1charges/post'")
    text: str | None = Field(
        default=None, description="the sentence of the spec that states the rule, if any"
    )


# ---- values -------------------------------------------------------------------------------------------


class LiteralValue(_Model):
    """A value written out."""

    kind: Literal["literal"] = "literal"
    value: JsonValue


class CapturedValue(_Model):
    """A value captured from an earlier step's response, optionally shifted (`plus`) for arithmetic claims."""

    kind: Literal["captured"] = "captured"
    name: str = Field(pattern=IDENT_PATTERN, description="a capture name defined by an earlier step")
    plus: float | None = Field(default=None, description="add this number to the captured value")


class RequestValue(_Model):
    """The value an earlier step sent for one of its request fields."""

    kind: Literal["request"] = "request"
    step: str = Field(pattern=IDENT_PATTERN)
    path: str = Field(description="field path of that step's request, e.g. 'body.amount'")


class SynthesizedValue(_Model):
    """A valid value synthesized from the field's schema."""

    kind: Literal["synthesized"] = "synthesized"


class UniqueValue(_Model):
    """A fresh unique string per test run; the same `name` gives the same value within one test
    (so a replay can reuse an idempotency key)."""

    kind: Literal["unique"] = "unique"
    name: str = Field(pattern=IDENT_PATTERN)


_TEN_YEARS_S = 10 * 366 * 24 * 3600


class RelativeTimeValue(_Model):
    """An instant relative to when the test runs ("26 hours from now", rounded up to the next whole hour
    so that slot-based APIs accept it), for rules about lead times and cut-offs (book at least 2 hours
    ahead, cancel up to 24 hours before the start) that fixed dates cannot exercise."""

    kind: Literal["relative_time"] = "relative_time"
    seconds: int = Field(
        ge=-_TEN_YEARS_S,
        le=_TEN_YEARS_S,
        description="offset from the moment the request is built, in seconds (negative: in the past)",
    )
    date_only: bool = Field(
        default=False, description="send the calendar date (YYYY-MM-DD) instead of a date-time"
    )
    at: str | None = Field(
        default=None,
        pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$",
        description="time of day (HH:MM, UTC) on the day `seconds` from now; `seconds` then only picks the day",
    )
    weekday: bool = Field(
        default=False, description="count the days of `seconds` in weekdays (Monday to Friday) only"
    )
    lane_days: int = Field(
        default=0,
        ge=0,
        le=31,
        description=(
            "days added for each test that ran before this one in the same run, so that tests booking the "
            "same resource (a room, a practitioner) do not collide; the dates of one test keep their order"
        ),
    )


Value = Annotated[
    LiteralValue | CapturedValue | RequestValue | SynthesizedValue | UniqueValue | RelativeTimeValue,
    Field(discriminator="kind"),
]


# ---- steps --------------------------------------------------------------------------------------------


class Body(_Model):
    """A request body: synthesized from the schema with overrides (the usual case), literal, or none."""

    mode: Literal["synthesized", "literal", "none"] = "synthesized"
    value: JsonValue = Field(default=None, description="the literal body, when mode is 'literal'")
    overrides: dict[str, Value] = Field(
        default_factory=dict,
        description="dotted paths inside the body ('amount', 'items.0.quantity') set to these values",
    )
    omit: list[str] = Field(default_factory=list, description="dotted paths inside the body to leave out")
    include_optional: bool = Field(default=False, description="synthesize optional properties too")


class Capture(_Model):
    """Keep a value from this step's response under `name` for later steps."""

    name: str = Field(pattern=IDENT_PATTERN)
    pointer: str = Field(
        description=(
            "JSON pointer into the response body ('/id'; a negative array index counts from the end: "
            "'/data/-1/id'), or into a header with source 'header'"
        )
    )
    source: Literal["body", "header"] = "body"


class Pagination(_Model):
    """Walk a paginated list operation, collecting every item of every page."""

    style: Literal["offset", "page", "cursor", "link"]
    page_size: int = Field(default=2, ge=1, le=1000)
    size_param: str | None = Field(
        default=None, description="field path of the page-size parameter, e.g. 'query.limit'"
    )
    offset_param: str | None = None
    page_param: str | None = None
    first_page: int = 1
    cursor_param: str | None = Field(default=None, description="field path of the cursor parameter")
    cursor_pointer: str | None = Field(
        default=None, description="response pointer of the next cursor, e.g. '/next_cursor'"
    )
    cursor_from_last_item: str | None = Field(
        default=None,
        description="when the cursor is the last item's id ('starting_after'), its pointer in the item, e.g. '/id'",
    )
    next_pointer: str | None = Field(
        default=None, description="response pointer of the next page's URL (link style)"
    )
    items_pointer: str = Field(
        default="/data", description="pointer of the item list in the response ('' if the body is the list)"
    )
    has_more_pointer: str | None = None
    total_pointer: str | None = None
    max_pages: int = Field(default=50, ge=1, le=1000)


RelationOp = Literal[
    "eq",
    "ne",
    "lt",
    "le",
    "gt",
    "ge",
    "in",
    "not_in",
    "len_eq",
    "len_ge",
    "len_le",
    "unique",
    "exists",
    "absent",
]


class StatusExpectation(_Model):
    """The response status: a band (`2xx`, `4xx`) or exact codes. 5xx is never acceptable and always fails."""

    kind: Literal["status"] = "status"
    band: Literal["2xx", "3xx", "4xx"] | None = None
    codes: list[int] = Field(default_factory=list)

    @model_validator(mode="after")
    def _one_of(self) -> StatusExpectation:
        if self.band is None and not self.codes:
            raise ValueError("status expectation needs a band ('2xx', '4xx') or exact codes")
        if any(c >= 500 or c < 100 for c in self.codes):
            raise ValueError("status codes must be 1xx-4xx: a 5xx response is never an expected outcome")
        return self


class ConformsExpectation(_Model):
    """The response body conforms to the spec's schema for its status."""

    kind: Literal["conforms"] = "conforms"


class RelationExpectation(_Model):
    """A relation on a value of the response: `pointer` `op` `against`."""

    kind: Literal["relation"] = "relation"
    pointer: str = Field(description="JSON pointer into this step's response body, e.g. '/amount_refunded'")
    op: RelationOp
    against: Value | None = Field(
        default=None, description="the other side (not needed for unique/exists/absent)"
    )


class SameResponseExpectation(_Model):
    """The response equals an earlier step's response (whole body, or at these pointers)."""

    kind: Literal["same_response"] = "same_response"
    step: str = Field(pattern=IDENT_PATTERN)
    pointers: list[str] = Field(default_factory=list)


class CollectionExpectation(_Model):
    """A check over a list operation's items (a walked collection, or one page's list)."""

    kind: Literal["collection"] = "collection"
    check: Literal["contains", "not_contains", "each_once", "count_equals_total", "count_delta"]
    items_pointer: str | None = Field(
        default=None, description="pointer of the list in the response; defaults to the walk's"
    )
    id_pointer: str = Field(default="/id", description="pointer of an item's identity inside an item")
    value: Value | None = Field(default=None, description="the id that must (not) be in the collection")
    ids: list[Value] = Field(
        default_factory=list, description="each_once: ids that must each appear exactly once"
    )
    baseline_step: str | None = Field(
        default=None, description="count_delta: the earlier list step to compare with"
    )
    delta: int | None = Field(default=None, description="count_delta: expected count change")


class GroupExpectation(_Model):
    """For a step run `repeat` times or as `concurrent` calls: how many responses may fall in a band/codes."""

    kind: Literal["group"] = "group"
    band: Literal["2xx", "3xx", "4xx"] | None = None
    codes: list[int] = Field(default_factory=list)
    min_count: int | None = Field(default=None, ge=0)
    max_count: int | None = Field(default=None, ge=0)

    @model_validator(mode="after")
    def _bounds(self) -> GroupExpectation:
        if self.band is None and not self.codes:
            raise ValueError("group expectation needs a band or codes")
        if self.min_count is None and self.max_count is None:
            raise ValueError("group expectation needs min_count and/or max_count")
        return self


Expectation = Annotated[
    StatusExpectation
    | ConformsExpectation
    | RelationExpectation
    | SameResponseExpectation
    | CollectionExpectation
    | GroupExpectation,
    Field(discriminator="kind"),
]


class Step(_Model):
    """One call (or a repeated/concurrent group of calls, or a page walk) of one operation."""

    id: str = Field(pattern=IDENT_PATTERN, description="step name, e.g. 'create_charge', 'second_refund'")
    operation: str = Field(description="operationId (or 'METHOD /path') of the operation to call")
    identity: str = Field(
        default="default", pattern=IDENT_PATTERN, description="named identity making the call"
    )
    params: dict[str, Value] = Field(
        default_factory=dict,
        description="path/query/header/cookie parameters by field path: 'path.id', 'query.limit', 'header.Idempotency-Key'",
    )
    body: Body | None = None
    captures: list[Capture] = Field(default_factory=list)
    repeat: int = Field(default=1, ge=1, le=200, description="call this many times in sequence")
    concurrent: int = Field(default=1, ge=1, le=50, description="call this many times at once")
    paginate: Pagination | None = None
    expect: list[Expectation] = Field(default_factory=list)
    setup: bool = Field(
        default=False,
        description=(
            "a prerequisite, not evidence for the claim: when the server refuses it (4xx), the test is "
            "skipped as not evaluated instead of failing"
        ),
    )
    note: str = Field(
        default="",
        description="why this step is here, e.g. 'positive control: same call without the violation'",
    )

    @model_validator(mode="after")
    def _shape(self) -> Step:
        if self.repeat > 1 and self.concurrent > 1:
            raise ValueError(f"step {self.id!r}: use either repeat or concurrent, not both")
        if self.paginate is not None and (self.repeat > 1 or self.concurrent > 1):
            raise ValueError(f"step {self.id!r}: a page walk cannot be repeated or concurrent")
        return self

    @property
    def is_group(self) -> bool:
        return self.repeat > 1 or self.concurrent > 1


class Provenance(_Model):
    """Who produced a hypothesis, from what."""

    judge: str = Field(description="'heuristic', 'llm', 'scripted', 'human'")
    model: str | None = None
    prompt_id: str | None = None
    prompt_hash: str | None = None
    spec_hash: str = ""
    api_version: str = ""
    chunk: str | None = None


class HypothesisDraft(_Model):
    """What a judge writes: the claim, the fields and evidence, and the scenario."""

    title: str = Field(min_length=3, max_length=160, description="one line: what must hold")
    rationale: str = Field(
        min_length=3, max_length=800, description="one or two sentences: why this is risky"
    )
    category: Category
    constraint_kind: ConstraintKind | None = Field(default=None, description="for inter_parameter only")
    severity: Severity
    confidence: float = Field(ge=0.0, le=1.0)
    fields: list[FieldRef] = Field(
        min_length=1, description="the interacting fields; at least two for a cross-field risk"
    )
    evidence: list[SpecEvidence] = Field(default_factory=list)
    steps: list[Step] = Field(min_length=1)
    requirement_ids: list[str] = Field(
        default_factory=list, description="ids of requirements this traces to, e.g. REQ-12"
    )
    change: str | None = Field(
        default=None, description="the spec change this targets, for version-diff runs"
    )

    @field_validator("fields")
    @classmethod
    def _distinct_fields(cls, v: list[FieldRef]) -> list[FieldRef]:
        seen: set[tuple[str, str]] = set()
        for ref in v:
            key = (ref.operation, ref.path)
            if key in seen:
                raise ValueError(f"field {ref.operation}:{ref.path} is listed twice")
            seen.add(key)
        return v

    @model_validator(mode="after")
    def _coherent(self) -> HypothesisDraft:
        if self.category not in SINGLE_FIELD_CATEGORIES and len(self.fields) < 2:
            raise ValueError(
                f"a {self.category.value} hypothesis is cross-field: list at least two interacting fields"
            )
        if self.constraint_kind is not None and self.category is not Category.INTER_PARAMETER:
            raise ValueError("constraint_kind is only for inter_parameter hypotheses")
        ids = [s.id for s in self.steps]
        dup = {i for i in ids if ids.count(i) > 1}
        if dup:
            raise ValueError(f"step ids must be unique; repeated: {sorted(dup)}")
        return self

    def content_id(self) -> str:
        """A stable id from the content: the same claim and scenario always get the same id."""
        payload = self.model_dump(
            mode="json", exclude={"confidence", "requirement_ids", "change", "id", "provenance"}
        )
        for step in payload.get("steps", ()):
            # fields added later count only when set, so ids of earlier hypotheses (and the reviewers'
            # decisions stored under them) stay what they were
            if step.get("setup") is False:
                del step["setup"]
        canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        return "h_" + hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:16]

    @property
    def score(self) -> float:
        """Ranking score: severity weight x confidence."""
        return SEVERITY_WEIGHT[self.severity] * self.confidence

    @property
    def field_key(self) -> tuple[str, frozenset[tuple[str, str]]]:
        """What makes two hypotheses duplicates: same category and same set of fields."""
        return self.category.value, frozenset((f.operation, f.path) for f in self.fields)


class Hypothesis(HypothesisDraft):
    """A hypothesis with its stable content id and provenance, as stored and compiled."""

    id: str = Field(default="", description="stable content id; computed when empty")
    provenance: Provenance = Field(default_factory=lambda: Provenance(judge="unknown"))

    @model_validator(mode="after")
    def _fill_id(self) -> Hypothesis:
        if not self.id:
            object.__setattr__(self, "id", self.content_id())
        return self

    @classmethod
    def from_draft(cls, draft: HypothesisDraft, provenance: Provenance) -> Hypothesis:
        data = draft.model_dump()
        return cls(**data, provenance=provenance)

    def draft(self) -> HypothesisDraft:
        return HypothesisDraft.model_validate(self.model_dump(exclude={"id", "provenance"}))


class HypothesisSet(_Model):
    """A judge's output file: hypotheses plus what produced them."""

    format: Literal["crossfield.hypotheses/1"] = "crossfield.hypotheses/1"
    spec_path: str = ""
    spec_hash: str = ""
    api_title: str = ""
    api_version: str = ""
    hypotheses: list[Hypothesis] = Field(default_factory=list)
    dropped: list[dict[str, Any]] = Field(
        default_factory=list, description="ungrounded drafts, with the reasons"
    )
    usage: dict[str, Any] = Field(default_factory=dict)


def hypothesis_json_schema() -> dict[str, Any]:
    """The JSON Schema of a hypothesis, for tools and documentation."""
    return Hypothesis.model_json_schema()
