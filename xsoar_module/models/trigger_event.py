"""The event of the Alert Created trigger: the fields of Sekoia.io's own trigger, plus the alert file."""

from typing import Any

from pydantic import Field

from xsoar_module.models.schema import ManifestModel

EVENT_TYPE = "alert"


class EventStatus(ManifestModel):
    uuid: str | None = Field(None, description="Status UUID")
    name: str | None = Field(None, description="Pending, Acknowledged, Ongoing, Rejected or Closed")


class EventEntity(ManifestModel):
    uuid: str | None = Field(None, description="Entity UUID")
    name: str | None = Field(None, description="Entity name")


class EventAlertType(ManifestModel):
    category: str | None = Field(None, description="Alert type category")
    value: str | None = Field(None, description="Alert type value")


class EventRule(ManifestModel):
    name: str | None = Field(None, description="Detection rule name")
    uuid: str | None = Field(None, description="Detection rule UUID")


class AlertCreatedEvent(ManifestModel):
    """A Sekoia.io alert was created."""

    file_path: str = Field(
        description="The full alert, as a JSON file relative to the data path: give it to Create Incident as alert_path"
    )
    event_type: str = Field(EVENT_TYPE, description="Type of the notification that started the run: alert")
    alert_uuid: str = Field(description="Alert UUID")
    short_id: str | None = Field(None, description="Alert short ID, e.g. ALakbd8NXp9W")
    status: EventStatus | None = Field(None, description="Status of the alert")
    created_at: int | None = Field(None, description="Creation time of the alert, epoch seconds")
    urgency: int | None = Field(None, description="Current urgency of the alert, 0-100")
    entity: EventEntity | None = Field(None, description="Entity of the alert")
    alert_type: EventAlertType | None = Field(None, description="Category and value of the alert type")
    rule: EventRule | None = Field(None, description="Detection rule that raised the alert")
    first_seen_at: str | None = Field(None, description="Time of the first event, ISO-8601")
    last_seen_at: str | None = Field(None, description="Time of the last event, ISO-8601")

    @classmethod
    def of(cls, alert: dict[str, Any], file_path: str) -> "AlertCreatedEvent":
        """The event of an alert as the API returns it (any field may be missing or null)."""
        urgency = _object(alert, "urgency").get("current_value")
        created_at = alert.get("created_at")
        return cls(
            file_path=file_path,
            alert_uuid=alert["uuid"],
            short_id=alert.get("short_id"),
            status=EventStatus(**_pick(alert, "status", "uuid", "name")),
            created_at=int(created_at) if isinstance(created_at, (int, float)) else None,
            urgency=int(urgency) if isinstance(urgency, (int, float)) else None,
            entity=EventEntity(**_pick(alert, "entity", "uuid", "name")),
            alert_type=EventAlertType(**_pick(alert, "alert_type", "category", "value")),
            rule=EventRule(**_pick(alert, "rule", "name", "uuid")),
            first_seen_at=alert.get("first_seen_at"),
            last_seen_at=alert.get("last_seen_at"),
        )


def _object(alert: dict[str, Any], field: str) -> dict[str, Any]:
    value = alert.get(field)
    return value if isinstance(value, dict) else {}


def _pick(alert: dict[str, Any], field: str, *keys: str) -> dict[str, str | None]:
    """The string members of a nested object; anything else becomes None."""
    value = _object(alert, field)
    return {key: value[key] if isinstance(value.get(key), str) else None for key in keys}
