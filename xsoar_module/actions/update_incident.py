"""Update Incident: mirror a Sekoia.io alert's status, comments, urgency, occurrences and new events onto its XSOAR
incident, idempotently."""

from typing import TYPE_CHECKING, Any, Literal

import orjson
from pydantic import Field, field_validator, model_validator

from xsoar_module.actions.base import ModuleAction, sync_outcome
from xsoar_module.models.schema import Count, EpochSeconds, ManifestModel, Name, is_null_rendering
from xsoar_module.quoting import check_identifier
from xsoar_module.sync.rules import status_name

if TYPE_CHECKING:  # loaded when the action runs (main.py imports every item in every block's process)
    from xsoar_module.actions.incident_refresh import Refreshed
    from xsoar_module.clients.xsoar import XsoarClient
    from xsoar_module.sync.decisions import SekoiaChange
    from xsoar_module.sync.snapshots import Incident

Action = Literal["closed", "reopened", "noted", "updated", "unchanged", "not_found"]


class UpdateIncidentArguments(ManifestModel):
    alert_uuid: str | None = Field(None, description="UUID of the Sekoia.io alert ({{ node.0.alert_uuid }})")
    short_id: str | None = Field(None, description="Short ID of the Sekoia.io alert ({{ node.0.short_id }})")
    status: str | None = Field(
        None,
        description="Sekoia.io status name ({{ node.0.status_name }}): Closed or Rejected close the incident, an "
        "open status reopens a closed one",
    )
    comment: dict[str, Any] | str | None = Field(
        None,
        description="A Sekoia.io comment ({{ node.0.comment }}) or a text: a war-room entry, once per comment "
        "uuid; the close notes when the status closes the incident; appended to the details of a closed "
        "incident (its war room refuses entries)",
    )
    close_reasons: dict[str, Name] | None = Field(
        None,
        description='XSOAR close reason per closing status (default {"Closed": "Resolved", "Rejected": '
        '"False Positive"})',
    )
    changed_at: EpochSeconds | None = Field(
        None,
        description="When the alert changed on Sekoia.io, epoch seconds ({{ node.0.updated_at }}): the later change "
        "wins, so a status older than a closure made by a person in XSOAR is not applied, a closing status newer "
        "than it closes the incident again with its own reason, and an urgency older than the one written is not "
        "applied",
    )

    urgency: dict[str, Any] | float | None = Field(
        None,
        description="The alert's new urgency ({{ node.0.urgency }}): {value, display} or a number 0-100; sets the "
        "incident's severity (Low 1, Moderate 2, High and Major 3, Urgent 4) and the pack's urgency fields",
    )
    occurrences: Count | None = Field(
        None, description="The alert's occurrence count ({{ node.0.occurrences }}): the incident's label"
    )
    last_seen_at: str | None = Field(
        None, description="The alert's last event time ({{ node.0.last_seen_at }}): the incident's label"
    )
    fetch_events: bool = Field(
        False,
        description="Append the alert's events the incident does not have yet (by __event_id, up to max_events, "
        "within the 512 KiB body)",
    )
    max_events: Count = Field(10, le=1000, description="fetch_events: at most that many events in the incident")

    @field_validator(
        "alert_uuid",
        "short_id",
        "status",
        "close_reasons",
        "comment",
        "changed_at",
        "urgency",
        "occurrences",
        "last_seen_at",
        mode="before",
    )
    @classmethod
    def _unused_is_none(cls, value: Any) -> Any:
        return None if is_null_rendering(value) else value

    @field_validator("alert_uuid", "short_id")
    @classmethod
    def _identifier(cls, value: str | None, info: Any) -> str | None:
        return None if value is None else check_identifier(value.strip(), info.field_name)

    @field_validator("status")
    @classmethod
    def _status(cls, value: str | None) -> str | None:
        return None if value is None else status_name(value)

    @field_validator("close_reasons")
    @classmethod
    def _by_status_name(cls, value: dict[str, str] | None) -> dict[str, str] | None:
        """Keys in any case or as status uuids (`closed`, `Rejected`...)."""
        return None if value is None else {status_name(key): reason for key, reason in value.items()}

    @field_validator("urgency", mode="before")
    @classmethod
    def _urgency_object(cls, value: Any) -> Any:
        """An urgency rendered as JSON text is read back; then checked (a number 0-100, or an object with one)."""
        from xsoar_module.mapping.alert_changes import urgency_of

        if is_null_rendering(value):
            return None
        if isinstance(value, str):
            try:
                value = orjson.loads(value)
            except orjson.JSONDecodeError:
                raise ValueError(f"urgency must be a number from 0 to 100 or an object, got {value[:60]!r}") from None
        urgency_of(value)
        return value

    @field_validator("comment", mode="before")
    @classmethod
    def _comment_object(cls, value: Any) -> Any:
        """A comment object rendered as JSON text is read back as the object."""
        if isinstance(value, str) and value.lstrip().startswith("{"):
            try:
                parsed = orjson.loads(value)
            except orjson.JSONDecodeError:
                return value
            return parsed if isinstance(parsed, dict) else value
        return value

    @model_validator(mode="after")
    def _an_alert(self) -> "UpdateIncidentArguments":
        if self.alert_uuid is None and self.short_id is None:
            raise ValueError("give alert_uuid or short_id: the alert whose incident is updated")
        return self

    @property
    def alert(self) -> str:
        """How notes and logs name the alert: its short ID, else its uuid."""
        return self.short_id or self.alert_uuid or ""

    @property
    def change(self) -> "SekoiaChange":
        """The alert's change, as the sync's decisions take it."""
        from xsoar_module.sync.decisions import SekoiaChange

        return SekoiaChange(self.alert, self.status, self.changed_at, self.close_reasons)


