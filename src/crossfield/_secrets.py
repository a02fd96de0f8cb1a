"""Which names carry credentials: the one vocabulary every layer redacts by.

Generated suites record exchanges, the store keeps them, exports turn them into training data: each layer
redacts before it writes (defense in depth), and all of them must agree on what a secret looks like.
Stdlib only, so any layer may import it.
"""

from __future__ import annotations

REDACTED = "[REDACTED]"

_ALWAYS_SECRET_HEADERS = frozenset({"authorization", "proxy-authorization", "cookie", "set-cookie"})
_SECRET_NAME_PARTS = (
    "api-key",
    "apikey",
    "api_key",
    "access-key",
    "access_key",
    "token",
    "secret",
    "session",
    "auth",
    "passw",
    "signature",
    "credential",
    "private_key",
    "private-key",
    "x-amz-security",
)
_SECRET_QUERY_EXACT = frozenset({"key", "sig", "code"})
_SECRET_BODY_PARTS = (
    "password",
    "passwd",
    "secret",
    "token",
    "api_key",
    "apikey",
    "api-key",
    "authorization",
    "credential",
    "private_key",
    "session",
)


def is_secret_header(name: str) -> bool:
    """True for header names that carry credentials (Authorization, Cookie, X-API-Key, X-Session-Id...)."""
    low = name.lower()
    return low in _ALWAYS_SECRET_HEADERS or any(part in low for part in _SECRET_NAME_PARTS)


def is_secret_query_param(name: str) -> bool:
    """True for query parameter names that carry credentials (api_key, access_token, key, sig...)."""
    low = name.lower()
    return low in _SECRET_QUERY_EXACT or any(part in low for part in _SECRET_NAME_PARTS)


def is_secret_body_key(name: str) -> bool:
    """True for JSON/form body keys whose values are credentials (password, client_secret, token...)."""
    low = name.lower()
    return any(part in low for part in _SECRET_BODY_PARTS)
