"""Atomic file writes: a temporary file in the target's directory, renamed into place, so a reader (an
editor, a CI job, the eval harness) never sees half a file, and an interrupted run leaves the old one."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

__all__ = ["write_text_atomic"]


def _default_mode() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


_FILE_MODE = _default_mode()


def write_text_atomic(path: Path, text: str) -> None:
    """Write `text` (UTF-8, `\\n` line endings) to `path` atomically, with ordinary file permissions."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as handle:
            handle.write(text)
        os.chmod(tmp, _FILE_MODE)  # mkstemp makes files private; these are ordinary source and reports
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