class UpdateIncidentResults(ManifestModel):
    incident_id: str | None = Field(None, description="ID of the XSOAR incident of the alert, when found")
    found: bool = Field(description="True when XSOAR has an incident for this alert")
    action: Action = Field(
        description="What changed: closed, reopened, noted, updated (urgency, occurrences or events), unchanged or "
        "not_found"
    )
    superseded_by: str | None = Field(
        None,
        description="The later change made by a person in XSOAR that won over the status, when it was not applied",
    )
    updated_fields: list[str] | None = Field(
        None, description="updated: the incident fields written (severity, sekoiaiourgency, labels, sekoiaioevents...)"
    )
    unchanged_because: str | None = Field(
        None, description="Why the urgency, occurrences or events were not written (e.g. the incident is closed)"
    )


class UpdateIncident(ModuleAction):
    """Apply a Sekoia.io alert's status and comment to its XSOAR incident."""

    name = "Update Incident"
    description = (
        "Mirror a Sekoia.io alert's change onto its Cortex XSOAR incident (REST API): Closed/Rejected close it, an "
        "open status reopens it (from the investigation xsoar_command_investigation_id), a comment becomes a "
        "war-room entry (or, for a closed incident, part of its details), a new urgency sets the severity and "
        "urgency fields of an open incident, with the occurrences, last sighting and new events. A replay changes "
        "nothing"
    )
    results_model = UpdateIncidentResults

    def outcome(self, results: dict[str, Any]) -> str:
        return sync_outcome(results)

    def run(self, arguments: UpdateIncidentArguments) -> UpdateIncidentResults:
        from xsoar_module.actions.incident_sync import IncidentUpdate
        from xsoar_module.clients.xsoar import XsoarClient
        from xsoar_module.clients.xsoar.connection import api_configuration
        from xsoar_module.module import masker_of
        from xsoar_module.sync.snapshots import Incident

        config = api_configuration(self.config)
        # what is written is masked (HttpSession): the comment is compared with what the war room holds as written
        arguments = arguments.model_copy(
            update={"comment": masker_of(self.module).for_data().mask_value(arguments.comment)}
        )
        with XsoarClient(config, on_retry=self._log_retry) as xsoar:
            found = xsoar.find_incident(arguments.short_id, arguments.alert_uuid, legacy=True)
            if found is None:
                self.log(f"Cortex XSOAR at {xsoar.url} has no incident for alert {arguments.alert}", level="info")
                return UpdateIncidentResults(found=False, action="not_found")
            incident = Incident.of(found)
            command_investigation = config.xsoar_command_investigation_id
            update = IncidentUpdate(
                xsoar,
                incident,
                arguments.change,
                arguments.alert_uuid,
                self.log,
                self.sekoia_client,
                command_investigation,
            )
            action: Action = update.apply(arguments.comment)
            refreshed = self._refresh(xsoar, incident, arguments)
        if refreshed is not None and action == "unchanged":
            action = refreshed.action
        self.log(f"Incident {incident.id} of alert {arguments.alert}: {action}", level="info")
        return UpdateIncidentResults(
            incident_id=incident.id,
            found=True,
            action=action,
            superseded_by=update.superseded_by,
            updated_fields=refreshed.fields if refreshed else None,
            unchanged_because=refreshed.why if refreshed else None,
        )

    def _refresh(
        self, xsoar: "XsoarClient", incident: "Incident", arguments: UpdateIncidentArguments
    ) -> "Refreshed | None":
        """The alert's urgency, occurrences, last sighting and new events written on the incident, when brought."""
        from xsoar_module.actions.incident_refresh import AlertFields, IncidentRefresh, Refreshed
        from xsoar_module.mapping.alert_changes import urgency_of

        brought = AlertFields(
            urgency=urgency_of(arguments.urgency),
            occurrences=arguments.occurrences,
            last_seen_at=arguments.last_seen_at,
            changed_at=arguments.changed_at,
            fetch_events=arguments.fetch_events,
            max_events=arguments.max_events,
        )
        if not brought.brought:
            return None
        if incident.is_closed:
            why = f"incident {incident.id} is closed: a closed incident is not rewritten"
            refreshed = Refreshed("unchanged", [], why)
        else:
            refreshed = IncidentRefresh(xsoar, incident, arguments.alert, self.log, self.sekoia_client).apply(brought)
        if refreshed.why:
            self.log(f"Incident {incident.id} of alert {arguments.alert}: {refreshed.why}", level="info")
        return refreshed
