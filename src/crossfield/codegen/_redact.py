"""Redaction of secrets from recorded HTTP exchanges.

Generated suites run with real credentials. Nothing they record or print may carry one: credential
headers (by name), query parameters and JSON/form body fields with secret-looking names, and every value
the suite knows to be a secret (configured header values, login tokens and passwords) wherever it
appears, are replaced with `[REDACTED]` before an exchange is stored, reported or shown in a failure.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from crossfield._secrets import REDACTED, is_secret_body_key, is_secret_header, is_secret_query_param

__all__ = ["REDACTED", "Redactor", "is_secret_body_key", "is_secret_header", "is_secret_query_param"]

_MIN_SECRET_LENGTH = 4
MAX_BODY_CHARS = 65_536


class Redactor:
    """Redacts by name, and scrubs every known secret value. Thread-safe; shared by a whole test run."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self._lock = threading.Lock()
        self._secrets: set[str] = set()
        for secret in secrets:
            self.add_secret(secret)

    def add_secret(self, value: str) -> None:
        """Remember a secret value; short ones are ignored (they would redact ordinary text)."""
        value = value.strip()
        if len(value) < _MIN_SECRET_LENGTH:
            return
        with self._lock:
            self._secrets.add(value)
            scheme, _, rest = value.partition(" ")
            if rest and scheme.lower() in ("bearer", "basic", "token") and len(rest) >= _MIN_SECRET_LENGTH:
                self._secrets.add(rest)

    def text(self, value: str) -> str:
        """`value` with every known secret replaced (longest first, so a token inside a header goes too)."""
        with self._lock:
            secrets = sorted(self._secrets, key=len, reverse=True)
        for secret in secrets:
            if secret in value:
                value = value.replace(secret, REDACTED)
        return value

    def headers(self, headers: Iterable[tuple[str, str]]) -> dict[str, str]:
        out: dict[str, str] = {}
        for name, value in headers:
            shown = REDACTED if is_secret_header(name) else self.text(value)
            out[name] = f"{out[name]}, {shown}" if name in out else shown
        return out

    def url(self, url: str) -> str:
        parts = urlsplit(url)
        if parts.query:
            pairs = parse_qsl(parts.query, keep_blank_values=True)
            query = urlencode([(k, REDACTED if is_secret_query_param(k) else v) for k, v in pairs], safe="[]")
            parts = parts._replace(query=query)
        if parts.password or parts.username:
            host = parts.hostname or ""
            netloc = f"{REDACTED}@{host}" + (f":{parts.port}" if parts.port else "")
            parts = parts._replace(netloc=netloc)
        return self.text(urlunsplit(parts))

    def body(self, content: bytes | str | None, content_type: str | None = None) -> str | None:
        """A body as text: secret fields of JSON and form bodies redacted, known secrets scrubbed, truncated."""
        if content is None:
            return None
        text = content.decode("utf-8", errors="replace") if isinstance(content, bytes) else content
        if not text:
            return text
        media = (content_type or "").split(";", 1)[0].strip().lower()
        if media == "application/x-www-form-urlencoded":
            pairs = parse_qsl(text, keep_blank_values=True)
            text = urlencode([(k, REDACTED if is_secret_body_key(k) else v) for k, v in pairs], safe="[]")
        elif media.endswith("json") or text[:1] in "{[":
            try:
                parsed = json.loads(text)
            except ValueError:
                parsed = None
            else:
                if _has_secret_key(parsed):
                    text = json.dumps(_redact_json(parsed), ensure_ascii=False)
        text = self.text(text)
        if len(text) > MAX_BODY_CHARS:
            text = text[:MAX_BODY_CHARS] + f"... [{len(text) - MAX_BODY_CHARS} more characters]"
        return text

    def value(self, value: Any) -> Any:
        """A JSON value with secret-named fields redacted and known secrets scrubbed from strings."""
        redacted = _redact_json(value)
        return json.loads(self.text(json.dumps(redacted, ensure_ascii=False)))


def _has_secret_key(value: Any) -> bool:
    if isinstance(value, Mapping):
        return any(is_secret_body_key(str(k)) or _has_secret_key(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_secret_key(v) for v in value)
    return False


def _redact_json(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {
            k: (REDACTED if is_secret_body_key(str(k)) and v is not None else _redact_json(v))
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [_redact_json(v) for v in value]
    return value
