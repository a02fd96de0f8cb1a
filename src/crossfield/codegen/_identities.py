"""Turning identity names into request headers: static headers from the config, or a login call.

Logins happen once per identity per run (the token is cached) and every resolved secret is handed to
the redactor before it is used, so it can never show up in a recording or a failure message.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from typing import Any

from crossfield.codegen._checks import MISSING, excerpt, pointer_get
from crossfield.codegen._redact import Redactor, is_secret_body_key
from crossfield.codegen.config import Config, Login, expand_env
from crossfield.errors import ConfigError

__all__ = ["IdentityBook", "LoginCall"]

# login(login, method, path, body, form, headers) -> (status, parsed body, redacted body text)
LoginCall = Callable[
    [Login, str, str, Any, Mapping[str, str] | None, Mapping[str, str]], tuple[int, Any, str]
]
RouteLookup = Callable[[str], tuple[str, str] | None]


class IdentityBook:
    """Resolves identity names to headers for one test run; thread-safe, logins cached."""

    def __init__(self, config: Config, redactor: Redactor) -> None:
        self.config = config
        self._redactor = redactor
        self._lock = threading.RLock()
        self._cache: dict[str, dict[str, str]] = {}

    def headers(self, name: str, *, login: LoginCall, route: RouteLookup) -> dict[str, str]:
        """The headers `name` sends; "default" with no default identity configured sends none."""
        with self._lock:
            cached = self._cache.get(name)
            if cached is not None:
                return dict(cached)
            identity = self.config.identity(name)
            if identity is None:
                if name == "default":
                    self._cache[name] = {}
                    return {}
                known = ", ".join(sorted(self.config.identities)) or "none"
                raise ConfigError(
                    f"{self.config.source}: the test calls as identity {name!r}, which is not configured "
                    f"(configured: {known}); add [identities.{name}] with headers or a login"
                )
            headers = {}
            for key, raw in identity.headers.items():
                value = expand_env(raw, f"{identity.where}.headers.{key}")
                self._redactor.add_secret(value)
                headers[key] = value
            if identity.login is not None:
                header, value = self._login(identity.login, login, route)
                headers[header] = value
            self._cache[name] = headers
            return dict(headers)

    def _login(self, spec: Login, login: LoginCall, route: RouteLookup) -> tuple[str, str]:
        if spec.operation is not None:
            found = route(spec.operation)
            if found is None:
                raise ConfigError(f"{spec.where}.operation: the spec has no operation {spec.operation!r}")
            method, path = found
        else:
            assert spec.method is not None and spec.path is not None
            method, path = spec.method, spec.path
        body = _expand_json(spec.body, f"{spec.where}.body", self._redactor)
        form = {
            k: self._secret(expand_env(v, f"{spec.where}.form.{k}")) for k, v in (spec.form or {}).items()
        }
        headers = {
            k: self._secret(expand_env(v, f"{spec.where}.headers.{k}")) for k, v in spec.headers.items()
        }
        status, parsed, text = login(
            spec, method, path, body, form if spec.form is not None else None, headers
        )
        if not 200 <= status < 300:
            raise ConfigError(f"{spec.where}: login {method} {path} returned {status}: {excerpt(text, 300)}")
        token = pointer_get(parsed, spec.token_pointer)
        if token is MISSING or not isinstance(token, str | int) or token == "":
            raise ConfigError(
                f"{spec.where}.token_pointer: login response has no token at {spec.token_pointer!r}: {excerpt(text, 300)}"
            )
        self._redactor.add_secret(str(token))
        value = f"{spec.scheme} {token}" if spec.scheme else str(token)
        self._redactor.add_secret(value)
        return spec.header, value

    def _secret(self, value: str) -> str:
        self._redactor.add_secret(value)
        return value


def _expand_json(value: Any, where: str, redactor: Redactor) -> Any:
    """Expand `${NAME}` in every string of a login body; each expanded value is treated as a secret."""
    if isinstance(value, str):
        expanded = expand_env(value, where)
        if expanded != value:
            redactor.add_secret(expanded)
        return expanded
    if isinstance(value, Mapping):
        out = {k: _expand_json(v, f"{where}.{k}", redactor) for k, v in value.items()}
        for key, item in out.items():
            if is_secret_body_key(str(key)) and isinstance(item, str):
                redactor.add_secret(item)
        return out
    if isinstance(value, list):
        return [_expand_json(v, f"{where}[{i}]", redactor) for i, v in enumerate(value)]
    return value
