"""The LLM judge: one interface over Anthropic, OpenAI and OpenAI-compatible servers, selected by a
`provider/model` string.

    from crossfield.judgment.llm import LLMJudge
    result = LLMJudge("anthropic/claude-sonnet-5-5", prompt="v1").judge(api)

Modules: `providers` (model strings, keys, SDK clients), `prompt` (versioned prompts), `digest` (the spec
digest and chunking), `output` (the response model; grounding as validation), `retry` (transient errors),
`cache` (disk cache), `prices` (dated price table), `backend` (shared client + limits), `judge`
(`LLMJudge`), `batch` (Anthropic Message Batches / OpenAI Batch API).
"""

from crossfield.judgment.llm.backend import CallStats, LLMBackend, Usage
from crossfield.judgment.llm.batch import BatchHandle, collect_batch, poll_batch, run_batch, submit_batch
from crossfield.judgment.llm.cache import ResponseCache, default_llm_cache_dir
from crossfield.judgment.llm.digest import Chunk, ChunkBuilder, estimate_tokens
from crossfield.judgment.llm.judge import JudgeProgress, LLMJudge, PreparedChunk
from crossfield.judgment.llm.output import JudgeOutput, ValidationState
from crossfield.judgment.llm.prices import ModelPrice, PriceTable
from crossfield.judgment.llm.prompt import Prompt, available_prompts, load_prompt
from crossfield.judgment.llm.providers import DEFAULT_MODELS, ModelSpec, parse_model_spec
from crossfield.judgment.llm.retry import RetryPolicy

__all__ = [
    "DEFAULT_MODELS",
    "BatchHandle",
    "CallStats",
    "Chunk",
    "ChunkBuilder",
    "JudgeOutput",
    "JudgeProgress",
    "LLMBackend",
    "LLMJudge",
    "ModelPrice",
    "ModelSpec",
    "PreparedChunk",
    "PriceTable",
    "Prompt",
    "ResponseCache",
    "RetryPolicy",
    "Usage",
    "ValidationState",
    "available_prompts",
    "collect_batch",
    "default_llm_cache_dir",
    "estimate_tokens",
    "load_prompt",
    "parse_model_spec",
    "poll_batch",
    "run_batch",
    "submit_batch",
]
