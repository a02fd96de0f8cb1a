"""`load_spec`: one entry point for every supported format, with an on-disk cache keyed by content hash.

The cache stores the normalized `Api` (pickled) under the hash of the spec file and the crossfield
version. Each entry also records the hash of every file that took part (relative `$ref`s), so editing a
referenced file invalidates it too. A corrupt or stale entry is ignored and rewritten, never trusted.
"""

from __future__ import annotations

import gc
import hashlib
import os
import pickle
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

from crossfield._version import __version__
from crossfield.errors import NotAnApiDescriptionError
from crossfield.spec._openapi import normalize_openapi
from crossfield.spec._postman import is_postman, normalize_postman
from crossfield.spec._refs import Resolver
from crossfield.spec._source import content_hash, parse_document, read_bytes
from crossfield.spec.model import Api

_CACHE_FORMAT = 2


def _code_fingerprint() -> str:
    """Changes whenever a module of this package changes, so a cache entry never outlives the code that
    built it (the interaction heuristics evolve without a version bump)."""
    h = hashlib.sha256(__version__.encode())
    for py in sorted(Path(__file__).parent.glob("*.py")):
        try:
            st = py.stat()
        except OSError:
            continue
        h.update(f"{py.name}:{st.st_size}:{st.st_mtime_ns};".encode())
    return h.hexdigest()[:12]


_FINGERPRINT = _code_fingerprint()


def default_cache_dir() -> Path:
    env = os.environ.get("CROSSFIELD_CACHE_DIR")
    if env:
        return Path(env) / "specs"
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "crossfield" / "specs"


def load_spec(path: str | os.PathLike[str], *, cache: bool | Path = True) -> Api:
    """Load and normalize an OpenAPI 2.0/3.0/3.1 or Postman v2.1 file.

    `cache=True` uses the default cache directory (`$CROSSFIELD_CACHE_DIR`, else `~/.cache/crossfield`);
    pass a `Path` to use another, or `False` to always parse.
    """
    file = Path(path)
    data = read_bytes(file)
    digest = content_hash(data)
    cache_dir = (cache if isinstance(cache, Path) else default_cache_dir()) if cache else None
    if cache_dir is not None:
        cached = _cache_get(cache_dir, digest, file)
        if cached is not None:
            return cached
    doc = parse_document(data, str(file))
    api, resolver = _normalize(doc, file, digest)
    if cache_dir is not None:
        _cache_put(cache_dir, digest, api, resolver)
    return api


def load_spec_from_text(text: str, *, name: str = "spec.yaml") -> Api:
    """Load a spec given as text (for notebooks and tests). Relative `$ref`s resolve from the current directory."""
    data = text.encode("utf-8")
    file = Path(name)
    doc = parse_document(data, name)
    api, _ = _normalize(doc, file, content_hash(data))
    return api


def _normalize(doc: Any, file: Path, digest: str) -> tuple[Api, Resolver]:
    resolver = Resolver(file, doc, digest)
    if is_postman(doc):
        return normalize_postman(doc, content_hash=digest, source_path=str(file)), resolver
    if not isinstance(doc, Mapping) or not ("openapi" in doc or "swagger" in doc):
        what = (
            type(doc).__name__ if not isinstance(doc, Mapping) else "a mapping without 'openapi' or 'swagger'"
        )
        raise NotAnApiDescriptionError(
            f"not an API description: found {what}",
            file=str(file),
            line=1,
            pointer="",
            hint="crossfield reads OpenAPI 3.x ('openapi: 3.x'), Swagger 2.0 ('swagger: \"2.0\"') and Postman v2.1 collections",
        )
    if "paths" not in doc and "webhooks" not in doc and "components" not in doc:
        raise NotAnApiDescriptionError(
            "OpenAPI document has no 'paths'",
            file=str(file),
            line=1,
            pointer="/paths",
            hint="add the API's paths; a document of only components has no operations to test",
        )
    return normalize_openapi(doc, resolver, content_hash=digest, source_path=str(file)), resolver


def _entry_path(cache_dir: Path, digest: str) -> Path:
    return cache_dir / f"{digest}-{_FINGERPRINT}-{_CACHE_FORMAT}.pickle"


def _cache_get(cache_dir: Path, digest: str, file: Path) -> Api | None:
    entry = _entry_path(cache_dir, digest)
    try:
        raw = entry.read_bytes()
    except OSError:
        return None
    with _no_gc_scan():
        try:
            payload = pickle.loads(raw)
        except Exception:  # a corrupt entry can fail in any way: it is ignored and rewritten
            return None
    if not isinstance(payload, dict) or not isinstance(payload.get("api"), Api):
        return None
    for uri, expected in payload.get("deps", {}).items():
        try:
            if content_hash(Path(uri).read_bytes()) != expected:
                return None
        except OSError:
            return None
    api: Api = payload["api"]
    if api.source_path != str(file):
        from dataclasses import replace

        moved = replace(api, source_path=str(file))
        if "interactions" in vars(api):  # the map does not depend on where the file lives
            vars(moved)["interactions"] = api.interactions
        api = moved
    return api


@contextmanager
def _no_gc_scan() -> Iterator[None]:
    """Unpickle without the cyclic collector scanning the result.

    A cached Stripe spec is ~100k container objects with no reference cycles. Collecting while they are
    created, and the first young-generation scan after, cost more than the unpickling itself. So the
    collector is paused, and afterwards `freeze()` + `unfreeze()` moves every tracked object into the oldest
    generation without scanning it (and resets the young count). Skipped if the process froze objects itself.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if gc.get_freeze_count() == 0:
            gc.freeze()
            gc.unfreeze()
        if was_enabled:
            gc.enable()


def _cache_put(cache_dir: Path, digest: str, api: Api, resolver: Resolver) -> None:
    deps = {uri: h for uri, h in resolver.hashes.items() if uri != resolver.root_uri}
    _ = api.interactions  # computed now so that a cache hit carries it
    entry = _entry_path(cache_dir, digest)
    try:
        cache_dir.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=cache_dir, suffix=".tmp")
    except OSError:
        return  # a read-only or full cache directory only costs speed
    try:
        with os.fdopen(fd, "wb") as fh:
            pickle.dump({"api": api, "deps": deps}, fh, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(tmp, entry)
    except (OSError, pickle.PicklingError, TypeError, AttributeError):
        with suppress(OSError):
            os.unlink(tmp)
        return
    # Entries of the same file written by other versions of crossfield are dead weight: drop them.
    for stale in cache_dir.glob(f"{digest}-*.pickle"):
        if stale != entry:
            with suppress(OSError):
                stale.unlink()
