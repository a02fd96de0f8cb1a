"""Model strings, keys, prompts, prices, the response cache and requirements parsing."""

from __future__ import annotations

import json
import logging
import shutil
import typing
from pathlib import Path

import anthropic.resources.messages.messages as anthropic_messages
import pytest
from anthropic.types import ModelParam
from openai.types import ChatModel

from crossfield.errors import ConfigError, JudgeError
from crossfield.judgment import load_requirements, parse_requirements
from crossfield.judgment.base import Requirement
from crossfield.judgment.grounding import grounding_problems
from crossfield.judgment.llm import (
    DEFAULT_MODELS,
    JudgeOutput,
    PriceTable,
    ResponseCache,
    available_prompts,
    load_prompt,
    parse_model_spec,
)
from crossfield.judgment.llm.cache import request_key
from crossfield.judgment.llm.providers import Secret
from crossfield.judgment.models import HypothesisDraft
from crossfield.spec import Api

# ---- model strings ----------------------------------------------------------------------------------------


def test_model_strings() -> None:
    assert parse_model_spec("anthropic/claude-opus-5-5").name == "anthropic/claude-opus-5-5"
    assert parse_model_spec("openai").name == f"openai/{DEFAULT_MODELS['openai']}"
    spec = parse_model_spec("openai-compatible/meta-llama/Llama-3.1-8B-Instruct")  # vLLM names have slashes
    assert (spec.provider, spec.model) == ("openai-compatible", "meta-llama/Llama-3.1-8B-Instruct")
    with pytest.raises(JudgeError, match="unknown judge"):
        parse_model_spec("gemini/x")
    with pytest.raises(JudgeError, match="needs a model name"):
        parse_model_spec("openai-compatible")


def test_default_models_are_current_sdk_models() -> None:
    anthropic_models = typing.get_args(typing.get_args(ModelParam)[0])
    assert DEFAULT_MODELS["anthropic"] in anthropic_models
    assert DEFAULT_MODELS["anthropic"] not in anthropic_messages.DEPRECATED_MODELS
    assert DEFAULT_MODELS["anthropic"] != "claude-sonnet-4-5"  # retired 2026-11-30
    assert DEFAULT_MODELS["openai"] in typing.get_args(ChatModel)


def test_secrets_hide_themselves() -> None:
    secret = Secret("sk-live-123")
    assert "sk-live" not in repr(secret) and "sk-live" not in str(secret) and secret.reveal() == "sk-live-123"


# ---- prompts ----------------------------------------------------------------------------------------------


def test_shipped_prompts_have_ids_and_distinct_hashes() -> None:
    assert {"v1", "v2"} <= set(available_prompts())
    v1, v2 = load_prompt("v1"), load_prompt("v2")
    assert (v1.id, v2.id) == ("v1", "v2")
    assert len(v1.hash) == 64 and v1.hash != v2.hash
    assert v1.max_hypotheses > v2.max_hypotheses  # v2: fewer but better
    assert load_prompt("v1").hash == v1.hash  # stable
    for prompt in (v1, v2):
        for needle in (
            "inter_parameter",
            "positive control",
            "Never expect a 5xx",
            "JudgeOutput",
            "captured",
        ):
            assert needle in prompt.system


def test_the_prompt_examples_are_valid_grounded_hypotheses(api: Api) -> None:
    for name in ("v1", "v2"):
        system = load_prompt(name).system
        example = json.loads(system.split("```json", 1)[1].split("```", 1)[0])
        draft = HypothesisDraft.model_validate(example)
        assert grounding_problems(draft, api) == []


def test_prompt_hash_covers_every_file(tmp_path: Path) -> None:
    import crossfield.judgment.prompts as prompts

    shipped = Path(prompts.__file__).parent / "v1"
    copy = tmp_path / "mine"
    shutil.copytree(shipped, copy)
    same = load_prompt(str(copy))
    assert same.hash == load_prompt("v1").hash and same.source == str(copy)
    (copy / "user.md.j2").write_text((copy / "user.md.j2").read_text() + "\nOne more line.\n")
    assert load_prompt(str(copy)).hash != same.hash


def test_prompt_errors(tmp_path: Path) -> None:
    with pytest.raises(JudgeError, match="unknown prompt 'v99'"):
        load_prompt("v99")
    (tmp_path / "p").mkdir()
    (tmp_path / "p" / "prompt.toml").write_text('id = "x"\n')
    with pytest.raises(JudgeError, match=r"missing system\.md"):
        load_prompt(str(tmp_path / "p"))


def test_user_template_needs_every_variable() -> None:
    import jinja2

    with pytest.raises(jinja2.UndefinedError):
        load_prompt("v1").render_user(api={"title": "x"})


# ---- prices -----------------------------------------------------------------------------------------------


def test_shipped_prices_are_dated_and_cover_the_defaults() -> None:
    table = PriceTable.load()
    assert table.as_of >= "2026-11-01"
    for provider, model in DEFAULT_MODELS.items():
        assert table.price_for(f"{provider}/{model}") is not None


