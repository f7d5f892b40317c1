"""Update Incident's status and comment on an incident: read (the war room, the alert's history when a same-second
closure makes them matter), decide (`sync.decisions`), write. Nothing is written into a closed war room (XSOAR
refuses it)."""

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Literal

from xsoar_module.errors import ModuleError, RejectedRequestError
from xsoar_module.sync.decisions import (
    SekoiaChange,
    decide_incident,
    incident_contested,
    mirrored_in,
)
from xsoar_module.sync.snapshots import Incident
from xsoar_module.sync.texts import (
    close_notes,
    closure_note,
    comment_text,
    holds_comment,
    is_reopen_note,
    reopen_note,
    war_room_entry,
    with_comment,
)
from xsoar_module.timing import iso8601_seconds

if TYPE_CHECKING:
    from xsoar_module.clients.sekoia import SekoiaClient
    from xsoar_module.clients.xsoar import XsoarClient

Comment = dict[str, Any] | str
Action = Literal["closed", "reopened", "noted", "unchanged"]  # what the status and comment did (Update Incident's)
MIRROR_LOOKBACK = 3600.0  # seconds before a change from which the war room is read for its mirror


class IncidentUpdate:
    """One alert change applied to one incident."""

    def __init__(
        self,
        xsoar: "XsoarClient",
        incident: Incident,
        change: SekoiaChange,
        alert_uuid: str | None,
        log: Callable[..., None],
        sekoia: Callable[[], "SekoiaClient"],
        command_investigation: str | None = None,
    ):
        self.xsoar = xsoar
        self.sekoia = sekoia
        self.incident = incident
        self.change = change
        self.alert_uuid = alert_uuid
        self.log = log
        self.superseded_by: str | None = None
        self.command_investigation = command_investigation  # where `!reopenInvestigation id=` runs (module setting)

    def apply(self, comment: Comment | None) -> Action:
        """Read what the decision needs, decide, write."""
        change = self.change
        sekoia_after = incident_contested(self.incident, change) and self._follows_mirror()
        xsoar_after = sekoia_after and self._closure_follows_mirror()
        decision = decide_incident(self.incident, change, sekoia_after, xsoar_after)
        if decision.superseded_by is not None:
            self.superseded_by = decision.superseded_by
            self.log(
                f"Incident {self.incident.id}: alert {change.alert} became {change.status} at "
                f"{iso8601_seconds(change.changed_at or 0)}, before {decision.superseded_by}: not applied (the later "
                "change wins)",
                level="info",
            )
        if decision.step == "close":
            return self._close(change.status or "", decision.close_reason or "Resolved", comment)
        if decision.step == "reopen":
            return self._reopen(change.status or "", comment)
        return "noted" if comment is not None and self._note(comment) else "unchanged"

    def _close(self, status: str, reason: str, comment: Comment | None) -> Action:
        """Say so in the war room while it is open (Incident Updated knows by this note a closure undone before its
        next poll), then close the incident with the status's reason; the comment travels in the close notes."""
        if not self.incident.is_closed:
            self.xsoar.add_entry(self.incident.war_room, closure_note(self.change.alert, status, reason))
        self.xsoar.close_incident(self.incident.id, reason, close_notes(comment, self.change.alert, status))
        return "closed"

    def _closure_follows_mirror(self) -> bool:
        """Whether the person's closure came after this module's reopening of the incident in the same second (its
        reopen note tells; the entries of that second are read); False when the war room cannot be read."""
        from xsoar_module.sync.war_room import follows_mirror_note

        closed_at = self.incident.closed_at or 0.0
        try:
            entries = self.xsoar.investigation_entries(self.incident.war_room, from_time=closed_at)
        except ModuleError as exc:
            self.log(f"The war room of incident {self.incident.id} could not be read ({exc})", level="warning")
            return False
        return follows_mirror_note(entries, closed_at, is_reopen_note)

    def _follows_mirror(self) -> bool:
        """Whether the alert's change came after this module's mirror of a change on the alert in that second (one
        read of the alert's history); False when it cannot be read."""
        from xsoar_module.clients.sekoia.alerts import identity_of
        from xsoar_module.sync.history import own_changes, status_change_follows_own
        from xsoar_module.sync.snapshots import alert_status

        change = self.change
        try:
            with self.sekoia() as client:
                alert = client.get_alert(self.alert_uuid or change.alert, history=True)
                is_own = own_changes(identity_of(client.me()))
        except ModuleError as exc:
            self.log(
                f"Alert {change.alert} could not be read ({exc}): XSOAR's change wins the same second",
                level="warning",
            )
            return False
        history, current = alert.get("history"), alert_status(alert)
        return status_change_follows_own(history, change.status or "", change.changed_at or 0.0, is_own, current)

    def _reopen(self, status: str, comment: Comment | None) -> Action:
        """Run `!reopenInvestigation id=<incident>` from the command investigation (the closed war room refuses
        commands), then say so in the reopened war room (Incident Updated knows the module's reopening by it). When
        XSOAR refuses while a person reopened the incident meanwhile, nothing is left to do; otherwise the run fails
        naming XSOAR's reason."""
        incident_id = self.incident.id
        refused = self.xsoar.reopen_incident(incident_id, self.command_investigation)
        if refused is not None:
            now = self.xsoar.get_incident(incident_id)
            if now is None or Incident.of(now).is_closed:
                raise RejectedRequestError(
                    f"Cortex XSOAR did not reopen incident {incident_id} (alert {self.change.alert} is {status} "
                    f"again): {refused}. The command ran in investigation {self.command_investigation} "
                    "(xsoar_command_investigation_id): it must exist and stay open, and the API key's role must "
                    "allow reopenInvestigation"
                )
            self.log(f"Incident {incident_id} was reopened meanwhile, not by this run: {refused}", level="info")
            self.incident = Incident.of(now)
            noted = comment is not None and self._note(comment)
            return "noted" if noted else "unchanged"
        self.incident = self.incident.reopened()
        self.xsoar.add_entry(self.incident.war_room, reopen_note(self.change.alert, status))
        if comment is not None:
            self._note(comment)
        return "reopened"

    def _note(self, comment: Comment) -> bool:
        """Mirror the comment unless it is empty or mirrored already: a war-room entry, or, for a closed incident
        (its war room refuses entries), a part of its details; True when written."""
        if not comment_text(comment):
            return False
        if self.incident.is_closed:
            return self._append_to_details(comment)
        return self._write_once(comment)

    def _append_to_details(self, comment: Comment) -> bool:
        """Append the comment to the closed incident's details (`update_incident`), once: not when they or the close
        notes (the comment of the closure) hold it. Not to the close notes: a new closure replaces those."""
        details, alert = self.incident.details, self.change.alert
        if holds_comment(details, comment) or holds_comment(self.incident.close_notes, comment):
            return False
        if with_comment(details, comment, alert) is None:
            self.log(
                f"Incident {self.incident.id} is closed and its details are full: the Sekoia.io comment of alert "
                f"{alert} is not mirrored (read it on Sekoia.io)",
                level="warning",
            )
            return False
        written = self.xsoar.update_incident(self.incident.raw, lambda now: _details_with(now, comment, alert))
        self.incident = Incident.of(written)
        self.log(f"Incident {self.incident.id} is closed: the comment is appended to its details", level="info")
        return True

    def _write_once(self, comment: Comment) -> bool:
        """Write the comment's war-room entry unless the war room holds it (`mirrored_in`). Entries since an hour
        before the change are read (Sekoia.io's and XSOAR's clocks may differ), whatever their order."""
        changed_at = self.change.changed_at
        since = changed_at - MIRROR_LOOKBACK if changed_at is not None else None
        entries = self.xsoar.investigation_entries(self.incident.war_room, from_time=since)
        if entries is None:
            self.log(
                f"Cortex XSOAR does not serve POST /investigation/{self.incident.war_room} (outside its published "
                "API): the entry is written without checking whether it already was (a replay writes it again)",
                level="warning",
            )
        elif mirrored_in(entries, comment):
            return False
        try:
            self.xsoar.add_entry(self.incident.war_room, war_room_entry(comment, self.change.alert))
        except RejectedRequestError as refused:
            return self._closed_meanwhile(comment, refused)
        return True

    def _closed_meanwhile(self, comment: Comment, refused: RejectedRequestError) -> bool:
        """The war room refused the entry: when a person closed the incident since it was read (XSOAR refuses entries
        into a closed investigation), the comment goes to its details; any other refusal stands."""
        fresh = self.xsoar.get_incident(self.incident.id)
        if fresh is None or not Incident.of(fresh).is_closed:
            raise refused
        self.incident = Incident.of(fresh)
        self.log(f"Incident {self.incident.id} was closed while its comment was written", level="info")
        return self._append_to_details(comment)


def _details_with(incident: dict[str, Any], comment: Comment, alert: str) -> dict[str, Any]:
    """The incident's details with the comment appended, as read at each write (another run may have changed them)."""
    details = Incident.of(incident).details
    if holds_comment(details, comment):
        return {"details": details}
    return {"details": with_comment(details, comment, alert) or details}
