"""Get Alert: one Sekoia.io alert by UUID or short ID, with the time window of its events."""

from datetime import UTC, datetime

from pydantic import Field

from xsoar_module.actions.base import Identifier, ModuleAction
from xsoar_module.models.alert import Alert, AlertWithWindow
from xsoar_module.models.schema import ManifestModel


class GetAlertArguments(ManifestModel):
    uuid: Identifier = Field(description="UUID or short ID of the alert (e.g. {{ node.0.alert_uuid }})")
    stix: bool = Field(False, description="Also return the alert's STIX bundle")


class GetAlert(ModuleAction):
    """Fetch a Sekoia.io alert with its rule, urgency, status, entity and context."""

    name = "Get Alert"
    description = "Get a Sekoia.io alert by UUID or short ID"
    results_model = AlertWithWindow

    def run(self, arguments: GetAlertArguments) -> AlertWithWindow:
        from xsoar_module.mapping.window import events_window

        with self.sekoia_client() as client:
            raw = client.get_alert(arguments.uuid, stix=arguments.stix)
        alert = Alert.model_validate(raw)
        earliest, latest = events_window(alert, datetime.now(UTC))
        self.log(
            f"Alert {alert.short_id} ({alert.uuid}) '{alert.title}' fetched from {client.http.base_url}; "
            f"its events window is {earliest} .. {latest}",
            level="info",
        )
        return AlertWithWindow.model_validate(raw | {"events_earliest_time": earliest, "events_latest_time": latest})
