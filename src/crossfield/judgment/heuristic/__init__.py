"""The offline heuristic judge: general rules that turn an API description into grounded hypotheses."""

from crossfield.judgment.heuristic.judge import (
    RULESET_VERSION,
    HeuristicConfig,
    HeuristicJudge,
    ruleset_hash,
    select,
)

__all__ = ["RULESET_VERSION", "HeuristicConfig", "HeuristicJudge", "ruleset_hash", "select"]
