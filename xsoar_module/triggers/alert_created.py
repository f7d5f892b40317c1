"""Alert Created: one playbook run per new Sekoia.io alert, in real time, none lost and none repeated.

The trigger checks the API key, opens the checkpoint, then runs a LiveSession (LiveAPI notifications merged with
catch-ups of the alert listing) until stopped. Its configuration selects the alerts that start a run.
"""

from collections.abc import Callable
from typing import TYPE_CHECKING

from xsoar_module.configuration import ModuleConfiguration
from xsoar_module.models.alert import Alert
from xsoar_module.models.trigger_event import AlertCreatedEvent
from xsoar_module.triggers.alert_filters import AlertCreatedConfiguration
from xsoar_module.triggers.core.live_trigger import AlertLiveTrigger

if TYPE_CHECKING:  # the LiveAPI source (websockets) loads when the trigger runs, not in the actions' processes
    from xsoar_module.triggers.alerts import AlertCreatedKind, AlertCreatedSource
    from xsoar_module.triggers.core.checkpoint import Ledger

CHECKPOINT_FILE = "alert_created_checkpoint.json"

__all__ = ["AlertCreatedConfiguration", "AlertCreatedTrigger"]


class AlertCreatedTrigger(AlertLiveTrigger[Alert, AlertCreatedConfiguration]):
    """Start a run for each new Sekoia.io alert: real time through the LiveAPI, with catch-up after any gap."""

    name = "Alert Created"
    description = (
        "Start a run for each new Sekoia.io alert, in real time (LiveAPI). Alerts created while the trigger was "
        "stopped or disconnected are caught up after it resumes: no alert is lost and none starts two runs. "
        "The event carries the alert's main fields and the full alert as a file (file_path)"
    )
    configuration: AlertCreatedConfiguration  # type: ignore[override]
    results_model = AlertCreatedEvent
    last_heartbeat_threshold = 600

    checkpoint_file = CHECKPOINT_FILE
    settings_model = AlertCreatedConfiguration
    watched = "alerts created"

    def source(
        self, config: ModuleConfiguration, api_key: str, ledger: "Ledger", settings: AlertCreatedConfiguration
    ) -> "AlertCreatedSource":
        from xsoar_module.triggers.alerts import AlertCreatedSource

        return AlertCreatedSource(
            lambda: self.client(config),
            liveapi_url=config.sekoia_liveapi_url,
            api_key=api_key,
            is_done=ledger.is_done,
            timings=self.timings,
        )

    def kind(self) -> "AlertCreatedKind":
        from xsoar_module.triggers.alerts import AlertCreatedKind

        return AlertCreatedKind()

    def selector(self, settings: AlertCreatedConfiguration) -> Callable[[Alert], str | None]:
        return settings.filtered_out_because

    def emit(self, alert: Alert) -> None:
        label = f"Sekoia.io alert {alert.short_id or alert.uuid}"
        self.send_with_alert_file(alert, lambda file_path: AlertCreatedEvent.of(alert, file_path), label)
