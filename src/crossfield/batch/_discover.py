"""Finding the spec files of a run: files, directories (searched recursively) and glob patterns.

Discovery is deliberately generous: every `*.yaml`, `*.yml` and `*.json` file is a candidate, and a file
that turns out not to be an API description (a `package.json`, a config file) is reported by the runner as
not loadable instead of being guessed away here. What discovery does skip is what can never be a spec of
the run: hidden directories, and the run's own output directory when it lies inside a searched one.

Each spec gets an output name, unique within the run: the sanitized file stem, and for stems that collide
(`v1/openapi.yaml`, `v2/openapi.yaml`) the stem plus a short hash of the resolved path. The hash keeps a
name stable when other files are added to the corpus, which is what lets a re-run find its earlier output.
"""

from __future__ import annotations

import glob
import hashlib
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

SPEC_SUFFIXES = frozenset({".yaml", ".yml", ".json"})
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
_GLOB_CHARS = frozenset("*?[")


@dataclass(frozen=True, slots=True)
class SpecFile:
    """One spec of a run: where it is and the directory name its outputs go to."""

    path: Path
    name: str


class DiscoveryError(ValueError):
    """A path given on the command line that names nothing (no such file, no glob match)."""


def discover(paths: Iterable[str | os.PathLike[str]], *, exclude: Iterable[Path] = ()) -> list[SpecFile]:
    """Spec files under `paths`, each once, in a stable order, with unique output names.

    A file given explicitly is taken whatever its suffix; directories and globs contribute only files with a
    spec suffix. `exclude` lists directories to leave out (the run's output directory)."""
    excluded = [p.resolve() for p in exclude]
    found: dict[Path, None] = {}
    for raw in paths:
        text = os.fspath(raw)
        path = Path(text)
        if path.is_file():
            found.setdefault(path.resolve(), None)
        elif path.is_dir():
            for f in _walk(path, excluded):
                found.setdefault(f, None)
        elif any(c in text for c in _GLOB_CHARS):
            matches = sorted(glob.glob(text, recursive=True))
            if not matches:
                raise DiscoveryError(f"{text}: no file matches this pattern")
            for m in matches:
                mp = Path(m)
                if (
                    mp.is_file()
                    and mp.suffix.lower() in SPEC_SUFFIXES
                    and not _inside(mp.resolve(), excluded)
                ):
                    found.setdefault(mp.resolve(), None)
                elif mp.is_dir():
                    for f in _walk(mp, excluded):
                        found.setdefault(f, None)
        else:
            raise DiscoveryError(f"{text}: no such file or directory")
    return name_specs(list(found))


def name_specs(paths: list[Path]) -> list[SpecFile]:
    """Give each path a unique, filesystem-safe output name (see the module docstring)."""
    stems: dict[str, list[Path]] = {}
    for p in paths:
        stems.setdefault(sanitize(p.stem), []).append(p)
    out: list[SpecFile] = []
    for p in paths:
        stem = sanitize(p.stem)
        if len(stems[stem]) == 1:
            out.append(SpecFile(p, stem))
        else:
            digest = hashlib.sha256(str(p).encode("utf-8")).hexdigest()[:8]
            out.append(SpecFile(p, f"{stem}-{digest}"))
    return out


def sanitize(stem: str) -> str:
    """`My API (v2)` -> `My-API-v2`: letters, digits, dot, dash and underscore; never empty or hidden."""
    cleaned = _UNSAFE.sub("-", stem).strip("-.")
    return cleaned[:80] or "spec"


def _walk(root: Path, excluded: list[Path]) -> list[Path]:
    files: list[Path] = []
    for dirpath, dirnames, filenames in os.walk(root):
        here = Path(dirpath).resolve()
        dirnames[:] = sorted(d for d in dirnames if not d.startswith(".") and not _inside(here / d, excluded))
        for name in sorted(filenames):
            if Path(name).suffix.lower() in SPEC_SUFFIXES and not name.startswith("."):
                files.append(here / name)
    return files


def _inside(path: Path, excluded: list[Path]) -> bool:
    return any(path == e or path.is_relative_to(e) for e in excluded)
