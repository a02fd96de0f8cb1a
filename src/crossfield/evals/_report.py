"""The bench report: what `crossfield bench --json` writes, as pydantic models.

Models rather than loose dicts so the JSON Schema in docs/bench-report.schema.json is generated from the
same code that writes the report (a test keeps them equal), and so a stored report can be read back,
re-rendered and compared without guessing at its shape.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, computed_field

Outcome = Literal["passed", "failed", "error", "skipped", "missing"]
"""`missing`: the test did not report on that run (the suite timed out or crashed before it)."""

REPORT_FORMAT = "crossfield.bench/1"
CORRECT = "correct"
"""The variant name of the correct app (no bug switched on)."""


class _Model(BaseModel):
    # "ignore", not "forbid": computed fields (rates) are written out and must read back.
    model_config = ConfigDict(extra="ignore")


class TestOutcome(_Model):
    """One generated test's outcome on one run."""

    __test__ = False  # not a pytest test class

    nodeid: str
    hypothesis_id: str | None = None
    outcome: Outcome
    message: str = ""


class SuiteRun(_Model):
    """One run of the generated suite against one variant (a fresh app)."""

    variant: str = Field(description="'correct' or a bug id")
    outcomes: list[TestOutcome] = Field(default_factory=list)
    duration_s: float = 0.0
    exit_code: int | None = None
    timed_out: bool = False
    error: str | None = Field(
        default=None, description="why the run produced no usable report, if it did not"
    )


class DetectingTest(_Model):
    """A test that passed on the correct app and failed on a bug's variant."""

    nodeid: str
    hypothesis_id: str | None = None
    hypothesis_title: str = ""
    message: str = Field(default="", description="the failure message on the bug's variant")


class FalseAlarm(_Model):
    """A generated test that does not pass on the correct app: a defect of crossfield's to explain."""

    nodeid: str
    hypothesis_id: str | None = None
    hypothesis_title: str = ""
    category: str | None = None
    outcome: Outcome
    message: str = ""


class BaselineSignature(_Model):
    """A schemathesis failure signature: check code + operation ('Stateful tests' for stateful runs)."""

    check: str
    title: str = ""
    operation: str

    @property
    def key(self) -> str:
        return f"{self.check} {self.operation}"


class BaselineRun(_Model):
    variant: str
    signatures: list[BaselineSignature] = Field(default_factory=list)
    duration_s: float = 0.0
    exit_code: int | None = None
    timed_out: bool = False
    error: str | None = None


class BaselineBug(_Model):
    id: str
    detected: bool
    new_signatures: list[BaselineSignature] = Field(
        default_factory=list,
        description="failures on the variant that the correct app does not show (detected: one of them is on "
        "an operation of the bug, or is a stateful-phase failure of a check the correct app never failed)",
    )


class BaselineResult(_Model):
    """The schemathesis peer baseline on one target, scored with the same rule as crossfield."""

    tool: Literal["schemathesis"] = "schemathesis"
    version: str = ""
    error: str | None = Field(
        default=None, description="set when the correct app's run is unusable: nothing is scored"
    )
    command: list[str] = Field(default_factory=list, description="the command of the correct app's run")
    false_alarms: list[BaselineSignature] = Field(
        default_factory=list, description="failures schemathesis reports on the correct app"
    )
    bugs: list[BaselineBug] = Field(default_factory=list)
    runs: list[BaselineRun] = Field(default_factory=list)
    wall_s: float = 0.0


class BugResult(_Model):
    id: str
    title: str = ""
    category: str
    cross_field: bool
    detected: bool
    detected_by: list[DetectingTest] = Field(default_factory=list)
    error: str | None = Field(
        default=None,
        description="why this bug could not be scored (its variant's suite run produced no outcomes)",
    )
    baseline_detected: bool | None = Field(default=None, description="null when the baseline did not run")


class TestRecord(_Model):
    """Per-test detail: the outcome on the correct app and on every bug variant."""

    __test__ = False

    nodeid: str
    hypothesis_id: str | None = None
    correct: Outcome
    variants: dict[str, Outcome] = Field(default_factory=dict)


class Split(_Model):
    total: int = 0
    detected: int = 0

    @computed_field  # type: ignore[prop-decorator]
    @property
    def rate(self) -> float:
        return self.detected / self.total if self.total else 0.0


