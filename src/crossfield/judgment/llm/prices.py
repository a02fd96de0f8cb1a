"""The dated price table: USD per million tokens, per model, with user overrides.

The package ships `prices.toml` (with its `as_of` date). A file named by `$CROSSFIELD_PRICES`, then a file or
mapping given to `PriceTable.load`, replace its entries model by model. An unknown model costs 0 and logs
one warning per model, never an exception: cost accounting must not stop a run.
"""

from __future__ import annotations

import logging
import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from crossfield.errors import ConfigError

log = logging.getLogger("crossfield.judgment.llm")

PRICES_ENV = "CROSSFIELD_PRICES"
_SNAPSHOT = re.compile(r"-(\d{8}|\d{4}-\d{2}-\d{2})$")
_warned: set[str] = set()


@dataclass(frozen=True, slots=True)
class ModelPrice:
    """USD per million tokens."""

    input: float
    output: float
    cache_read: float | None = None
    cache_write: float | None = None


class PriceTable:
    """Prices by `provider/model`, with the date they were taken."""

    def __init__(
        self,
        models: Mapping[str, ModelPrice],
        *,
        as_of: str,
        currency: str = "USD",
        batch_discount: float = 0.5,
        source: str = "",
    ) -> None:
        self.models = dict(models)
        self.as_of = as_of
        self.currency = currency
        self.batch_discount = batch_discount
        self.source = source

    @classmethod
    def load(cls, override: str | os.PathLike[str] | Mapping[str, Any] | None = None) -> PriceTable:
        """The shipped table, then `$CROSSFIELD_PRICES`, then `override` (a TOML file or a parsed mapping)."""
        data = tomllib.loads(
            resources.files("crossfield.judgment.llm").joinpath("prices.toml").read_text("utf-8")
        )
        table = cls._from_mapping(data, "prices.toml (shipped)")
        env = os.environ.get(PRICES_ENV)
        if env:
            table = table.merged(cls._read(env, f"${PRICES_ENV}"))
        if override is not None:
            extra = (
                dict(override) if isinstance(override, Mapping) else cls._read(override, "prices override")
            )
            table = table.merged(extra)
        return table

    @staticmethod
    def _read(path: str | os.PathLike[str], what: str) -> dict[str, Any]:
        try:
            return tomllib.loads(Path(path).read_text(encoding="utf-8"))
        except OSError as exc:
            raise ConfigError(f"{what}: cannot read price file {path}: {exc.strerror or exc}") from exc
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{what}: {path} is not valid TOML: {exc}") from exc

    @classmethod
    def _from_mapping(cls, data: Mapping[str, Any], where: str) -> PriceTable:
        models = {name: _price(name, entry, where) for name, entry in (data.get("models") or {}).items()}
        return cls(
            models,
            as_of=str(data.get("as_of", "unknown")),
            currency=str(data.get("currency", "USD")),
            batch_discount=float(data.get("batch_discount", 0.5)),
            source=str(data.get("source", "")),
        )

    def merged(self, data: Mapping[str, Any]) -> PriceTable:
        other = self._from_mapping({"as_of": self.as_of, **data}, "prices override")
        return PriceTable(
            {**self.models, **other.models},
            as_of=str(data.get("as_of", self.as_of)),
            currency=str(data.get("currency", self.currency)),
            batch_discount=float(data.get("batch_discount", self.batch_discount)),
            source=str(data.get("source", self.source)),
        )

    def price_for(self, model: str) -> ModelPrice | None:
        """`anthropic/claude-haiku-4-5-20251001` -> the entry for it, its undated name, or its bare name."""
        candidates = [model, _SNAPSHOT.sub("", model)]
        if "/" in model:
            bare = model.split("/", 1)[1]
            candidates += [bare, _SNAPSHOT.sub("", bare)]
        for key in candidates:
            if key in self.models:
                return self.models[key]
        return None

    def cost(
        self,
        model: str,
        *,
        input_tokens: int = 0,
        output_tokens: int = 0,
        cache_read_tokens: int = 0,
        cache_write_tokens: int = 0,
        batch: bool = False,
    ) -> float:
        """USD for one call. `input_tokens` are the uncached ones; cache reads/writes are priced apart (at
        the input price when the table has no cache price)."""
        price = self.price_for(model)
        if price is None:
            if model not in _warned:
                _warned.add(model)
                # self-hosted models (openai-compatible) usually cost nothing: say so quietly
                level = logging.INFO if model.startswith("openai-compatible/") else logging.WARNING
                log.log(
                    level,
                    "no price for %s in the price table (as of %s); its cost is recorded as 0. "
                    "Add it to a prices file named by $%s.",
                    model,
                    self.as_of,
                    PRICES_ENV,
                )
            return 0.0
        total = (
            input_tokens * price.input
            + output_tokens * price.output
            + cache_read_tokens * (price.cache_read if price.cache_read is not None else price.input)
            + cache_write_tokens * (price.cache_write if price.cache_write is not None else price.input)
        ) / 1_000_000
        return total * (self.batch_discount if batch else 1.0)


def _price(name: str, entry: Any, where: str) -> ModelPrice:
    if not isinstance(entry, Mapping):
        raise ConfigError(f"{where}: models.{name!r} must be a table with input/output prices")
    try:
        return ModelPrice(
            input=float(entry["input"]),
            output=float(entry["output"]),
            cache_read=float(entry["cache_read"]) if "cache_read" in entry else None,
            cache_write=float(entry["cache_write"]) if "cache_write" in entry else None,
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise ConfigError(
            f"{where}: models.{name!r} needs numeric 'input' and 'output' prices ({exc})"
        ) from exc
