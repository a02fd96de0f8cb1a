"""Two adaptations that keep instructor's per-call overhead small for a large response model.

instructor 1.17 does, on every `create` call, work that depends only on the response model class:

* it wraps the class in a fresh `ResponseSchema` subclass, so its lru-cached JSON Schema generation misses
  and the ~18 kB schema of `JudgeOutput` is rebuilt (about 100 ms per call);
* it walks the whole model tree up to six times looking for async validators (about 10 ms per walk for
  the hypothesis contract).

At hundreds of chunks per run that CPU time, spent on the event loop, dominated the wall time. So
`response_model()` wraps `JudgeOutput` once, and `memoize_async_validator_check()` remembers which classes
already passed the async-validator check. The check's result depends only on the class, so the memo does
not change behaviour; it is installed once, only where instructor exposes the function, and never caches a
failure.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable
from typing import Any

import instructor

from crossfield.judgment.llm.output import JudgeOutput

_wrapped: dict[type[JudgeOutput], type[JudgeOutput]] = {}
_installed = False


def response_model() -> type[JudgeOutput]:
    """`JudgeOutput` wrapped once as an instructor `ResponseSchema`."""
    wrapped = _wrapped.get(JudgeOutput)
    if wrapped is None:
        wrapped = _wrapped[JudgeOutput] = instructor.response_schema(JudgeOutput)
    return wrapped


def memoize_async_validator_check() -> None:
    """Install the memo around `reject_async_validators` (idempotent; a no-op on other instructor layouts)."""
    global _installed
    if _installed:
        return
    _installed = True
    try:
        from instructor.v2.core import patch as patch_module
        from instructor.v2.validation import async_validators
    except ImportError:  # pragma: no cover - another instructor layout: leave it alone
        return
    original = getattr(async_validators, "reject_async_validators", None)
    if original is None or getattr(original, "_crossfield_memo", False):  # pragma: no cover
        return
    memo = _memoized(original)
    setattr(async_validators, "reject_async_validators", memo)  # noqa: B010
    if getattr(patch_module, "reject_async_validators", None) is original:
        setattr(patch_module, "reject_async_validators", memo)  # noqa: B010


def _memoized(original: Callable[[Any], None]) -> Callable[[Any], None]:
    passed: weakref.WeakSet[type] = weakref.WeakSet()

    def reject_async_validators(response_model: Any) -> None:
        if isinstance(response_model, type):
            if response_model in passed:
                return
            original(response_model)
            passed.add(response_model)
            return
        original(response_model)

    reject_async_validators._crossfield_memo = True  # type: ignore[attr-defined]
    reject_async_validators.__doc__ = original.__doc__
    return reject_async_validators
