"""Alert Updated: one playbook run per status change, comment or urgency change of a Sekoia.io alert, in real time,
none lost and none repeated, without the module's own changes (no echo of what the sync wrote)."""

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Literal

from pydantic import Field, field_validator

from xsoar_module.configuration import ModuleConfiguration
from xsoar_module.models.trigger_event import (
    COMMENT,
    STATUS,
    URGENCY,
    AlertUpdatedEvent,
    EventComment,
    EventUrgency,
)
from xsoar_module.triggers.alert_filters import AlertCreatedConfiguration
from xsoar_module.triggers.core.live_trigger import AlertLiveTrigger

if TYPE_CHECKING:  # the LiveAPI source (websockets) loads when the trigger runs, not in the actions' processes
    from xsoar_module.clients.sekoia import SekoiaClient
    from xsoar_module.models.alert import Alert
    from xsoar_module.triggers.alert_updates import AlertChange, AlertUpdatedKind, AlertUpdatedSource
    from xsoar_module.triggers.core.checkpoint import Ledger

CHECKPOINT_FILE = "alert_updated_checkpoint.json"
Change = Literal["status", "comment", "urgency"]
DEFAULT_CHANGES: list[Change] = ["status", "comment", "urgency"]


class AlertUpdatedConfiguration(AlertCreatedConfiguration):
    """Which changes start a run: the kinds of change, the module's own or not, and the Alert Created filters."""

    changes: list[Change] = Field(
        DEFAULT_CHANGES, description="The changes that start a run: status, comment, urgency (all three by default)"
    )
    ignore_own: bool = Field(
        True,
        description="Start no run for the changes made with this module's API key or carrying its marker (the "
        "changes the sync itself wrote)",
    )
    comments_lookback_hours: int = Field(
        24,
        ge=0,
        le=720,
        description="Catch-ups also read the comments of the alerts updated this many hours back, for comments that "
        "do not change the alert's update time",
    )
    backfill_minutes: int = Field(
        0,
        ge=0,
        le=10080,
        description="On the very first start, also create runs for the changes made this many minutes before "
        "(0: only changes from then on; later restarts always resume where the trigger stopped)",
    )

    @field_validator("changes", mode="before")
    @classmethod
    def _one_or_many_changes(cls, value: Any) -> Any:
        if value is None:
            return list(DEFAULT_CHANGES)
        return [value] if isinstance(value, str) else value

    def describe(self) -> str:
        own = "the module's own changes ignored" if self.ignore_own else "the module's own changes included"
        return f"changes: {', '.join(self.changes) or 'none'}; {own}; {super().describe()}"


class AlertUpdatedTrigger(AlertLiveTrigger["AlertChange", AlertUpdatedConfiguration]):
    """Start a run for each status change, comment or urgency change of a Sekoia.io alert, with catch-up after any
    gap."""

    name = "Alert Updated"
    description = (
        "Start a run for each status change, new comment or urgency change of a Sekoia.io alert, in real time "
        "(LiveAPI). Changes "
        "made while the trigger was stopped or disconnected are caught up after it resumes: none is lost and none "
        "starts two runs. Changes made by this module (its API key, its marker) start none by default. The event "
        "carries the change and the full alert as a file (file_path)"
    )
    configuration: AlertUpdatedConfiguration  # type: ignore[override]
    results_model = AlertUpdatedEvent
    last_heartbeat_threshold = 600

    checkpoint_file = CHECKPOINT_FILE
    settings_model = AlertUpdatedConfiguration
    watched = "alert changes"
    _own: str | None = None  # the API key's identity (`GET /v1/me`)

    def check_api_key(self, client: "SekoiaClient") -> str:
        from xsoar_module.clients.sekoia.alerts import identity_of

        self._own = identity_of(self.me(client))
        if self._own is None:
            self.log(
                "Sekoia.io's /v1/me gave no identity for the API key: the module's own changes are recognised by "
                "their marker only",
                "warning",
            )
        return f"The Sekoia.io API key was accepted by {client.http.base_url} (identity {self._own})"

    def source(
        self, config: ModuleConfiguration, api_key: str, ledger: "Ledger", settings: AlertUpdatedConfiguration
    ) -> "AlertUpdatedSource":
        from xsoar_module.triggers.alert_updates import AlertUpdatedSource

        return AlertUpdatedSource(
            lambda: self.client(config),
            liveapi_url=config.sekoia_liveapi_url,
            api_key=api_key,
            is_done=ledger.is_done,
            timings=self.timings,
            comments_lookback=settings.comments_lookback_hours * 3600,
            urgency=URGENCY in settings.changes,
        )

    def kind(self) -> "AlertUpdatedKind":
        from xsoar_module.triggers.alert_updates import AlertUpdatedKind

        return AlertUpdatedKind()

    def selector(self, settings: AlertUpdatedConfiguration) -> Callable[["AlertChange"], str | None]:
        from xsoar_module.sync.marker import own_change
        from xsoar_module.triggers.core.emitter import Echo

        def filtered_out_because(item: "AlertChange") -> str | None:
            if item.change not in settings.changes:
                return f"changes does not include {item.change}"
            if settings.ignore_own and own_change(item.by, self._own, item.marked):
                return Echo("it was made by this module (ignore_own)")
            return settings.filtered_out_because(item.alert)

        return filtered_out_because

    def emit(self, item: "AlertChange") -> None:
        def event_of(file_path: str) -> AlertUpdatedEvent:
            return AlertUpdatedEvent(
                alert_uuid=str(item.alert.uuid),
                short_id=item.alert.short_id,
                change=STATUS if item.change == STATUS else URGENCY if item.change == URGENCY else COMMENT,
                status_name=item.status_name if item.change == STATUS else None,
                comment=EventComment.model_validate(item.comment) if item.comment else None,
                updated_at=item.at,
                file_path=file_path,
                **(urgency_fields(item.alert) if item.change == URGENCY else {}),
            )

        label = f"Sekoia.io alert {item.alert.short_id or item.alert.uuid} ({item.change})"
        self.send_with_alert_file(item.alert, event_of, label)


def urgency_fields(alert: "Alert") -> dict[str, Any]:
    """An urgency change's fields: the urgency (value and band), its XSOAR severity, the occurrences, last_seen_at."""
    from xsoar_module.mapping.severity import display_of, xsoar_severity

    urgency = alert.urgency
    return {
        "urgency": EventUrgency(value=urgency.current_value if urgency else None, display=display_of(urgency)),
        "severity": xsoar_severity(urgency),
        "occurrences": alert.similar,
        "last_seen_at": alert.last_seen_at,
    }
