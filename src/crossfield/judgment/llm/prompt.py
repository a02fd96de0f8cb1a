"""Versioned prompts: files in the package (`crossfield/judgment/prompts/<id>/`), each with an id and a
content hash.

A prompt directory holds `prompt.toml` (`id`, `description`, optional `max_hypotheses`), `system.md` (the
system prompt: taxonomy, contract rules, example; identical for every chunk, so provider prompt caching
applies) and `user.md.j2` (a Jinja2 template rendered per chunk). The hash is the sha256 of every file of
the directory, so editing one word of a prompt gives it a new hash, recorded on every hypothesis and call.
"""

from __future__ import annotations

import functools
import hashlib
import tomllib
from dataclasses import dataclass
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any

import jinja2

from crossfield.errors import JudgeError

PROMPTS_PACKAGE = "crossfield.judgment.prompts"
DEFAULT_PROMPT = "v1"
_FILES = ("prompt.toml", "system.md", "user.md.j2")


@dataclass(frozen=True, slots=True)
class Prompt:
    """One prompt version, loaded and hashed."""

    id: str
    description: str
    hash: str
    system: str
    user_template: str
    max_hypotheses: int = 10
    source: str = ""

    @property
    def short_hash(self) -> str:
        return self.hash[:12]

    def render_user(self, **context: Any) -> str:
        """Render the per-chunk user message. Missing variables are errors, not blanks."""
        return _compiled(self.user_template).render(max_hypotheses=self.max_hypotheses, **context)


@functools.lru_cache(maxsize=32)
def _compiled(source: str) -> jinja2.Template:
    env = jinja2.Environment(
        undefined=jinja2.StrictUndefined,
        autoescape=False,  # Markdown for a model, not HTML
        keep_trailing_newline=True,
    )
    return env.from_string(source)


def available_prompts() -> list[str]:
    """The prompt versions shipped in the package, e.g. `['v1', 'v2']`."""
    root = resources.files(PROMPTS_PACKAGE)
    return sorted(p.name for p in root.iterdir() if p.is_dir() and p.joinpath("prompt.toml").is_file())


def load_prompt(name: str = DEFAULT_PROMPT) -> Prompt:
    """Load a shipped prompt by id (`v1`, `v2`) or a prompt directory by path (for prompt experiments)."""
    directory: Traversable
    candidate = Path(name)
    if (candidate.is_dir() and (candidate / "prompt.toml").is_file()) or "/" in name or "\\" in name:
        if not (candidate / "prompt.toml").is_file():
            raise JudgeError(f"prompt directory {name!r} has no prompt.toml (needs {', '.join(_FILES)})")
        directory = candidate
        source = str(candidate)
    else:
        directory = resources.files(PROMPTS_PACKAGE).joinpath(name)
        if not directory.joinpath("prompt.toml").is_file():
            known = ", ".join(available_prompts()) or "none"
            raise JudgeError(
                f"unknown prompt {name!r}; shipped prompts: {known} (or pass a prompt directory)"
            )
        source = f"{PROMPTS_PACKAGE}/{name}"
    contents: dict[str, bytes] = {}
    for entry in directory.iterdir():
        if entry.is_file() and not entry.name.startswith(".") and not entry.name.endswith((".pyc", ".py")):
            contents[entry.name] = entry.read_bytes()
    missing = [f for f in _FILES if f not in contents]
    if missing:
        raise JudgeError(f"prompt {name!r} is missing {', '.join(missing)}")
    meta = tomllib.loads(contents["prompt.toml"].decode("utf-8"))
    prompt_id = str(meta.get("id") or name)
    digest = hashlib.sha256()
    for file_name in sorted(contents):
        digest.update(file_name.encode("utf-8") + b"\0" + contents[file_name] + b"\0")
    return Prompt(
        id=prompt_id,
        description=str(meta.get("description", "")),
        hash=digest.hexdigest(),
        system=contents["system.md"].decode("utf-8").strip() + "\n",
        user_template=contents["user.md.j2"].decode("utf-8"),
        max_hypotheses=int(meta.get("max_hypotheses", 10)),
        source=source,
    )
