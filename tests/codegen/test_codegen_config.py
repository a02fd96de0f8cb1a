"""crossfield.toml / [tool.crossfield]: loading, validation messages, ${ENV} references, identity lookup."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from crossfield.codegen._files import config_toml
from crossfield.codegen.config import (
    Config,
    Identity,
    config_from_mapping,
    expand_env,
    find_config,
    load_config,
)
from crossfield.errors import ConfigError

FULL = """\
base_url = "http://127.0.0.1:8000"
default_identity = "alice"
timeout = 3

[identities.alice]
headers = { Authorization = "Bearer alice-token" }

[identities.bob]
headers = { "X-API-Key" = "${BOB_KEY}" }

[identities.carol.login]
operation = "login"
body = { username = "carol", password = "pw" }
token_pointer = "/access_token"
header = "Authorization"
scheme = "Bearer"

[identities.dave.login]
method = "post"
path = "/oauth/token"
form = { grant_type = "password", username = "dave", password = "${DAVE_PASSWORD}" }
token_pointer = "/token"
header = "X-Session"
scheme = ""
"""


def write(tmp_path: Path, text: str, name: str = "crossfield.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_full_configuration(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, FULL))
    assert config.base_url == "http://127.0.0.1:8000"
    assert config.timeout == 3.0
    assert set(config.identities) == {"alice", "bob", "carol", "dave"}
    assert config.identities["bob"].headers == {"X-API-Key": "${BOB_KEY}"}, "kept raw until used"
    carol = config.identities["carol"].login
    assert (
        carol is not None
        and carol.operation == "login"
        and carol.body == {"username": "carol", "password": "pw"}
    )
    dave = config.identities["dave"].login
    assert dave is not None and dave.method == "POST" and dave.scheme is None and dave.header == "X-Session"


def test_default_identity_mapping() -> None:
    config = config_from_mapping(
        {"default_identity": "alice", "identities": {"alice": {"headers": {"A": "1"}}}}
    )
    assert config.identity("default") is config.identities["alice"]
    assert config.identity("bob") is None
    assert Config().identity("default") is None, "no configuration: the default identity sends no auth"
    named_default = config_from_mapping({"identities": {"default": {"headers": {"A": "1"}}}})
    assert named_default.identity("default") is named_default.identities["default"]


def test_pyproject_tool_table(tmp_path: Path) -> None:
    path = write(
        tmp_path, '[project]\nname = "x"\n\n[tool.crossfield]\nbase_url = "http://h"\n', "pyproject.toml"
    )
    assert load_config(path).base_url == "http://h"
    assert find_config(tmp_path) == path
    other = tmp_path / "other"
    other.mkdir()
    write(other, "[tool.black]\nline-length = 100\n", "pyproject.toml")
    assert find_config(other) == path, "a pyproject.toml without [tool.crossfield] is skipped"


def test_find_config_prefers_the_nearest(tmp_path: Path) -> None:
    write(tmp_path, 'base_url = "http://outer"\n')
    inner = tmp_path / "suite"
    inner.mkdir()
    assert find_config(inner) == tmp_path / "crossfield.toml"
    write(inner, 'base_url = "http://inner"\n')
    assert find_config(inner) == inner / "crossfield.toml"


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("colour = 1\n", "unknown key colour"),
        ('default_identity = "zed"\n', "no [identities.zed]"),
        ("timeout = -1\n", "timeout must be a positive number"),
        ('[identities.Alice]\nheaders = { A = "1" }\n', "lower-case identifiers"),
        ("[identities.alice]\n", "needs 'headers' or a [identities.alice.login]"),
        ("[identities.alice]\nheaders = { A = 1 }\n", "identities.alice.headers.A must be a string"),
        ("[identities.alice]\ncolour = 1\n", "unknown key identities.alice.colour"),
        ('[identities.alice.login]\ntoken_pointer = "/t"\n', "needs 'operation'"),
        ('[identities.alice.login]\noperation = "login"\n', "needs 'token_pointer'"),
        (
            '[identities.alice.login]\noperation = "l"\ntoken_pointer = "/t"\nbody = {}\nform = {}\n',
            "not both",
        ),
        ("base_url = [", "not valid TOML"),
    ],
)
def test_errors_name_the_file_and_the_key(tmp_path: Path, text: str, fragment: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert str(path) in str(info.value)
    assert fragment in str(info.value)


def test_missing_file_and_missing_tool_table(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not found"):
        load_config(tmp_path / "nope.toml")
    with pytest.raises(ConfigError, match=r"no \[tool.crossfield\]"):
        load_config(write(tmp_path, "[project]\n", "pyproject.toml"))


def test_env_references() -> None:
    assert expand_env("Bearer ${TOKEN}", "here", {"TOKEN": "abc"}) == "Bearer abc"
    assert expand_env("no refs $HOME", "here", {}) == "no refs $HOME"
    with pytest.raises(ConfigError, match=r"identities.bob.headers.X-API-Key refers to \$\{BOB_KEY\}"):
        expand_env("${BOB_KEY}", "crossfield.toml: identities.bob.headers.X-API-Key", {})


def test_config_round_trips_through_the_suite_copy(tmp_path: Path) -> None:
    original = load_config(write(tmp_path, FULL))
    copy = load_config(write(tmp_path, config_toml(original), "copy.toml"))

    def strip(identity: Identity) -> Identity:
        login = replace(identity.login, where="") if identity.login is not None else None
        return replace(identity, where="", login=login)

    assert {k: strip(v) for k, v in copy.identities.items()} == {
        k: strip(v) for k, v in original.identities.items()
    }
    assert (copy.base_url, copy.default_identity, copy.timeout) == (
        original.base_url,
        original.default_identity,
        original.timeout,
    )
    assert "${BOB_KEY}" in config_toml(original), "references are copied, never resolved"
