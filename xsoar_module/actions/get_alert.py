"""Get Alert: one Sekoia.io alert by UUID or short ID."""

from pydantic import Field

from xsoar_module.actions.base import Identifier, ModuleAction
from xsoar_module.models.alert import Alert
from xsoar_module.models.schema import ManifestModel


class GetAlertArguments(ManifestModel):
    uuid: Identifier = Field(description="UUID or short ID of the alert (e.g. {{ node.0.alert_uuid }})")
    stix: bool = Field(False, description="Also return the alert's STIX bundle")


class GetAlert(ModuleAction):
    """Fetch a Sekoia.io alert with its rule, urgency, status, entity and context."""

    name = "Get Alert"
    description = "Get a Sekoia.io alert by UUID or short ID"
    results_model = Alert

    def run(self, arguments: GetAlertArguments) -> Alert:
        with self.sekoia_client() as client:
            alert = Alert.model_validate(client.get_alert(arguments.uuid, stix=arguments.stix))
        self.log(
            f"Alert {alert.short_id} ({alert.uuid}) '{alert.title}' fetched from {client.http.base_url}",
            level="info",
        )
        return alert
