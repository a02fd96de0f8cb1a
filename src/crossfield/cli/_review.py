"""`crossfield review` and `crossfield decide`: people deciding what the judge proposed.

`review` walks the undecided hypotheses one at a time in the terminal, one key per decision, and writes
each decision to the store at once — so quitting loses nothing, skipped hypotheses come back next session,
and another reviewer (or a judge run) can use the same store meanwhile. `decide` records one decision
non-interactively, for scripts and for anyone who prefers the shell.
"""

from __future__ import annotations

import getpass
import json
import os
import sys
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
import yaml
from rich.console import Console

from crossfield.errors import CrossfieldError, HypothesisError
from crossfield.feedback import REJECT_REASONS, SpecUnavailableError, Store
from crossfield.feedback.review import edit_text, is_blank, parse_rewrite, render_hypothesis, to_yaml
from crossfield.judgment.models import Hypothesis
from crossfield.spec.model import Api

StoreOption = Annotated[
    Path | None,
    typer.Option("--store", help="the feedback store (default: $CROSSFIELD_STORE or ./crossfield.duckdb)"),
]
ReviewerOption = Annotated[
    str | None,
    typer.Option("--reviewer", help="who decides (default: $CROSSFIELD_REVIEWER or your user name)"),
]
SpecOption = Annotated[
    Path | None,
    typer.Option(
        "--spec", help="the spec to ground rewrites in (default: the file recorded when it was judged)"
    ),
]


def default_reviewer() -> str:
    """`$CROSSFIELD_REVIEWER`, else the OS user name."""
    name = os.environ.get("CROSSFIELD_REVIEWER")
    if name:
        return name
    try:
        return getpass.getuser()
    except (OSError, KeyError):  # no user database entry (some containers)
        return "unknown"


def fail(message: str, problems: list[str] | None = None) -> typer.Exit:
    """Print an error (and its problems) to stderr; return the Exit to raise."""
    err = Console(stderr=True, highlight=False)
    err.print(f"[bold red]error:[/] {message}", markup=True)
    for problem in problems or []:
        err.print(f"  - {problem}", markup=False)
    return typer.Exit(1)


# ---- keys -------------------------------------------------------------------------------------------


@contextmanager
def _cbreak() -> Iterator[None]:
    import termios
    import tty

    fd = sys.stdin.fileno()
    saved = termios.tcgetattr(fd)
    try:
        tty.setcbreak(fd)
        yield
    finally:
        termios.tcsetattr(fd, termios.TCSADRAIN, saved)


def read_key(console: Console, prompt: str, valid: str) -> str:
    """One key from `valid`. A terminal gives single keystrokes; piped input gives the first letter of a line.
    End of input counts as 'q'."""
    console.print(prompt, end=" ", markup=True)
    while True:
        if sys.stdin.isatty():
            with _cbreak():
                key = os.read(sys.stdin.fileno(), 1).decode("utf-8", "replace")
            if key in ("\x04", ""):  # Ctrl-D
                key = "q"
        else:
            line = sys.stdin.readline()
            key = line.strip()[:1] if line else "q"
        if key and key.lower() in valid:
            console.print(key.lower(), markup=False)
            return key.lower()


def read_line(console: Console, prompt: str) -> str:
    console.print(prompt, end="", markup=True)
    line = sys.stdin.readline()
    return line.strip()


# ---- the review loop ----------------------------------------------------------------------------------


class _Session:
    def __init__(self, store: Store, console: Console, reviewer: str, spec: Path | None) -> None:
        self.store = store
        self.console = console
        self.reviewer = reviewer
        self.spec = spec
        self.counts: Counter[str] = Counter()
        self._apis: dict[str, Api] = {}

    def api_for(self, h: Hypothesis) -> Api:
        key = h.provenance.spec_hash
        if key not in self._apis:
            if self.spec is not None:
                from crossfield.spec import load_spec

                self._apis[key] = load_spec(self.spec)
            else:
                self._apis[key] = self.store.spec_api(key)
        return self._apis[key]

    def review(self, h: Hypothesis, position: str) -> bool:
        """Show `h` and take one decision; False when the reviewer quits."""
        self.console.print(render_hypothesis(h, position=position))
        while True:
            key = read_key(
                self.console,
                "[bold]a[/] accept · [bold]r[/] reject · [bold]e[/] rewrite · [bold]s[/] skip · [bold]q[/] quit  decision>",
                "aresq",
            )
            if key == "q":
                return False
            if key == "s":
                self.counts["skipped"] += 1
                return True
            if key == "a":
                self.store.decide(h.id, "accept", reviewer=self.reviewer)
                self.counts["accepted"] += 1
                self.console.print("[green]accepted[/]")
                return True
            if key == "r" and self._reject(h):
                return True
            if key == "e" and self._rewrite(h):
                return True

    def _reject(self, h: Hypothesis) -> bool:
        choices = "  ".join(f"[bold]{i}[/] {reason}" for i, reason in enumerate(REJECT_REASONS, 1))
        self.console.print(f"Reason: {choices}  [bold]c[/]ancel")
        key = read_key(
            self.console, "reason>", "".join(str(i) for i in range(1, len(REJECT_REASONS) + 1)) + "c"
        )
        if key == "c":
            return False
        reason = REJECT_REASONS[int(key) - 1]
        note = read_line(self.console, "Note (optional, Enter to skip): ") or None
        self.store.decide(h.id, "reject", reviewer=self.reviewer, reason=reason, note=note)
        self.counts["rejected"] += 1
        self.console.print(f"[red]rejected[/] ({reason})")
        return True

    def _rewrite(self, h: Hypothesis) -> bool:
        try:
            api: Api | None = self.api_for(h)
        except (SpecUnavailableError, CrossfieldError) as exc:
            self.console.print(f"[red]cannot ground a rewrite:[/] {exc}", markup=True)
            return False
        original = to_yaml(h)
        text = original
        while True:
            text = edit_text(text)
            if is_blank(text) or text == original:
                self.console.print("rewrite aborted (nothing changed)")
                return False
            draft, problems = parse_rewrite(text, api)
            if draft is not None:
                break
            self.console.print("[red]The rewrite has problems:[/]")
            for problem in problems:
                self.console.print(f"  - {problem}", markup=False)
            if read_key(self.console, "[bold]e[/] edit again · [bold]a[/] abort  rewrite>", "ea") == "a":
                return False
        note = read_line(self.console, "Note (optional, Enter to skip): ") or None
        try:
            self.store.decide(h.id, "rewrite", reviewer=self.reviewer, rewritten=draft, note=note, api=api)
        except HypothesisError as exc:  # pragma: no cover - parse_rewrite ran the same checks
            self.console.print(f"[red]not stored:[/] {exc}")
            return False
        self.counts["rewritten"] += 1
        self.console.print(f"[green]rewritten[/] as {draft.content_id()}")
        return True


