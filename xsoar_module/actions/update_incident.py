"""Update Incident: mirror a Sekoia.io alert's status, comments, urgency, occurrences and new events onto its XSOAR
incident, idempotently."""

import math
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Literal

import orjson
from pydantic import Field, field_validator, model_validator

from xsoar_module.actions.base import ModuleAction, sync_outcome
from xsoar_module.errors import ModuleError, RejectedRequestError
from xsoar_module.mapping.sync import (
    CLOSING_STATUSES,
    OPEN_STATUSES,
    absent,
    close_notes,
    close_reason_for,
    closure_note,
    comment_text,
    holds_comment,
    is_module_closure,
    is_reopen_note,
    reason_agrees,
    reopen_note,
    sekoia_change_wins,
    status_name,
    war_room_entry,
    with_comment,
)
from xsoar_module.models.schema import Count, EpochSeconds, ManifestModel, Name
from xsoar_module.quoting import check_identifier

if TYPE_CHECKING:  # loaded when the action runs (main.py imports every item in every block's process)
    from xsoar_module.actions.incident_refresh import Refreshed
    from xsoar_module.clients.sekoia import SekoiaClient
    from xsoar_module.clients.xsoar import XsoarClient

STATUS_ACTIVE, STATUS_CLOSED = 1, 2  # XSOAR's statuses of an active and a closed incident
MIRROR_LOOKBACK = 3600.0  # seconds before a change from which the war room is read for its mirror
Action = Literal["closed", "reopened", "noted", "updated", "unchanged", "not_found"]
Step = Literal["close", "reopen"]


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
        return None if absent(value) else value

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

        if absent(value):
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
        from xsoar_module.clients.xsoar import XsoarClient, api_configuration
        from xsoar_module.module import masker_of

        config = api_configuration(self.config)
        # what is written is masked (HttpSession): the comment is compared with what the war room holds as written
        arguments = arguments.model_copy(
            update={"comment": masker_of(self.module).for_data().mask_value(arguments.comment)}
        )
        with XsoarClient(config, on_retry=self._log_retry) as xsoar:
            incident = xsoar.find_incident(arguments.short_id, arguments.alert_uuid, legacy=True)
            if incident is None:
                self.log(f"Cortex XSOAR at {xsoar.url} has no incident for alert {arguments.alert}", level="info")
                return UpdateIncidentResults(found=False, action="not_found")
            incident_id = str(incident.get("id"))
            update = IncidentUpdate(
                xsoar, incident, arguments, self.log, self.sekoia_client, config.xsoar_command_investigation_id
            )
            action = update.apply()
            refreshed = self._refresh(xsoar, incident, arguments)
        if refreshed is not None and action == "unchanged":
            action = refreshed.action
        self.log(f"Incident {incident_id} of alert {arguments.alert}: {action}", level="info")
        return UpdateIncidentResults(
            incident_id=incident_id,
            found=True,
            action=action,
            superseded_by=update.superseded_by,
            updated_fields=refreshed.fields if refreshed else None,
            unchanged_because=refreshed.why if refreshed else None,
        )

    def _refresh(
        self, xsoar: "XsoarClient", incident: dict[str, Any], arguments: UpdateIncidentArguments
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
        if incident.get("status") == STATUS_CLOSED:
            why = f"incident {incident.get('id')} is closed: a closed incident is not rewritten"
            refreshed = Refreshed("unchanged", [], why)
        else:
            refreshed = IncidentRefresh(xsoar, incident, arguments.alert, self.log, self.sekoia_client).apply(brought)
        if refreshed.why:
            self.log(f"Incident {incident.get('id')} of alert {arguments.alert}: {refreshed.why}", level="info")
        return refreshed


class IncidentUpdate:
    """One alert change applied to one incident. Nothing is written into a closed war room (XSOAR refuses it)."""

    def __init__(
        self,
        xsoar: "XsoarClient",
        incident: dict[str, Any],
        arguments: UpdateIncidentArguments,
        log: Callable[..., None],
        sekoia: Callable[[], "SekoiaClient"],
        command_investigation: str | None = None,
    ):
        self.xsoar = xsoar
        self.sekoia = sekoia
        self.incident = incident
        self.arguments = arguments
        self.log = log
        self.id = str(incident.get("id"))
        self.war_room = str(incident.get("investigationId") or self.id)
        self.superseded_by: str | None = None
        self.command_investigation = command_investigation  # where `!reopenInvestigation id=` runs (module setting)

    @property
    def closed(self) -> bool:
        return self.incident.get("status") == STATUS_CLOSED

    def apply(self) -> Action:
        status, comment = self.arguments.status, self.arguments.comment
        if status is not None and (step := self._step(status)) is not None and not self._superseded(status):
            return self._close(status, comment) if step == "close" else self._reopen(status, comment)
        return "noted" if comment is not None and self._note(comment) else "unchanged"

    def _close(self, status: str, comment: dict[str, Any] | str | None) -> Action:
        """Say so in the war room while it is open (Incident Updated knows by this note a closure undone before its
        next poll), then close the incident with the status's reason; the comment travels in the close notes."""
        reason = close_reason_for(status, self.arguments.close_reasons) or "Resolved"
        if not self.closed:
            self.xsoar.add_entry(self.war_room, closure_note(self.arguments.alert, status, reason))
        self.xsoar.close_incident(self.id, reason, close_notes(comment, self.arguments.alert, status))
        return "closed"

    def _superseded(self, status: str) -> bool:
        """Whether a person closed the incident after the alert's change (the later change wins): then it is not
        applied, and the log and `superseded_by` say why."""
        from xsoar_module.timing import iso8601_seconds

        winner = self._later_closure()
        if winner is None:
            return False
        self.superseded_by = winner
        changed_at = iso8601_seconds(self.arguments.changed_at or 0)
        self.log(
            f"Incident {self.id}: alert {self.arguments.alert} became {status} at {changed_at}, before {winner}: not "
            "applied (the later change wins)",
            level="info",
        )
        return True

    def _step(self, status: str) -> Step | None:
        """What the status asks of the incident: closed (open, or closed with a reason of another status when the
        change's time is known), reopened (closed), or nothing."""
        if status in CLOSING_STATUSES:
            other_reason = not reason_agrees(self.incident.get("closeReason"), status, self.arguments.close_reasons)
            return "close" if not self.closed or (other_reason and self.arguments.changed_at is not None) else None
        return "reopen" if status in OPEN_STATUSES and self.closed else None

    def _later_closure(self) -> str | None:
        """The incident's closure by a person (close notes not the module's), when it is later than the alert's
        change by the rule (`sekoia_change_wins`); None without the change's time."""
        from xsoar_module.timing import iso8601_seconds, xsoar_epoch

        changed_at = self.arguments.changed_at
        closed_at = xsoar_epoch(self.incident.get("closed"))
        if changed_at is None or closed_at is None or not self.closed:
            return None
        if is_module_closure(self.incident.get("closeNotes")):
            return None
        sekoia_after = self._follows_mirror(changed_at, closed_at)
        xsoar_after = sekoia_after and self._closure_follows_mirror(closed_at)
        if sekoia_change_wins(changed_at, closed_at, sekoia_after, xsoar_after):
            return None
        who = self.incident.get("closingUserId") or "a person"
        return f"its closure as {self.incident.get('closeReason')!r} by {who} at {iso8601_seconds(closed_at)}"

    def _closure_follows_mirror(self, closed_at: float) -> bool:
        """Whether the person's closure came after this module's reopening of the incident in the same second (its
        reopen note tells; the entries of that second are read); False when the war room cannot be read."""
        from xsoar_module.mapping.war_room import follows_mirror_note

        try:
            entries = self.xsoar.investigation_entries(self.war_room, from_time=closed_at)
        except ModuleError as exc:
            self.log(f"The war room of incident {self.id} could not be read ({exc})", level="warning")
            return False
        return follows_mirror_note(entries, closed_at, is_reopen_note)

    def _follows_mirror(self, changed_at: float, closed_at: float) -> bool:
        """In the closure's second only: whether the alert's change came after this module's mirror of a change on
        the alert in that second (one read of the alert's history); False when it cannot be read."""
        from xsoar_module.clients.sekoia import identity_of
        from xsoar_module.mapping.alert_history import own_changes, status_change_follows_own

        status = self.arguments.status
        if status is None or math.floor(changed_at) != math.floor(closed_at):
            return False
        try:
            with self.sekoia() as client:
                alert = client.get_alert(self.arguments.alert_uuid or self.arguments.alert, history=True)
                is_own = own_changes(identity_of(client.me()))
        except ModuleError as exc:
            self.log(
                f"Alert {self.arguments.alert} could not be read ({exc}): XSOAR's change wins the same second",
                level="warning",
            )
            return False
        now = alert.get("status")
        current = now.get("name") if isinstance(now, dict) else None
        return status_change_follows_own(alert.get("history"), status, changed_at, is_own, current)

    def _reopen(self, status: str, comment: dict[str, Any] | str | None) -> Action:
        """Run `!reopenInvestigation id=<incident>` from the command investigation (the closed war room refuses
        commands), then say so in the reopened war room (Incident Updated knows the module's reopening by it). When
        XSOAR refuses while a person reopened the incident meanwhile, nothing is left to do; otherwise the run fails
        naming XSOAR's reason."""
        refused = self.xsoar.reopen_incident(self.id, self.command_investigation)
        if refused is not None:
            now = self.xsoar.get_incident(self.id)
            if now is None or now.get("status") == STATUS_CLOSED:
                raise RejectedRequestError(
                    f"Cortex XSOAR did not reopen incident {self.id} (alert {self.arguments.alert} is {status} "
                    f"again): {refused}. The command ran in investigation {self.command_investigation} "
                    "(xsoar_command_investigation_id): it must exist and stay open, and the API key's role must "
                    "allow reopenInvestigation"
                )
            self.log(f"Incident {self.id} was reopened meanwhile, not by this run: {refused}", level="info")
            self.incident = now
            noted = comment is not None and self._note(comment)
            return "noted" if noted else "unchanged"
        self.incident = self.incident | {"status": STATUS_ACTIVE}
        self.xsoar.add_entry(self.war_room, reopen_note(self.arguments.alert, status))
        if comment is not None:
            self._note(comment)
        return "reopened"

    def _note(self, comment: dict[str, Any] | str) -> bool:
        """Mirror the comment unless it is empty or mirrored already: a war-room entry, or, for a closed incident
        (its war room refuses entries), a part of its details; True when written."""
        if not comment_text(comment):
            return False
        if self.closed:
            return self._append_to_details(comment)
        return self._write_once(comment)

    def _append_to_details(self, comment: dict[str, Any] | str) -> bool:
        """Append the comment to the closed incident's details (`update_incident`), once: not when they or the close
        notes (the comment of the closure) hold it. Not to the close notes: a new closure replaces those."""
        details = self.incident.get("details")
        if holds_comment(details, comment) or holds_comment(self.incident.get("closeNotes"), comment):
            return False
        alert = self.arguments.alert
        if with_comment(details, comment, alert) is None:
            self.log(
                f"Incident {self.id} is closed and its details are full: the Sekoia.io comment of alert "
                f"{self.arguments.alert} is not mirrored (read it on Sekoia.io)",
                level="warning",
            )
            return False
        self.incident = self.xsoar.update_incident(self.incident, lambda now: _details_with(now, comment, alert))
        self.log(f"Incident {self.id} is closed: the comment is appended to its details", level="info")
        return True

    def _write_once(self, comment: dict[str, Any] | str) -> bool:
        """Write the comment's war-room entry unless the war room holds it: an entry of this module (marked, not a
        person's note) with the comment's tag and text. Entries since an hour before the change are read (Sekoia.io's
        and XSOAR's clocks may differ), whatever their order."""
        changed_at = self.arguments.changed_at
        since = changed_at - MIRROR_LOOKBACK if changed_at is not None else None
        entries = self.xsoar.investigation_entries(self.war_room, from_time=since)
        if entries is None:
            self.log(
                f"Cortex XSOAR does not serve POST /investigation/{self.war_room} (outside its published API): the "
                "entry is written without checking whether it already was (a replay writes it again)",
                level="warning",
            )
        elif any(entry.get("note") is not True and holds_comment(entry.get("contents"), comment) for entry in entries):
            return False
        self.xsoar.add_entry(self.war_room, war_room_entry(comment, self.arguments.alert))
        return True


def _details_with(incident: dict[str, Any], comment: dict[str, Any] | str, alert: str) -> dict[str, Any]:
    """The incident's details with the comment appended, as read at each write (another run may have changed them)."""
    details = incident.get("details")
    if holds_comment(details, comment):
        return {"details": details}
    return {"details": with_comment(details, comment, alert) or details}
