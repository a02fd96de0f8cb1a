"""The spec model: API descriptions loaded, normalized and mapped for cross-field interactions."""

from crossfield.spec.interactions import InteractionMap, build_interaction_map
from crossfield.spec.loader import default_cache_dir, load_spec, load_spec_from_text
from crossfield.spec.model import (
    Api,
    Evidence,
    Field,
    Operation,
    OperationError,
    Parameter,
    Response,
    SecurityScheme,
)

__all__ = [
    "Api",
    "Evidence",
    "Field",
    "InteractionMap",
    "Operation",
    "OperationError",
    "Parameter",
    "Response",
    "SecurityScheme",
    "build_interaction_map",
    "default_cache_dir",
    "load_spec",
    "load_spec_from_text",
]
