"""Relations between the fields of one request, as the rules use them.

The relations themselves come from the interaction map (`api.interactions.field_relations`, read from
schema structure, prose and sibling names by `crossfield.spec`); `Analysis.relations(op)` translates an
operation's facts into `Relation`s. The scenario builder uses every relation of an operation to build
bodies that satisfy all of them but the one a test breaks.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from crossfield.judgment.models import SpecEvidence
from crossfield.spec._fields import resolve_local
from crossfield.spec._interactions_clauses import is_number as is_number
from crossfield.spec._interactions_clauses import is_temporal as is_temporal
from crossfield.spec.model import Api, Field

Kind = Literal["mutex", "one_of", "any_of", "requires", "range", "temporal"]


@dataclass(frozen=True, slots=True)
class Relation:
    """`fields` are names of top-level fields in `location` ('body' or 'query').

    mutex: at most one; one_of: exactly one; any_of: at least one; requires: fields[0] needs fields[1];
    range: fields[0] <= fields[1] (numbers); temporal: fields[0] before fields[1] (dates)."""

    kind: Kind
    location: str
    fields: tuple[str, ...]
    evidence: SpecEvidence
    structural: bool = False


def schema_of(api: Api, f: Field) -> Mapping[str, Any]:
    return resolve_local(f.schema, api.schema_defs)
