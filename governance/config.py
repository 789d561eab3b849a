"""The ``governance`` section of the configuration: who may record which human fact."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class GovernanceConfig(BaseModel):
    """Roles that may record each kind of human fact, and the limits on overrides.

    A caller needs one of the listed roles in its verified identity (token or
    API key): deny by default, as for routes.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    override_roles: tuple[str, ...] = Field(
        ("reviewer",), description="roles that may override a decision (Art. 14 human oversight)")
    incident_roles: tuple[str, ...] = Field(
        ("security", "reviewer"), description="roles that may open, triage, notify and close incidents")
    route_roles: tuple[str, ...] = Field(
        ("reviewer",), description="roles that may suspend and resume a route (Art. 26(5))")
    max_allow_for_seconds: int = Field(
        24 * 3600, ge=1, description="the longest window an override may allow a re-sent request in")
    max_backdate_days: int = Field(
        30, ge=0, description="how far back --at may date a fact (the entry time is recorded as well)")
