"""Code generation: accepted hypotheses, compiled mechanically into readable pytest + httpx tests.

    from crossfield.codegen import generate
    suite = generate(hypotheses, api, "tests/api", config="crossfield.toml")
    # then: pytest tests/api --base-url http://127.0.0.1:8000

`crossfield.codegen.runtime` is what the generated tests import; `crossfield.codegen.plugin` is the
pytest plugin (options --base-url, --crossfield-config, --crossfield-store, --crossfield-report).
The compiler is imported lazily so that loading the plugin, which pytest does in every run, stays cheap.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from crossfield.codegen.compiler import (
        GeneratedSuite,
        compile_hypotheses,
        compile_suite,
        generate,
        write_suite,
    )
    from crossfield.codegen.config import Config, Identity, Login, find_config, load_config
    from crossfield.codegen.synth import Synthesizer, apply_overrides, synthesize

__all__ = [
    "Config",
    "GeneratedSuite",
    "Identity",
    "Login",
    "Synthesizer",
    "apply_overrides",
    "compile_hypotheses",
    "compile_suite",
    "find_config",
    "generate",
    "load_config",
    "synthesize",
    "write_suite",
]

_WHERE = {
    "GeneratedSuite": "compiler",
    "compile_hypotheses": "compiler",
    "compile_suite": "compiler",
    "generate": "compiler",
    "write_suite": "compiler",
    "Config": "config",
    "Identity": "config",
    "Login": "config",
    "find_config": "config",
    "load_config": "config",
    "Synthesizer": "synth",
    "apply_overrides": "synth",
    "synthesize": "synth",
}


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'crossfield.codegen' has no attribute {name!r}")
    from importlib import import_module

    value = getattr(import_module(f"crossfield.codegen.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
