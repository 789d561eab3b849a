"""The policy bundle: a versioned, per-policy-id rule set (shared contract).

Bundles are YAML files validated here, distributed to every worker through the
compacted ``<prefix>.policies`` topic (value: the bundle's canonical JSON), and
referenced from every decision by id, version and content hash.

Semantics (evaluated by ``ledgergate.streams.policy.engine``):

* a rule matches when *all* of its given conditions hold; a condition left out
  does not constrain; ``match: {always: true}`` matches everything;
* among the matching rules the strongest action wins: block > redact > allow;
* when no rule matches the request is blocked (default deny): an empty rule
  set is never a pass.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from .taxonomy import CATEGORIES, ENTITY_TYPES

Action = Literal["allow", "redact", "block"]
Operator = Literal["type_tag", "mask", "hash", "pseudonym"]

ACTION_RANK: dict[str, int] = {"allow": 0, "redact": 1, "block": 2}


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Match(_Frozen):
    """Conditions of one rule; all given conditions must hold."""

    always: bool = False
    categories: tuple[str, ...] = ()
    entity_types: tuple[str, ...] = ()
    min_score: float = Field(0.0, ge=0.0, le=1.0)
    roles: tuple[str, ...] = Field((), description="caller has any of these roles")
    not_roles: tuple[str, ...] = Field((), description="caller has none of these roles")
    tenants: tuple[str, ...] = ()
    routes: tuple[str, ...] = ()

    @field_validator("categories")
    @classmethod
    def _known_categories(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        bad = [c for c in v if c not in CATEGORIES]
        if bad:
            raise ValueError(f"unknown category {bad[0]!r}: expected one of {', '.join(CATEGORIES)}")
        return v

    @field_validator("entity_types")
    @classmethod
    def _known_entities(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        bad = [e for e in v if e not in ENTITY_TYPES]
        if bad:
            raise ValueError(f"unknown entity type {bad[0]!r}: expected one of {', '.join(ENTITY_TYPES)}")
        return v

    @model_validator(mode="after")
    def _not_empty(self) -> Match:
        given = (self.categories or self.entity_types or self.roles or self.not_roles
                 or self.tenants or self.routes)
        if not self.always and not given:
            raise ValueError(
                "empty match: name at least one condition, or write `always: true` "
                "to match every request on purpose"
            )
        return self


class Rule(_Frozen):
    """One rule: conditions, an action, and the explanation recorded with decisions."""

    id: str = Field(min_length=1, max_length=128)
    action: Action
    match: Match
    explain: str = ""
    operators: dict[str, Operator] = Field(
        default_factory=dict, description="per entity type, overriding the bundle's redaction operators")


class Redaction(_Frozen):
    default_operator: Operator = "type_tag"
    operators: dict[str, Operator] = Field(default_factory=dict)

    @field_validator("operators")
    @classmethod
    def _known(cls, v: dict[str, str]) -> dict[str, str]:
        bad = [e for e in v if e not in ENTITY_TYPES]
        if bad:
            raise ValueError(f"unknown entity type {bad[0]!r}: expected one of {', '.join(ENTITY_TYPES)}")
        return v


class PolicyBundle(_Frozen):
    """A versioned rule set for one policy id."""

    id: str = Field(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9_.-]+$")
    version: int = Field(ge=1)
    owner: str = ""
    reviewed: dt.date | None = Field(None, description="last review date (LL-2026-04: at least annually)")
    description: str = ""
    score_threshold: float = Field(0.5, ge=0.0, le=1.0)
    redaction: Redaction = Redaction()
    rules: tuple[Rule, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique_rule_ids(self) -> PolicyBundle:
        seen: set[str] = set()
        for r in self.rules:
            if r.id in seen:
                raise ValueError(f"duplicate rule id {r.id!r}: rule ids must be unique in a bundle")
            seen.add(r.id)
        return self

    def canonical_json(self) -> bytes:
        """Deterministic JSON of the bundle: what is published and hashed."""
        return json.dumps(self.model_dump(mode="json"), sort_keys=True,
                          separators=(",", ":"), ensure_ascii=False).encode("utf-8")

    @property
    def content_hash(self) -> str:
        """sha256 hex of :meth:`canonical_json`; recorded with every decision."""
        return hashlib.sha256(self.canonical_json()).hexdigest()

    def needed_categories(self) -> frozenset[str]:
        """Categories that can change this bundle's outcome (the classifier skips the rest)."""
        needed: set[str] = set()
        for r in self.rules:
            needed.update(r.match.categories)
            for e in r.match.entity_types:
                needed.add("PHI" if e == "MEDICAL_RECORD_NUMBER" else "SECRET" if e == "SECRET" else "PII")
        return frozenset(needed)
