"""Get Alert: one Sekoia.io alert by UUID or short ID."""

from pydantic import Field, field_validator

from xsoar_module.actions.base import ModuleAction
from xsoar_module.models.schema import ManifestModel
from xsoar_module.models.alert import Alert


class GetAlertArguments(ManifestModel):
    uuid: str = Field(description="UUID or short ID of the alert (e.g. {{ node.0.alert_uuid }})")
    stix: bool = Field(False, description="Also return the alert's STIX bundle")

    @field_validator("uuid")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("the alert UUID or short ID is empty")
        return value.strip()


class GetAlert(ModuleAction):
    """Fetch a Sekoia.io alert with its rule, urgency, status, entity and context."""

    name = "Get Alert"
    description = "Get a Sekoia.io alert by UUID or short ID"
    results_model = Alert

    def run(self, arguments: GetAlertArguments) -> Alert:
        client = self.sekoia_client()
        alert = Alert.model_validate(client.get_alert(arguments.uuid, stix=arguments.stix))
        self.log(
            f"Alert {alert.short_id} ({alert.uuid}) '{alert.title}' fetched from {client.http.base_url}",
            level="info",
        )
        return alert
