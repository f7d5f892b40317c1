"""A Sekoia.io alert as the API returns it: typed where it matters, lenient to missing and extra fields."""

from typing import Any

from pydantic import ConfigDict, Field

from xsoar_module.models.schema import ManifestModel, nullable_types


class _Lenient(ManifestModel):
    model_config = ConfigDict(extra="allow", json_schema_extra=nullable_types)


class AlertRule(_Lenient):
    uuid: str | None = Field(None, description="Detection rule UUID")
    name: str | None = Field(None, description="Detection rule name")
    description: str | None = None
    severity: int | None = Field(None, description="Rule severity (0-100)")
    type: str | None = Field(None, description="Rule type (sigma, cti, anomaly, ...)")
    pattern: str | None = None


class AlertUrgency(_Lenient):
    current_value: int | None = Field(None, description="Current urgency, 0-100")
    value: int | None = None
    severity: int | None = None
    criticity: int | None = None
    display: str | None = Field(None, description="Low, Moderate, High, Major or Urgent")


class AlertStatus(_Lenient):
    uuid: str | None = None
    name: str | None = Field(None, description="Pending, Acknowledged, Ongoing, Rejected or Closed")
    description: str | None = None


class AlertEntity(_Lenient):
    uuid: str | None = None
    name: str | None = None


class AlertType(_Lenient):
    category: str | None = None
    value: str | None = None


class Alert(_Lenient):
    """A Sekoia.io alert (`GET /v1/sic/alerts/{uuid}`)."""

    uuid: str | None = Field(None, description="Alert UUID")
    short_id: str | None = Field(None, description="Alert short ID, e.g. ALakbd8NXp9W")
    title: str | None = None
    details: str | None = None
    community_uuid: str | None = None
    created_at: int | float | None = Field(None, description="Creation time, epoch seconds")
    updated_at: int | float | None = Field(None, description="Last update time, epoch seconds")
    first_seen_at: str | None = Field(None, description="First event time, ISO-8601")
    last_seen_at: str | None = Field(None, description="Last event time, ISO-8601")
    rule: AlertRule | None = None
    urgency: AlertUrgency | None = None
    status: AlertStatus | None = None
    entity: AlertEntity | None = None
    alert_type: AlertType | None = None
    source: str | None = Field(None, description="Main source (e.g. an IP address)")
    target: str | None = Field(None, description="Main target")
    similar: int | None = Field(None, description="Number of similar occurrences (events)")
    ttps: list[dict[str, Any]] | None = None
    adversaries: list[dict[str, Any]] | None = None
    assets: list[str] | None = None
    is_incident: bool | None = None


class AlertWithWindow(Alert):
    """Get Alert's results: the alert, plus the time window of its events, ready for Get Events."""

    events_earliest_time: str = Field(
        description="Start of the alert's events window, ISO-8601, never null: first_seen_at, else a day before "
        "created_at"
    )
    events_latest_time: str = Field(
        description="End of the alert's events window, ISO-8601, never null: last_seen_at, else the time of Get Alert"
    )
