"""Benchmark targets: a directory with `openapi.yaml`, `app.py`, `bugs.yaml` and `crossfield.toml`.

Any directory with that layout is a target, not only the ones shipped in `datasets/targets`, so a team
can benchmark judges on its own seeded API. `app.py` is imported by file path under a unique module name
(two targets may both be called `app`), with its own directory on `sys.path` only while it imports, and
the sibling modules it pulled in are dropped from `sys.modules` afterwards so that another target's
`helpers.py` is never served from cache.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import sys
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from crossfield.errors import ConfigError

AppFactory = Callable[[frozenset[str]], Any]
"""`create_app(bugs)`: returns a fresh ASGI app with those seeded bugs switched on."""

REQUIRED_FILES = ("openapi.yaml", "app.py", "bugs.yaml", "crossfield.toml")
_IMPORT_LOCK = threading.Lock()


@dataclass(frozen=True, slots=True)
class Bug:
    """One seeded bug, as `bugs.yaml` describes it."""

    id: str
    title: str
    category: str
    operations: tuple[str, ...]
    fields: tuple[str, ...]
    cross_field: bool
    description: str = ""


@dataclass(frozen=True)
class Target:
    """A benchmark target directory, validated but not yet imported."""

    name: str
    root: Path
    bugs: tuple[Bug, ...]
    _factory: list[AppFactory] = field(default_factory=list, compare=False, repr=False)

    @property
    def spec_path(self) -> Path:
        return self.root / "openapi.yaml"

    @property
    def app_path(self) -> Path:
        return self.root / "app.py"

    @property
    def config_path(self) -> Path:
        return self.root / "crossfield.toml"

    def bug(self, bug_id: str) -> Bug:
        for bug in self.bugs:
            if bug.id == bug_id:
                return bug
        raise KeyError(bug_id)

    def app_factory(self) -> AppFactory:
        """`create_app` from `app.py`, imported once per `Target`."""
        if not self._factory:
            self._factory.append(import_app_factory(self.app_path))
        return self._factory[0]

    def create_app(self, bugs: frozenset[str] = frozenset()) -> Any:
        """A fresh app (fresh state) with `bugs` switched on."""
        return self.app_factory()(bugs)

    def default_headers(self) -> dict[str, str]:
        """The headers of the default identity in `crossfield.toml` (for tools that take plain headers)."""
        return default_identity_headers(self.config_path)


def load_target(root: str | Path, *, name: str | None = None) -> Target:
    """Validate a target directory and read its `bugs.yaml`; `app.py` is imported lazily."""
    path = Path(root).resolve()
    missing = [f for f in REQUIRED_FILES if not (path / f).is_file()]
    if missing:
        raise ConfigError(
            f"{path}: not a benchmark target, missing {', '.join(missing)} "
            f"(a target holds {', '.join(REQUIRED_FILES)})"
        )
    return Target(name=name or path.name, root=path, bugs=tuple(read_bugs(path / "bugs.yaml")))


def is_target_dir(path: Path) -> bool:
    return path.is_dir() and all((path / f).is_file() for f in REQUIRED_FILES)


def discover_targets(roots: Sequence[str | Path], names: Iterable[str] | None = None) -> list[Target]:
    """Targets from directories that are targets or hold targets (one level down), optionally by name.

    Incomplete subdirectories of a collection are skipped (another engineer may be halfway through
    writing one); a directory named explicitly must be complete."""
    found: list[Target] = []
    for root in roots:
        path = Path(root)
        if is_target_dir(path):
            found.append(load_target(path))
        elif path.is_dir():
            found.extend(
                load_target(sub)
                for sub in sorted(path.iterdir())
                if not sub.name.startswith((".", "_")) and is_target_dir(sub)
            )
        else:
            raise ConfigError(f"{path}: no such directory")
    wanted = [n.strip() for n in names or () if n.strip()]
    if wanted:
        by_name = {t.name: t for t in found}
        unknown = [n for n in wanted if n not in by_name]
        if unknown:
            raise ConfigError(f"unknown target(s) {', '.join(unknown)}; found: {', '.join(sorted(by_name))}")
        found = [by_name[n] for n in wanted]
    names_seen = [t.name for t in found]
    dup = sorted({n for n in names_seen if names_seen.count(n) > 1})
    if dup:
        raise ConfigError(f"two targets share the name(s) {', '.join(dup)}; results are keyed by target name")
    return found


def read_bugs(path: Path) -> list[Bug]:
    """Parse `bugs.yaml`: a list of {id, title, category, operations, fields, cross_field, description}."""
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or []
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from exc
    if not isinstance(raw, list):
        raise ConfigError(f"{path}: expected a list of bugs")
    bugs: list[Bug] = []
    for index, entry in enumerate(raw):
        if not isinstance(entry, dict) or not entry.get("id") or not entry.get("category"):
            raise ConfigError(f"{path}: bug #{index} needs at least 'id' and 'category'")
        bugs.append(
            Bug(
                id=str(entry["id"]),
                title=str(entry.get("title", entry["id"])),
                category=str(entry["category"]),
                operations=tuple(str(o) for o in entry.get("operations") or ()),
                fields=tuple(str(f) for f in entry.get("fields") or ()),
                cross_field=bool(entry.get("cross_field", False)),
                description=str(entry.get("description", "")).strip(),
            )
        )
    ids = [b.id for b in bugs]
    dup = sorted({i for i in ids if ids.count(i) > 1})
    if dup:
        raise ConfigError(f"{path}: duplicate bug ids {', '.join(dup)}")
    return bugs


def default_identity_headers(config_path: Path) -> dict[str, str]:
    """Static headers of the default identity (`${NAME}` expanded), for tools that only take headers.

    A login-based identity contributes only its static headers: the baseline tool cannot log in."""
    from crossfield.codegen.config import expand_env, load_config

    config = load_config(config_path)
    identity = config.identity("default")
    if identity is None and config.identities:
        identity = next(iter(config.identities.values()))
    if identity is None:
        return {}
    return {
        name: expand_env(value, f"{identity.where}.headers.{name}")
        for name, value in identity.headers.items()
    }


def import_app_factory(app_path: Path) -> AppFactory:
    """Import `create_app` from `app_path` under a unique module name, with its directory on sys.path
    only for the import."""
    app_path = app_path.resolve()
    digest = hashlib.sha256(str(app_path).encode()).hexdigest()[:12]
    module_name = f"_crossfield_target_{app_path.parent.name.replace('-', '_')}_{digest}"
    with _IMPORT_LOCK:
        spec = importlib.util.spec_from_file_location(module_name, app_path)
        if spec is None or spec.loader is None:
            raise ConfigError(f"{app_path}: cannot be imported")
        module = importlib.util.module_from_spec(spec)
        before = set(sys.modules)
        directory = str(app_path.parent)
        sys.path.insert(0, directory)
        sys.modules[module_name] = module  # pydantic/dataclasses resolve annotations through it
        try:
            spec.loader.exec_module(module)
        except Exception as exc:
            sys.modules.pop(module_name, None)
            raise ConfigError(f"{app_path}: import failed: {type(exc).__name__}: {exc}") from exc
        finally:
            with contextlib.suppress(ValueError):
                sys.path.remove(directory)
            _forget_siblings(before, app_path.parent, keep=module_name)
    factory = getattr(module, "create_app", None)
    if not callable(factory):
        raise ConfigError(f"{app_path}: defines no create_app(bugs: frozenset[str]) function")
    return factory  # type: ignore[no-any-return]


def _forget_siblings(before: set[str], directory: Path, *, keep: str) -> None:
    for name in set(sys.modules) - before:
        if name == keep:
            continue
        file = getattr(sys.modules[name], "__file__", None)
        if file and Path(file).resolve().is_relative_to(directory):
            del sys.modules[name]