def test_cost_with_cache_tokens_snapshots_and_batch() -> None:
    table = PriceTable.load()
    cost = table.cost(
        "anthropic/claude-sonnet-5-5",
        input_tokens=1_000_000,
        output_tokens=100_000,
        cache_read_tokens=2_000_000,
        cache_write_tokens=400_000,
    )
    assert cost == pytest.approx(2.00 + 1.00 + 0.40 + 1.00)
    assert table.price_for("anthropic/claude-haiku-4-5-20251001") == table.price_for(
        "anthropic/claude-haiku-4-5"
    )
    assert table.price_for("openai/gpt-5.5-2026-04-23") == table.price_for("openai/gpt-5.5")
    assert table.cost("openai/gpt-5.5", output_tokens=1_000_000, batch=True) == pytest.approx(15.0)


def test_unknown_model_costs_zero_with_a_warning(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="crossfield")
    assert PriceTable.load().cost("anthropic/claude-imaginary-9", input_tokens=10**6) == 0.0
    assert "no price for anthropic/claude-imaginary-9" in caplog.text


def test_prices_can_be_overridden(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    mine = tmp_path / "prices.toml"
    mine.write_text(
        'as_of = "2027-01-01"\n[models."openai-compatible/llama3.1"]\ninput = 0.1\noutput = 0.2\n'
    )
    monkeypatch.setenv("CROSSFIELD_PRICES", str(mine))
    table = PriceTable.load({"models": {"openai/gpt-5.5": {"input": 1.0, "output": 2.0}}})
    assert table.as_of == "2027-01-01"
    assert table.cost("openai-compatible/llama3.1", input_tokens=10**6) == pytest.approx(0.1)
    assert table.cost("openai/gpt-5.5", input_tokens=10**6, cache_read_tokens=10**6) == pytest.approx(2.0)
    assert table.price_for("anthropic/claude-sonnet-5-5") is not None  # shipped entries stay
    mine.write_text("not toml [")
    with pytest.raises(ConfigError, match="not valid TOML"):
        PriceTable.load()
    monkeypatch.delenv("CROSSFIELD_PRICES")
    with pytest.raises(ConfigError, match="numeric"):
        PriceTable.load({"models": {"x/y": {"input": "cheap"}}})


# ---- cache ------------------------------------------------------------------------------------------------


def test_cache_round_trip_and_corruption(tmp_path: Path) -> None:
    cache = ResponseCache(tmp_path)
    key = request_key({"model": "m", "user": "u"})
    assert key != request_key({"model": "m", "user": "u2"})
    assert key == request_key({"user": "u", "model": "m"})  # canonical
    assert cache.get(key) is None
    cache.put(key, {"drafts": [], "dropped": []})
    assert cache.get(key) == {"format": 1, "key": key, "drafts": [], "dropped": []}
    path = next(tmp_path.rglob(f"{key}.json"))
    path.write_text("{broken")
    assert cache.get(key) is None
    path.write_text(json.dumps({"format": 1, "key": "someone-else"}))
    assert cache.get(key) is None
    assert not list(tmp_path.rglob(".tmp-*"))


def test_default_cache_dir_follows_the_environment(tmp_path: Path) -> None:
    assert ResponseCache().directory == tmp_path / "cache" / "llm"


# ---- requirements -----------------------------------------------------------------------------------------

REQUIREMENTS = """# Payments requirements

Intro that mentions REQ-9 in passing is not a requirement.

## REQ-12: Refunds never exceed the charge
The total of refunds is at most the captured amount.

It also applies to partial refunds.

## Notes
Not part of REQ-12.

- REQ-13: A captured charge cannot be captured again.
- [ ] REQ-14 — Every refund is listed
  on its charge.

| id | text | priority |
|----|------|----------|
| SEC-2 | Another account's charges are invisible | high |

REQ-PAY-3 - plain line
**REQ-16**: bold id
REQ-13: more on thirteen
"""


def test_requirements_in_every_shape() -> None:
    reqs = {r.id: r.text for r in parse_requirements(REQUIREMENTS)}
    assert list(reqs) == ["REQ-12", "REQ-13", "REQ-14", "SEC-2", "REQ-PAY-3", "REQ-16"]
    assert reqs["REQ-12"] == (
        "Refunds never exceed the charge. The total of refunds is at most the captured amount. "
        "It also applies to partial refunds."
    )
    assert reqs["REQ-13"] == "A captured charge cannot be captured again. more on thirteen"
    assert reqs["REQ-14"] == "Every refund is listed on its charge."
    assert reqs["SEC-2"] == "Another account's charges are invisible \u2014 high"
    assert reqs["REQ-PAY-3"] == "plain line" and reqs["REQ-16"] == "bold id"


def test_requirements_file_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read"):
        load_requirements(tmp_path / "missing.md")
    empty = tmp_path / "empty.md"
    empty.write_text("# Nothing with an id here\n")
    with pytest.raises(ConfigError, match="no requirements found"):
        load_requirements(empty)
    good = tmp_path / "reqs.md"
    good.write_text("- REQ-1: One.\n")
    assert load_requirements(good) == [Requirement("REQ-1", "One.")]


def test_judge_output_validates_without_context() -> None:
    assert JudgeOutput.model_validate({"hypotheses": []}).hypotheses == []
    with pytest.raises(ValueError, match="hypotheses\\[0\\]"):
        JudgeOutput.model_validate({"hypotheses": [{"title": "x"}]})
