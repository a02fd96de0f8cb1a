"""Secrets never reach the store.

The pytest plugin already redacts what it records; the store redacts again before every insert (defense
in depth), because a store is meant to be shared, exported and turned into training data. Headers whose
names look like credentials lose their values; so do credential-looking query parameters and the password
of a URL. Bodies are kept as they are: they are the evidence a failing test is judged by.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from crossfield._secrets import REDACTED, is_secret_header, is_secret_query_param


def is_sensitive(name: str) -> bool:
    """True for header or parameter names that carry credentials (Authorization, Cookie, X-API-Key...)."""
    return is_secret_header(name) or is_secret_query_param(name)


def redact_headers(headers: Mapping[str, Any] | Iterable[tuple[str, Any]] | None) -> dict[str, Any]:
    """A copy of `headers` with every credential-looking value replaced by `[REDACTED]`."""
    if headers is None:
        return {}
    items = headers.items() if isinstance(headers, Mapping) else headers
    out: dict[str, Any] = {}
    for name, value in items:
        key = str(name)
        out[key] = REDACTED if is_sensitive(key) else value
    return out


def redact_url(url: str) -> str:
    """`url` with credential-looking query parameters and any userinfo password redacted."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return url
    netloc = parts.netloc
    if "@" in netloc:
        userinfo, _, host = netloc.rpartition("@")
        user = userinfo.split(":", 1)[0]
        netloc = f"{user}:{REDACTED}@{host}" if ":" in userinfo else netloc
    query = parts.query
    if query:
        pairs = parse_qsl(query, keep_blank_values=True)
        if any(is_sensitive(k) for k, _ in pairs):
            query = urlencode([(k, REDACTED if is_sensitive(k) else v) for k, v in pairs], safe="[]")
    if netloc == parts.netloc and query == parts.query:
        return url
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))
