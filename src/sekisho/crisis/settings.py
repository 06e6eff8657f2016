"""The ``crisis`` key of the server configuration: where help lines point and who is told."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from sekisho.crisis.resources import HelpResource


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class HelpLine(_Strict):
    """A help line an organisation lists (its EAP, a campus counselling service)."""

    name: str = Field(min_length=1, max_length=200)
    contact: str = Field(min_length=1, max_length=200, description="Phone number, URL or address.")
    hours: str = Field("", max_length=200)
    region: str = Field("*", description='ISO 3166-1 alpha-2 code ("JP"), or "*" for anywhere.')
    locale: str = Field("ja", description="Language the name and hours are written in (ja, en).")
    emergency: bool = Field(False, description="An emergency number (listed last).")

    def resource(self) -> HelpResource:
        """The crisis module's own type."""
        return HelpResource(self.name, self.contact, self.hours, self.region, self.locale, self.emergency)


class CrisisScope(_Strict):
    """Per-organisation settings."""

    locale: str | None = Field(None, description="e.g. ja-JP or en-US: picks the region of help lines.")
    resources: list[HelpLine] | None = Field(None, description="Replaces the default help lines.")


class CrisisSettings(_Strict):
    """Sensitive conversations: a caring answer instead of the model's, and escalation of the gravest."""

    enabled: bool = Field(True, description="Answer crisis messages with Sekisho's caring response.")
    locale: str = Field("ja-JP", description="Default locale for help lines.")
    resources: list[HelpLine] | None = Field(None, description="Default help lines (None: built-in list).")
    escalate: bool = Field(
        True,
        description="Create an escalation in the review queue (kind crisis) for imminent danger or "
        "harm to others, and notify webhooks subscribed to crisis.escalated.",
    )
    escalation_sla_minutes: float = Field(60, gt=0, description="When an open escalation is re-escalated.")
    overrides: dict[str, CrisisScope] = Field(default_factory=dict, description="Keyed by organisation slug.")

    def for_org(self, slug: str | None) -> tuple[str, list[HelpResource] | None]:
        """(locale, help lines or None for the defaults) for an organisation."""
        scope = self.overrides.get(slug or "")
        locale = (scope.locale if scope else None) or self.locale
        lines = (scope.resources if scope and scope.resources is not None else None) or self.resources
        return locale, [line.resource() for line in lines] if lines is not None else None
