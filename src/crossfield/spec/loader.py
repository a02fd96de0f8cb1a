"""`load_spec`: one entry point for every supported format, with an on-disk cache keyed by content hash.

The cache stores the normalized `Api` (pickled) under the hash of the spec file and the crossfield
version. Each entry also records the hash of every file that took part (relative `$ref`s), so editing a
referenced file invalidates it too. A corrupt or stale entry is ignored and rewritten, never trusted.
"""

from __future__ import annotations

import os
import pickle
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from crossfield._version import __version__
from crossfield.errors import NotAnApiDescriptionError
from crossfield.spec._openapi import normalize_openapi
from crossfield.spec._postman import is_postman, normalize_postman
from crossfield.spec._refs import Resolver
from crossfield.spec._source import content_hash, parse_document, read_bytes
from crossfield.spec.model import Api

_CACHE_FORMAT = 1


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
        what = type(doc).__name__ if not isinstance(doc, Mapping) else "a mapping without 'openapi' or 'swagger'"
        raise NotAnApiDescriptionError(
            f"not an API description: found {what}",
            file=str(file),
            line=1,
            pointer="",
            hint="crossfield reads OpenAPI 3.x ('openapi: 3.x'), Swagger 2.0 ('swagger: \"2.0\"') and Postman v2.1 collections",
        )
    if "paths" not in doc and "webhooks" not in doc and "components" not in doc:
        raise NotAnApiDescriptionError(
            "OpenAPI document has no 'paths'", file=str(file), line=1, pointer="/paths",
            hint="add the API's paths; a document of only components has no operations to test",
        )
    return normalize_openapi(doc, resolver, content_hash=digest, source_path=str(file)), resolver


def _entry_path(cache_dir: Path, digest: str) -> Path:
    return cache_dir / f"{digest}-v{__version__}-{_CACHE_FORMAT}.pickle"


def _cache_get(cache_dir: Path, digest: str, file: Path) -> Api | None:
    entry = _entry_path(cache_dir, digest)
    try:
        with entry.open("rb") as fh:
            payload = pickle.load(fh)  # noqa: S301 - our own cache directory
    except (OSError, pickle.UnpicklingError, EOFError, AttributeError, ImportError, TypeError, ValueError):
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

        api = replace(api, source_path=str(file))
    return api


def _cache_put(cache_dir: Path, digest: str, api: Api, resolver: Resolver) -> None:
    deps = {uri: h for uri, h in resolver.hashes.items() if uri != resolver.root_uri}
    try:
        cache_dir.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=cache_dir, suffix=".tmp")
        with os.fdopen(fd, "wb") as fh:
            pickle.dump({"api": api, "deps": deps}, fh, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(tmp, _entry_path(cache_dir, digest))
    except OSError:
        pass  # a read-only or full cache directory only costs speed
