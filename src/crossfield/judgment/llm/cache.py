"""A local disk cache of judge responses, keyed by the canonical request.

The key is the sha256 of the canonical JSON of everything that determines a response: provider, model,
prompt id and hash, the rendered system and user messages, the response schema and the call parameters.
Re-running an unchanged spec therefore makes no calls. Entries are written atomically; a corrupt or
foreign entry is ignored (and overwritten on the next store), never trusted.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
from pathlib import Path
from typing import Any

log = logging.getLogger("crossfield.judgment.llm")

CACHE_FORMAT = 1


def default_llm_cache_dir() -> Path:
    """`$CROSSFIELD_CACHE_DIR/llm`, else `$XDG_CACHE_HOME/crossfield/llm`, else `~/.cache/crossfield/llm`."""
    env = os.environ.get("CROSSFIELD_CACHE_DIR")
    if env:
        return Path(env) / "llm"
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "crossfield" / "llm"


def canonical_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def request_key(request: dict[str, Any]) -> str:
    """sha256 of the canonical request."""
    return hashlib.sha256(canonical_json({"format": CACHE_FORMAT, **request}).encode("utf-8")).hexdigest()


class ResponseCache:
    """`get`/`put` JSON entries under `directory/<key[:2]>/<key>.json`."""

    def __init__(self, directory: str | os.PathLike[str] | None = None) -> None:
        self.directory = Path(directory) if directory is not None else default_llm_cache_dir()

    def _path(self, key: str) -> Path:
        return self.directory / key[:2] / f"{key}.json"

    def get(self, key: str) -> dict[str, Any] | None:
        path = self._path(key)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None
        except (OSError, ValueError) as exc:
            log.warning("ignoring unreadable LLM cache entry %s: %s", path, exc)
            return None
        if not isinstance(data, dict) or data.get("format") != CACHE_FORMAT or data.get("key") != key:
            return None
        return data

    def put(self, key: str, entry: dict[str, Any]) -> None:
        path = self._path(key)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=".json", dir=path.parent)
            try:
                with os.fdopen(fd, "w", encoding="utf-8") as fh:
                    json.dump({"format": CACHE_FORMAT, "key": key, **entry}, fh, ensure_ascii=False)
                os.replace(tmp, path)
            except BaseException:
                Path(tmp).unlink(missing_ok=True)
                raise
        except OSError as exc:  # a read-only or full disk costs a re-run, not the run
            log.warning("could not write LLM cache entry %s: %s", path, exc)
