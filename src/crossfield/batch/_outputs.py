"""Writing a run's outputs so that an interrupted run never leaves a half-written file behind.

Every file is written to a temporary sibling and moved into place with `os.replace`, which is atomic on
one filesystem: a reader (or the next run) sees the old file or the new one, never a prefix. A directory of
generated tests is built in a temporary sibling directory and swapped in the same way. Every temporary
name starts with `TEMP_PREFIX`, so `sweep` can remove what a killed run (SIGKILL, power loss) left behind.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

TEMP_PREFIX = ".crossfield-tmp-"


def atomic_write_text(path: Path, text: str) -> None:
    """Write `text` to `path` atomically (temp file in the same directory, fsync, `os.replace`)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=TEMP_PREFIX, suffix=".part")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write_json(path: Path, data: Any) -> None:
    atomic_write_text(path, json.dumps(data, indent=2, ensure_ascii=False, default=str) + "\n")


def staging_dir(parent: Path) -> Path:
    """A fresh temporary directory beside the final one, to build a directory's content in."""
    parent.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(dir=parent, prefix=TEMP_PREFIX))


def replace_dir(staging: Path, target: Path) -> None:
    """Move a finished staging directory to `target`, replacing what was there.

    POSIX cannot rename a directory over a non-empty one, so the old directory is first renamed aside and
    removed after the swap; between the two renames `target` is briefly absent, never partial."""
    if target.exists():
        aside = Path(tempfile.mkdtemp(dir=target.parent, prefix=TEMP_PREFIX)) / "old"
        os.replace(target, aside)
        os.replace(staging, target)
        shutil.rmtree(aside.parent, ignore_errors=True)
    else:
        os.replace(staging, target)


def sweep(out_dir: Path) -> int:
    """Remove temporary files and directories left in `out_dir` and its spec directories; return how many."""
    if not out_dir.is_dir():
        return 0
    removed = 0
    candidates = list(out_dir.glob(TEMP_PREFIX + "*")) + list(out_dir.glob("*/" + TEMP_PREFIX + "*"))
    for entry in candidates:
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry, ignore_errors=True)
        else:
            entry.unlink(missing_ok=True)
        removed += 1
    return removed
