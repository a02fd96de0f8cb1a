"""The run manifest (`DIR/.crossfield-run.json`): which specs of an output directory are done, and with what.

A spec is done for a run key — the spec's content hash, the judge, the prompt and, for `--since` runs, the
old version's hash — once its outputs are all in place; the entry is written last, atomically, so an
interrupted run never records a spec it did not finish. Failed specs are not recorded: a re-run retries
them. A corrupt manifest is set aside (renamed) rather than trusted or silently lost.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from crossfield._version import __version__
from crossfield.batch._outputs import atomic_write_json

MANIFEST_NAME = ".crossfield-run.json"
FORMAT = "crossfield.run-manifest/1"


@dataclass(frozen=True, slots=True)
class RunKey:
    """What makes two judgments of a spec the same judgment. `prompt` carries the hash of what the judge
    judges with (an LLM judge's prompt, the heuristic judge's rule set), so a changed prompt or rule means a
    new judgment. For a judge that exposes no such hash, the crossfield version stands in: a new release may
    judge differently, and re-judging is cheap next to keeping stale outputs."""

    spec_hash: str
    judge: str
    prompt: str | None = None
    since: str | None = None
    """Content hash of the old version, for changed-operations runs."""
    version: str | None = __version__
    """The crossfield version; None when `prompt` carries the judge's hash (`ResolvedJudge.version`)."""

    def digest(self) -> str:
        payload = json.dumps(asdict(self), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(payload.encode("utf-8")).hexdigest()[:24]


class Manifest:
    """The done-list of one output directory. Not thread-safe: only the runner's main thread writes it."""

    def __init__(self, out_dir: Path) -> None:
        self.path = out_dir / MANIFEST_NAME
        self.entries: dict[str, dict[str, Any]] = {}
        self.recovered_from: Path | None = None
        self._load()

    def _load(self) -> None:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return
        except (OSError, ValueError):
            data = None
        if (
            not isinstance(data, dict)
            or data.get("format") != FORMAT
            or not isinstance(data.get("specs"), dict)
        ):
            aside = self.path.with_name(self.path.name + ".corrupt")
            os.replace(self.path, aside)
            self.recovered_from = aside
            return
        self.entries = {k: v for k, v in data["specs"].items() if isinstance(v, dict)}

    def done(self, name: str, key: RunKey) -> dict[str, Any] | None:
        """The entry of `name` if it was finished under `key`, else None."""
        entry = self.entries.get(name)
        if entry is None or entry.get("key") != key.digest():
            return None
        return entry

    def record(self, name: str, key: RunKey, entry: dict[str, Any]) -> None:
        self.entries[name] = {**entry, "key": key.digest(), "run_key": asdict(key)}
        self.save()

    def save(self) -> None:
        atomic_write_json(self.path, {"format": FORMAT, "specs": dict(sorted(self.entries.items()))})