def review_command(
    store_path: StoreOption = None,
    run: Annotated[str | None, typer.Option("--run", help="only hypotheses of this judge run")] = None,
    category: Annotated[
        list[str] | None, typer.Option("--category", help="only this category (repeatable)")
    ] = None,
    reviewer: ReviewerOption = None,
    spec: SpecOption = None,
) -> None:
    """Review undecided hypotheses one at a time: a=accept, r=reject, e=rewrite in $EDITOR, s=skip, q=quit.

    Every decision is saved at once; skipped hypotheses come back next time."""
    console = Console(highlight=False)
    try:
        store = Store.open(store_path)
        rows = store.hypotheses(run=run, status="undecided")
    except CrossfieldError as exc:
        raise fail(str(exc)) from exc
    if category:
        rows = [r for r in rows if r["category"] in set(category)]
    if not rows:
        console.print("Nothing to review: every matching hypothesis has a decision.")
        return
    session = _Session(store, console, reviewer or default_reviewer(), spec)
    total = len(rows)
    try:
        for index, row in enumerate(rows, 1):
            if index > 1 and store.status(row["hypothesis_id"]) != "undecided":
                session.counts["decided elsewhere"] += 1  # another reviewer got there first
                continue
            if not session.review(Hypothesis.model_validate(row["hypothesis"]), f"{index}/{total}"):
                break
    except KeyboardInterrupt:
        console.print("\ninterrupted")
    except CrossfieldError as exc:
        raise fail(str(exc)) from exc
    left = len(store.hypotheses(run=run, status="undecided"))
    done = ", ".join(f"{n} {what}" for what, n in session.counts.items()) or "no decisions"
    console.print(f"This session: {done}. {left} still undecided.")


def _read_rewrite_file(path: Path) -> dict[str, Any]:
    text = path.read_text(encoding="utf-8")
    data = json.loads(text) if path.suffix.lower() == ".json" else yaml.safe_load(text)
    if not isinstance(data, dict):
        raise fail(f"{path}: expected one hypothesis (a mapping), found {type(data).__name__}")
    return data


def decide_command(
    hypothesis_id: Annotated[str, typer.Argument(help="the hypothesis id (a unique prefix is enough)")],
    action: Annotated[str, typer.Argument(help="accept, reject or rewrite")],
    reason: Annotated[
        str | None, typer.Option("--reason", help=f"why (needed to reject): {', '.join(REJECT_REASONS)}")
    ] = None,
    note: Annotated[str | None, typer.Option("--note", help="free-text note")] = None,
    file: Annotated[
        Path | None, typer.Option("--file", help="the rewritten hypothesis, YAML or JSON (for rewrite)")
    ] = None,
    reviewer: ReviewerOption = None,
    store_path: StoreOption = None,
    spec: SpecOption = None,
) -> None:
    """Record one decision about one hypothesis."""
    from crossfield.feedback._decide import revalidate
    from crossfield.spec import load_spec

    if action not in ("accept", "reject", "rewrite"):
        raise fail(f"unknown action {action!r}: use accept, reject or rewrite")
    if (action == "rewrite") != (file is not None):
        raise fail("rewrite needs --file REWRITTEN.yaml (and only rewrite takes --file)")
    try:
        store = Store.open(store_path)
        full_id = store.resolve_id(hypothesis_id)
        rewritten = revalidate(_read_rewrite_file(file)) if file is not None else None
        api = load_spec(spec) if spec is not None else None
        decision_id = store.decide(
            full_id, action, reviewer=reviewer or default_reviewer(), reason=reason, note=note,
            rewritten=rewritten, api=api,
        )  # fmt: skip
    except HypothesisError as exc:
        raise fail("the rewritten hypothesis was not stored:", exc.problems) from exc
    except (CrossfieldError, OSError, yaml.YAMLError, json.JSONDecodeError) as exc:
        raise fail(str(exc)) from exc
    typer.echo(f"{full_id}: {action} (decision {decision_id})")


def register(app: typer.Typer) -> None:
    app.command("review")(review_command)
    app.command("decide")(decide_command)
