"""The events of the alert triggers: Alert Created (the fields of Sekoia.io's own trigger, plus the alert file) and
Alert Updated."""

from typing import Literal

from pydantic import Field

from xsoar_module.models.alert import Alert
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
        description="The full alert, as a JSON file relative to the data path: give it to Create Incident as "
        "alert_path"
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
    def of(cls, alert: Alert, file_path: str) -> "AlertCreatedEvent":
        """The event of an alert as the API returns it (any field may be missing or null)."""
        if not alert.uuid:
            raise ValueError("the alert has no uuid")
        status, entity, kind, rule = alert.status, alert.entity, alert.alert_type, alert.rule
        return cls(
            file_path=file_path,
            alert_uuid=alert.uuid,
            short_id=alert.short_id,
            status=EventStatus(uuid=status.uuid, name=status.name) if status else EventStatus(),
            created_at=int(alert.created_at) if alert.created_at is not None else None,
            urgency=alert.urgency.current_value if alert.urgency else None,
            entity=EventEntity(uuid=entity.uuid, name=entity.name) if entity else EventEntity(),
            alert_type=EventAlertType(category=kind.category, value=kind.value) if kind else EventAlertType(),
            rule=EventRule(name=rule.name, uuid=rule.uuid) if rule else EventRule(),
            first_seen_at=alert.first_seen_at,
            last_seen_at=alert.last_seen_at,
        )


STATUS, COMMENT, URGENCY = "status", "comment", "urgency"  # the kinds of change of an alert (AlertUpdatedEvent.change)


class EventComment(ManifestModel):
    uuid: str | None = Field(None, description="Comment UUID")
    content: str | None = Field(None, description="Comment text")
    author: str | None = Field(None, description="Author shown by Sekoia.io")
    created_by: str | None = Field(None, description="UUID of the user or API key that wrote it")
    created_by_type: str | None = Field(None, description="user, apikey...")


class EventUrgency(ManifestModel):
    value: int | None = Field(None, description="The alert's current urgency, 0-100 (urgency.current_value)")
    display: str | None = Field(None, description="Its band: Low, Moderate, High, Major or Urgent")


class AlertUpdatedEvent(ManifestModel):
    """A Sekoia.io alert's status or urgency changed, or the alert was commented."""

    alert_uuid: str = Field(description="Alert UUID")
    short_id: str | None = Field(None, description="Alert short ID, e.g. ALakbd8NXp9W")
    change: Literal["status", "comment", "urgency"] = Field(description="What changed: status, comment or urgency")
    status_name: str | None = Field(None, description="The new status (status changes): Acknowledged, Ongoing...")
    comment: EventComment | None = Field(None, description="The new comment (comments)")
    urgency: EventUrgency | None = Field(None, description="The new urgency (urgency changes): value and band")
    severity: float | None = Field(
        None,
        description="The XSOAR severity of the new urgency (urgency changes): 1 low, 2 medium, 3 high, 4 critical",
    )
    occurrences: int | None = Field(
        None, description="The alert's occurrence count (similar) read with the urgency change (urgency changes)"
    )
    last_seen_at: str | None = Field(
        None, description="The alert's last event time, ISO-8601, read with the urgency change (urgency changes)"
    )
    updated_at: int | None = Field(None, description="Time of the change, epoch seconds")
    file_path: str = Field(description="The full alert, as a JSON file relative to the data path")
