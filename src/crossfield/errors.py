"""Typed errors. Every error a user can cause says what went wrong, where, and what to do about it."""

from __future__ import annotations


class CrossfieldError(Exception):
    """Base class of every error crossfield raises on purpose."""


class SpecError(CrossfieldError):
    """An API description that cannot be loaded. Carries the file, the line when the parser knows it,
    and the JSON pointer of the offending node."""

    kind = "spec-error"

    def __init__(
        self,
        message: str,
        *,
        file: str | None = None,
        line: int | None = None,
        pointer: str | None = None,
        hint: str | None = None,
    ) -> None:
        self.message = message
        self.file = file
        self.line = line
        self.pointer = pointer
        self.hint = hint
        super().__init__(self.__str__())

    def __str__(self) -> str:
        where = self.file or "<spec>"
        if self.line is not None:
            where += f":{self.line}"
        text = f"{where}: {self.message}"
        if self.pointer is not None:
            text += f" (at {self.pointer or '/'})"
        if self.hint:
            text += f"\n  hint: {self.hint}"
        return text

    def to_dict(self) -> dict[str, object]:
        return {
            "kind": self.kind,
            "message": self.message,
            "file": self.file,
            "line": self.line,
            "pointer": self.pointer,
        }


class SpecFileNotFoundError(SpecError):
    kind = "missing-file"


class SpecParseError(SpecError):
    """The file is neither valid YAML nor valid JSON."""

    kind = "not-yaml"


class NotAnApiDescriptionError(SpecError):
    """The file parses, but is not an OpenAPI/Swagger document or a Postman collection."""

    kind = "not-an-api-description"


class UnsupportedVersionError(SpecError):
    kind = "unsupported-version"


class UnresolvableRefError(SpecError):
    kind = "unresolvable-ref"


class HypothesisError(CrossfieldError):
    """A hypothesis that does not fit the contract or the spec. `problems` is the full list, each precise
    enough to be sent back to an LLM as a correction."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("; ".join(problems))


class ConfigError(CrossfieldError):
    """Invalid crossfield configuration (crossfield.toml, [tool.crossfield], CLI options)."""


class JudgeError(CrossfieldError):
    """A judge could not be constructed or failed as a whole."""


class StoreBusyError(CrossfieldError):
    """The feedback store file is held by another process for longer than the bounded wait."""