class HypothesisCounts(_Model):
    emitted: int = Field(default=0, description="drafts the judge wrote (grounded + dropped)")
    grounded: int = Field(default=0, description="drafts that passed grounding")
    accepted: int = Field(
        default=0, description="hypotheses compiled: all grounded ones, or those accepted in --store"
    )
    compiled: int = Field(default=0, description="accepted hypotheses that produced at least one test")
    tests: int = Field(default=0, description="generated tests")


class Usage(_Model):
    llm_calls: int = 0
    cached_calls: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float = 0.0


class Timing(_Model):
    judge_s: float = 0.0
    codegen_s: float = 0.0
    suites_s: float = 0.0
    baseline_s: float = 0.0
    total_s: float = 0.0


class Scores(_Model):
    """Counts that add up across targets: the per-target and overall score lines."""

    bugs: int = 0
    detected: int = 0
    false_alarms: int = 0
    unjudged: int = Field(
        default=0,
        description="tests skipped on the correct app: a prerequisite refused or throttled, the claim not evaluated",
    )
    by_cross_field: dict[str, Split] = Field(
        default_factory=dict, description="'cross_field' and 'single_field' -> total/detected"
    )
    by_category: dict[str, Split] = Field(default_factory=dict)
    hypotheses: HypothesisCounts = Field(default_factory=lambda: HypothesisCounts())
    detecting_tests: int = Field(
        default=0, description="sum over detected bugs of the tests that detected each"
    )
    usage: Usage = Field(default_factory=lambda: Usage())
    timing: Timing = Field(default_factory=lambda: Timing())
    baseline_detected: int | None = None
    baseline_false_alarms: int | None = None

    @computed_field  # type: ignore[prop-decorator]
    @property
    def detection_rate(self) -> float:
        return self.detected / self.bugs if self.bugs else 0.0

    @computed_field  # type: ignore[prop-decorator]
    @property
    def tests_per_detected_bug(self) -> float:
        return self.detecting_tests / self.detected if self.detected else 0.0


class TargetResult(_Model):
    name: str
    root: str
    spec_hash: str = ""
    error: str | None = Field(default=None, description="set when the target could not be benchmarked at all")
    scores: Scores = Field(default_factory=lambda: Scores())
    bugs: list[BugResult] = Field(default_factory=list)
    false_alarms: list[FalseAlarm] = Field(default_factory=list)
    tests: list[TestRecord] = Field(default_factory=list)
    runs: list[SuiteRun] = Field(default_factory=list)
    baseline: BaselineResult | None = None
    hypothesis_ids: list[str] = Field(default_factory=list, description="ids of the compiled hypotheses")


class BenchReport(_Model):
    format: Literal["crossfield.bench/1"] = "crossfield.bench/1"
    crossfield_version: str
    created_at: str
    judge: str
    prompt: str | None = None
    settings: dict[str, str | int | float | bool | None] = Field(default_factory=dict)
    targets: list[TargetResult] = Field(default_factory=list)
    overall: Scores = Field(default_factory=lambda: Scores())


def merge_scores(parts: list[Scores]) -> Scores:
    """Sum per-target scores into an overall line (rates are recomputed from the sums, never averaged)."""
    total = Scores()
    baseline_seen = False
    for s in parts:
        total.bugs += s.bugs
        total.detected += s.detected
        total.false_alarms += s.false_alarms
        total.unjudged += s.unjudged
        total.detecting_tests += s.detecting_tests
        for key, split in s.by_cross_field.items():
            _add_split(total.by_cross_field, key, split)
        for key, split in s.by_category.items():
            _add_split(total.by_category, key, split)
        for name in HypothesisCounts.model_fields:
            setattr(total.hypotheses, name, getattr(total.hypotheses, name) + getattr(s.hypotheses, name))
        for name in Usage.model_fields:
            setattr(total.usage, name, getattr(total.usage, name) + getattr(s.usage, name))
        for name in Timing.model_fields:
            setattr(total.timing, name, round(getattr(total.timing, name) + getattr(s.timing, name), 3))
        if s.baseline_detected is not None:
            baseline_seen = True
            total.baseline_detected = (total.baseline_detected or 0) + s.baseline_detected
            total.baseline_false_alarms = (total.baseline_false_alarms or 0) + (s.baseline_false_alarms or 0)
    total.usage.cost_usd = round(total.usage.cost_usd, 6)
    if not baseline_seen:
        total.baseline_detected = total.baseline_false_alarms = None
    return total


def _add_split(into: dict[str, Split], key: str, split: Split) -> None:
    cur = into.setdefault(key, Split())
    cur.total += split.total
    cur.detected += split.detected
