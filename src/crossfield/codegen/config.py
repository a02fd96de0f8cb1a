"""Configuration of generated suites: where the API runs and who calls it.

Read from `crossfield.toml`, or from `[tool.crossfield]` in `pyproject.toml`:

    base_url = "http://127.0.0.1:8000"      # optional; --base-url and CROSSFIELD_BASE_URL win
    default_identity = "alice"              # what a step's identity "default" means
    timeout = 10                            # seconds per request (optional)

    [identities.alice]
    headers = { Authorization = "Bearer ${ALICE_TOKEN}" }

    [identities.carol.login]                # log in once, use the token from the response
    operation = "login"                     # an operationId, or method = "POST" + path = "/login"
    body = { username = "carol", password = "${CAROL_PASSWORD}" }
    token_pointer = "/access_token"
    header = "Authorization"
    scheme = "Bearer"

Values may say `${NAME}` to read environment variable NAME when the identity is first used, so secrets
never need to be committed. Every error names the file and the key.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from crossfield.errors import ConfigError

__all__ = [
    "CONFIG_FILE_NAME",
    "Config",
    "Identity",
    "Login",
    "config_from_mapping",
    "expand_env",
    "find_config",
    "load_config",
]

CONFIG_FILE_NAME = "crossfield.toml"
DEFAULT_TIMEOUT = 10.0
_ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
_TOP_KEYS = frozenset({"base_url", "default_identity", "identities", "timeout"})
_IDENTITY_KEYS = frozenset({"headers", "login"})
_LOGIN_KEYS = frozenset(
    {"operation", "method", "path", "body", "form", "headers", "token_pointer", "header", "scheme"}
)
_NAME = re.compile(r"^[a-z][a-z0-9_]{0,47}$")


@dataclass(frozen=True, slots=True)
class Login:
    """A login call whose response yields a token, sent afterwards as `header: scheme token`."""

    token_pointer: str
    operation: str | None = None
    method: str | None = None
    path: str | None = None
    body: Any = None
    form: Mapping[str, str] | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    header: str = "Authorization"
    scheme: str | None = "Bearer"
    where: str = ""


@dataclass(frozen=True, slots=True)
class Identity:
    """A named caller: static headers, a login, or both (the login's header is added to the static ones)."""

    name: str
    headers: Mapping[str, str] = field(default_factory=dict)
    login: Login | None = None
    where: str = ""


@dataclass(frozen=True, slots=True)
class Config:
    """A loaded configuration. Values are kept raw (with `${NAME}` references) until they are used."""

    base_url: str | None = None
    default_identity: str | None = None
    identities: Mapping[str, Identity] = field(default_factory=dict)
    timeout: float = DEFAULT_TIMEOUT
    source: str = "<defaults>"

    def identity(self, name: str) -> Identity | None:
        """The identity a step's `identity` means: "default" is `default_identity` (or none: no auth);
        "other", unless configured by that name, is the first configured identity that is not the default."""
        if name == "default":
            if self.default_identity is not None:
                return self.identities.get(self.default_identity)
            return self.identities.get("default")
        if name == "other" and name not in self.identities:
            # Judges name the second party of an ownership scenario "other": the first configured
            # identity that is not the default one.
            for candidate in self.identities:
                if candidate not in (self.default_identity, "default"):
                    return self.identities[candidate]
        return self.identities.get(name)


def expand_env(value: str, where: str, environ: Mapping[str, str] | None = None) -> str:
    """Replace each `${NAME}` in `value` with environment variable NAME; a missing one is a ConfigError."""
    env = os.environ if environ is None else environ

    def replace(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in env:
            raise ConfigError(f"{where} refers to ${{{name}}}, but environment variable {name} is not set")
        return env[name]

    return _ENV_REF.sub(replace, value)


def load_config(path: str | os.PathLike[str]) -> Config:
    """Load `crossfield.toml`, or the `[tool.crossfield]` table of a `pyproject.toml`."""
    file = Path(path)
    try:
        data = tomllib.loads(file.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{file}: configuration file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{file}: cannot read configuration: {exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{file}: not valid TOML: {exc}") from None
    if file.name == "pyproject.toml":
        table = data.get("tool", {}).get("crossfield")
        if table is None:
            raise ConfigError(f"{file}: has no [tool.crossfield] table")
        return config_from_mapping(table, source=f"{file} [tool.crossfield]")
    return config_from_mapping(data, source=str(file))


def find_config(start: str | os.PathLike[str]) -> Path | None:
    """The nearest `crossfield.toml` (or `pyproject.toml` with `[tool.crossfield]`) in `start` or above."""
    directory = Path(start).resolve()
    for candidate_dir in (directory, *directory.parents):
        toml = candidate_dir / CONFIG_FILE_NAME
        if toml.is_file():
            return toml
        pyproject = candidate_dir / "pyproject.toml"
        if pyproject.is_file() and _has_tool_table(pyproject):
            return pyproject
    return None


def _has_tool_table(pyproject: Path) -> bool:
    try:
        data = tomllib.loads(pyproject.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return False
    tool = data.get("tool")
    return isinstance(tool, dict) and isinstance(tool.get("crossfield"), dict)


def config_from_mapping(data: Mapping[str, Any], *, source: str = "<config>") -> Config:
    """Validate a parsed configuration table into a `Config`."""
    _no_unknown(data, _TOP_KEYS, source, "")
    base_url = _opt_str(data, "base_url", source, "")
    default_identity = _opt_str(data, "default_identity", source, "")
    timeout = data.get("timeout", DEFAULT_TIMEOUT)
    if isinstance(timeout, bool) or not isinstance(timeout, int | float) or timeout <= 0:
        raise ConfigError(f"{source}: timeout must be a positive number of seconds, got {timeout!r}")
    raw = data.get("identities", {})
    if not isinstance(raw, Mapping):
        raise ConfigError(f"{source}: identities must be a table of [identities.NAME] tables")
    identities = {name: _identity(name, value, source) for name, value in raw.items()}
    if default_identity is not None and default_identity not in identities:
        known = ", ".join(sorted(identities)) or "none"
        raise ConfigError(
            f"{source}: default_identity is {default_identity!r}, but there is no [identities.{default_identity}] "
            f"(configured: {known})"
        )
    return Config(
        base_url=base_url,
        default_identity=default_identity,
        identities=identities,
        timeout=float(timeout),
        source=source,
    )


def _identity(name: str, value: Any, source: str) -> Identity:
    where = f"identities.{name}"
    if not _NAME.match(name):
        raise ConfigError(f"{source}: [{where}]: identity names are lower-case identifiers (a-z, 0-9, _)")
    if not isinstance(value, Mapping):
        raise ConfigError(f"{source}: {where} must be a table with 'headers' and/or 'login'")
    _no_unknown(value, _IDENTITY_KEYS, source, where)
    headers = _str_table(value.get("headers", {}), source, f"{where}.headers")
    login_raw = value.get("login")
    login = _login(login_raw, source, f"{where}.login") if login_raw is not None else None
    if not headers and login is None:
        raise ConfigError(f"{source}: [{where}] needs 'headers' or a [{where}.login] table")
    return Identity(name=name, headers=headers, login=login, where=f"{source}: {where}")


def _login(value: Any, source: str, where: str) -> Login:
    if not isinstance(value, Mapping):
        raise ConfigError(f"{source}: {where} must be a table")
    _no_unknown(value, _LOGIN_KEYS, source, where)
    operation = _opt_str(value, "operation", source, where)
    method = _opt_str(value, "method", source, where)
    path = _opt_str(value, "path", source, where)
    if operation is None and (method is None or path is None):
        raise ConfigError(f"{source}: {where} needs 'operation' (an operationId) or both 'method' and 'path'")
    token_pointer = _opt_str(value, "token_pointer", source, where)
    if token_pointer is None:
        raise ConfigError(f"{source}: {where} needs 'token_pointer', e.g. \"/access_token\"")
    if "body" in value and "form" in value:
        raise ConfigError(f"{source}: {where} takes 'body' (JSON) or 'form', not both")
    form = _str_table(value["form"], source, f"{where}.form") if "form" in value else None
    scheme = value.get("scheme", "Bearer")
    if scheme is not None and not isinstance(scheme, str):
        raise ConfigError(f'{source}: {where}.scheme must be a string such as "Bearer" (or "" for none)')
    return Login(
        token_pointer=token_pointer,
        operation=operation,
        method=method.upper() if method else None,
        path=path,
        body=value.get("body"),
        form=form,
        headers=_str_table(value.get("headers", {}), source, f"{where}.headers"),
        header=_opt_str(value, "header", source, where) or "Authorization",
        scheme=scheme or None,
        where=f"{source}: {where}",
    )


def _no_unknown(table: Mapping[str, Any], allowed: frozenset[str], source: str, where: str) -> None:
    unknown = sorted(set(table) - allowed)
    if unknown:
        prefix = f"{where}." if where else ""
        raise ConfigError(
            f"{source}: unknown key {prefix}{unknown[0]}; allowed here: {', '.join(sorted(allowed))}"
        )


def _opt_str(table: Mapping[str, Any], key: str, source: str, where: str) -> str | None:
    value = table.get(key)
    if value is None:
        return None
    if not isinstance(value, str) or not value:
        name = f"{where}.{key}" if where else key
        raise ConfigError(f"{source}: {name} must be a non-empty string, got {value!r}")
    return value


def _str_table(value: Any, source: str, where: str) -> dict[str, str]:
    if not isinstance(value, Mapping):
        raise ConfigError(
            f'{source}: {where} must be a table of strings, e.g. {{ Authorization = "Bearer ..." }}'
        )
    out: dict[str, str] = {}
    for key, item in value.items():
        if not isinstance(item, str):
            raise ConfigError(f"{source}: {where}.{key} must be a string, got {item!r}")
        out[str(key)] = item
    return out
