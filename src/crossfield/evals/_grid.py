"""Grids (judge x prompt x target x repeat) and rescoring of stored cells.

A grid answers "which judge and prompt version should we ship?": every configuration runs on the same
targets with the same scorer, each judge x prompt x target x repeat becomes one row in the store, and the
comparison report reads those rows back. Rescoring recompiles and reruns the hypotheses a cell stored, so
a better scorer or code generator can be measured on old judge output without paying for the model again.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from crossfield.errors import ConfigError
from crossfield.evals._cells import BenchStore, Cell
from crossfield.evals._compare import ConfigRow, aggregate, hypothesis_ids_by_label, write_report
from crossfield.evals._harness import BenchSettings, Progress, TargetRun, _quiet, run_bench
from crossfield.evals._report import BenchReport
from crossfield.evals._targets import Target, discover_targets, load_target
from crossfield.feedback import Store
from crossfield.feedback._util import new_id
from crossfield.judgment.base import Judge
from crossfield.judgment.models import Hypothesis

JudgeFactory = Callable[[str, str | None], Judge]
"""(judge spec such as 'heuristic' or 'openai/gpt-4.1-mini', prompt version or None) -> a judge."""


def default_judge_factory(spec: str, prompt: str | None) -> Judge:
    """Build a judge through the registry; the prompt version only applies to model-backed judges."""
    from crossfield.judgment.registry import make_judge

    if prompt is not None and is_sampled(spec):
        return make_judge(spec, prompt=prompt)
    return make_judge(spec)


def is_sampled(spec: str) -> bool:
    """Model-backed judges ('provider/model') take prompt versions and are worth repeating; the
    heuristic and scripted judges are deterministic and run once."""
    return "/" in spec


@dataclass(slots=True)
class GridResult:
    grid_id: str
    cells: list[Cell] = field(default_factory=list)
    reports: list[BenchReport] = field(default_factory=list)


def grid_configs(
    judges: Sequence[str], prompts: Sequence[str | None], repeat: int
) -> list[tuple[str, str | None, int]]:
    """(judge, prompt, repeat index) per configuration; deterministic judges get one prompt-less run."""
    out: list[tuple[str, str | None, int]] = []
    for judge in judges:
        if is_sampled(judge):
            for prompt in prompts or [None]:
                out.extend((judge, prompt, r) for r in range(max(1, repeat)))
        else:
            out.append((judge, None, 0))
    return out


def run_grid(
    targets: Sequence[Target],
    judges: Sequence[str],
    prompts: Sequence[str | None],
    *,
    repeat: int,
    settings: BenchSettings,
    store: Store,
    make_judge: JudgeFactory = default_judge_factory,
    progress: Progress = _quiet,
) -> GridResult:
    """Run every configuration over every target and store one cell per judge x prompt x target x repeat."""
    grid = GridResult(grid_id=new_id("grid"))
    bench = BenchStore(store)
    for judge_spec, prompt, rep in grid_configs(judges, prompts, repeat):
        progress(f"grid {grid.grid_id}: {judge_spec} prompt={prompt} repeat={rep}")
        judge = make_judge(judge_spec, prompt)
        report, runs = run_bench(
            targets,
            judge,
            settings=settings,
            store=store,
            judge_label=judge_spec,
            prompt=prompt,
            progress=progress,
        )
        grid.reports.append(report)
        for tr in runs:
            cell = make_cell(tr, grid_id=grid.grid_id, judge=judge_spec, prompt=prompt, repeat=rep)
            bench.add_cell(cell)
            grid.cells.append(cell)
    return grid


def record_cells(store: Store, runs: Sequence[TargetRun], *, judge: str, prompt: str | None) -> GridResult:
    """Store a plain bench run as a one-configuration grid, so it can be compared and rescored later."""
    grid = GridResult(grid_id=new_id("grid"))
    bench = BenchStore(store)
    for tr in runs:
        cell = make_cell(tr, grid_id=grid.grid_id, judge=judge, prompt=prompt, repeat=0)
        bench.add_cell(cell)
        grid.cells.append(cell)
    return grid


def make_cell(
    tr: TargetRun,
    *,
    grid_id: str,
    judge: str,
    prompt: str | None,
    repeat: int,
    rescored_from: str | None = None,
) -> Cell:
    model = tr.judge_result.model if tr.judge_result is not None else None
    return Cell(
        cell_id=new_id("cell"),
        grid_id=grid_id,
        target=tr.result.name,
        target_root=tr.result.root,
        spec_hash=tr.result.spec_hash,
        judge=judge,
        model=model,
        prompt=prompt,
        repeat=repeat,
        rescored_from=rescored_from,
        scores=tr.result.scores,
        hypotheses=[h.model_dump(mode="json") for h in tr.hypotheses],
        result=tr.result,
    )


def rescore(
    store: Store,
    *,
    grid_id: str | None = None,
    cell_ids: Sequence[str] = (),
    target_dirs: Sequence[str | Path] = (),
    settings: BenchSettings,
    progress: Progress = _quiet,
) -> GridResult:
    """Recompile and rerun the stored hypotheses of cells (default: the latest grid); no judge is called.

    A rescored cell keeps the original's judge cost and hypothesis counts (that is what those hypotheses
    cost) and records `rescored_from`. Targets are found at their recorded directory, or by name among
    `target_dirs` when the checkout has moved."""
    bench = BenchStore(store)
    if not cell_ids and grid_id is None:
        grid_id = bench.latest_grid_id()
        if grid_id is None:
            raise ConfigError(
                f"{store.path}: no bench cells to rescore; run `crossfield bench --store` first"
            )
    old_cells = bench.cells(grid_id=grid_id, cell_ids=cell_ids)
    if not old_cells:
        raise ConfigError(f"{store.path}: no bench cells match {grid_id or ', '.join(cell_ids)}")
    by_name = {t.name: t for t in discover_targets(target_dirs)} if target_dirs else {}
    grid = GridResult(grid_id=new_id("grid"))
    for old in old_cells:
        target = by_name.get(old.target) or load_target(old.target_root, name=old.target)
        hyps = [Hypothesis.model_validate(h) for h in old.hypotheses]
        progress(
            f"rescoring {old.cell_id} ({old.judge} prompt={old.prompt} {old.target}): {len(hyps)} hypotheses"
        )
        report, runs = run_bench(
            [target],
            None,
            settings=settings,
            judge_label=old.judge,
            prompt=old.prompt,
            hypotheses={target.name: hyps},
            progress=progress,
        )
        tr = runs[0]
        tr.result.scores.usage = old.scores.usage
        tr.result.scores.timing.judge_s = old.scores.timing.judge_s
        tr.result.scores.hypotheses.emitted = old.scores.hypotheses.emitted
        tr.result.scores.hypotheses.grounded = old.scores.hypotheses.grounded
        cell = make_cell(
            tr,
            grid_id=grid.grid_id,
            judge=old.judge,
            prompt=old.prompt,
            repeat=old.repeat,
            rescored_from=old.cell_id,
        )
        cell.model = old.model
        bench.add_cell(cell)
        grid.cells.append(cell)
        grid.reports.append(report)
    return grid


def compare_rows(store: Store, cells: Sequence[Cell]) -> list[ConfigRow]:
    """Aggregate cells per judge x prompt, with the human decisions recorded for their hypotheses."""
    bench = BenchStore(store)
    decisions = {label: bench.decisions(ids) for label, ids in hypothesis_ids_by_label(cells).items()}
    return aggregate(cells, decisions)


def write_comparison(store: Store, out_dir: Path, *, grid_id: str | None = None) -> dict[str, Path]:
    """Write compare.md / compare.html for a grid (default: the latest) from the store."""
    bench = BenchStore(store)
    grid_id = grid_id or bench.latest_grid_id()
    if grid_id is None:
        raise ConfigError(f"{store.path}: no bench cells; run `crossfield bench --grid ... --store` first")
    cells = bench.cells(grid_id=grid_id)
    if not cells:
        raise ConfigError(f"{store.path}: no cells in grid {grid_id}")
    rows = compare_rows(store, cells)
    targets = sorted({c.target for c in cells})
    note = (
        f"Grid {grid_id}: {len(cells)} cells over {len(targets)} target(s) ({', '.join(targets)}); "
        f"scorer {cells[0].scorer}, crossfield {cells[0].crossfield_version}."
    )
    return write_report(rows, out_dir, title="crossfield: judges and prompts compared", note=note)
