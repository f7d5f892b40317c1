"""Update Incident's refresh of an incident from its alert's later changes: the urgency (the incident's severity and
the pack's urgency fields), the occurrences and last sighting (labels), the events it does not have yet. The I/O; what
changes is decided by `mapping/alert_changes.py`."""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Literal

from pydantic import ValidationError

from xsoar_module.errors import ModuleError
from xsoar_module.mapping.alert_changes import (
    EVENTS_FIELD,
    alert_fields_changes,
    appended_events,
    changed_fields,
    events_changes,
    incident_events,
    later_change,
    merged,
)
from xsoar_module.models.alert import Alert, AlertUrgency
from xsoar_module.sync.snapshots import Incident

if TYPE_CHECKING:
    from xsoar_module.clients.sekoia import SekoiaClient
    from xsoar_module.clients.xsoar import XsoarClient


@dataclass(frozen=True)
class AlertFields:
    """What an alert change brings to its incident (None: not brought)."""

    urgency: AlertUrgency | None = None
    occurrences: int | None = None
    last_seen_at: str | None = None
    changed_at: float | None = None  # when the alert changed: an older change than the one written is not applied
    fetch_events: bool = False
    max_events: int = 10
    events_timeout: int = 300

    @property
    def brought(self) -> bool:
        return self.fetch_events or any(
            value is not None for value in (self.urgency, self.occurrences, self.last_seen_at)
        )


@dataclass(frozen=True)
class Refreshed:
    action: Literal["updated", "unchanged"]
    fields: list[str]  # the incident fields written
    why: str | None = None  # why nothing was written


class IncidentRefresh:
    """One alert's later changes applied to its incident, with `update_incident` (optimistic locking)."""

    def __init__(
        self,
        xsoar: "XsoarClient",
        incident: "Incident",
        alert: str,
        log: Callable[..., None],
        sekoia: Callable[[], "SekoiaClient"],
    ):
        self.xsoar = xsoar
        self.incident = incident
        self.alert = alert  # the alert's short ID, else its uuid
        self.log = log
        self.sekoia = sekoia
        self.id = incident.id

    def apply(self, brought: AlertFields) -> Refreshed:
        """Write what differs on an open incident (the caller leaves a closed one alone). The changes are computed
        again on the incident as XSOAR has it when another write came first (optimistic locking): an older alert
        change never overwrites a later one, and events appended meanwhile are kept."""
        found = self._found_events(brought) if brought.fetch_events and brought.max_events > 0 else None
        changes, later = self._changes(self.incident, brought, found, log=True)
        if not changes:
            why = f"has a later change of the alert (made at {later})" if later else "already has the alert's values"
            return Refreshed("unchanged", [], f"incident {self.id} {why}")
        computed = [changes]  # what the last write carried: computed again when another write came first

        def on(current: dict[str, Any]) -> dict[str, Any]:
            computed.append(self._changes(Incident.of(current), brought, found)[0])
            return computed[-1]

        self.xsoar.update_incident(self.incident.raw, on)
        changes = computed[-1]
        if not changes:
            return Refreshed("unchanged", [], f"incident {self.id} got a later change of the alert meanwhile")
        written = changed_fields(changes)
        self.log(f"Incident {self.id} of alert {self.alert}: {self._describe(changes)}", level="info")
        return Refreshed("updated", written)

    def _changes(
        self, incident: "Incident", brought: AlertFields, found: list[dict[str, Any]] | None, log: bool = False
    ) -> tuple[dict[str, Any], str | None]:
        """The changes to write on `incident`, and the time of a later alert change it already has (if any)."""
        later = later_change(incident, brought.changed_at)
        fields: dict[str, Any] = {}
        if later and log:
            self.log(
                f"Incident {self.id} has the values of a later change of alert {self.alert} (made at {later}): its "
                "urgency, occurrences and last sighting are left as they are",
                level="info",
            )
        elif not later:
            fields = alert_fields_changes(
                incident, brought.urgency, brought.occurrences, brought.last_seen_at, brought.changed_at
            )
        events = self._events_changes(incident, found, brought.max_events, log) if found is not None else {}
        return merged(fields, events), later

    def _describe(self, changes: dict[str, Any]) -> str:
        """`severity 2.0 -> 4.0, sekoiaiourgency 30 -> 85, ...` (events counted, not shown)."""
        custom, raw = self.incident.custom_fields, self.incident.raw
        parts = []
        for name in changed_fields(changes):
            if name == EVENTS_FIELD:
                parts.append("events appended")
            elif name != "labels":
                before = custom.get(name) if name in (changes.get("CustomFields") or {}) else raw.get(name)
                after = (changes.get("CustomFields") or {}).get(name, changes.get(name))
                parts.append(f"{name} {before} -> {after}")
            else:
                parts.append("labels " + ", ".join(f"{label['type']}={label['value']}" for label in changes[name]))
        return "; ".join(parts)

    def _found_events(self, brought: AlertFields) -> list[dict[str, Any]] | None:
        """The alert's events, searched once for every attempt of the write; None when they cannot be searched (the
        other fields are still written)."""
        try:
            return self._search(brought)
        except (ModuleError, ValidationError) as exc:
            what = f"{exc}" if isinstance(exc, ModuleError) else "Sekoia.io answered an alert of an unknown shape"
            self.log(
                f"The events of alert {self.alert} could not be searched ({what}): none appended to incident "
                f"{self.id}, its other fields still written",
                level="warning",
            )
            return None

    def _events_changes(
        self, incident: "Incident", found: list[dict[str, Any]], max_events: int, log: bool
    ) -> dict[str, Any]:
        """The pack's events field with the found events the incident does not have yet ({} when none)."""
        from xsoar_module.mapping.incident import MAX_BODY_BYTES, NOTE_BYTES
        from xsoar_module.mapping.trimming import size

        existing = incident_events(incident)
        if existing is None:
            if log:
                self.log(
                    f"Incident {self.id}'s {EVENTS_FIELD} holds no list of events: left as is, no event appended",
                    level="warning",
                )
            return {}
        others = {key: value for key, value in incident.raw.items() if key != "CustomFields"}
        custom = {key: value for key, value in incident.custom_fields.items() if key != EVENTS_FIELD}
        room = MAX_BODY_BYTES - NOTE_BYTES - size(others | {"CustomFields": custom})
        added = appended_events(existing, found, max_events, room)
        if log:
            self.log(
                f"Incident {self.id} has {len(existing)} event(s); {len(found)} found for alert {self.alert}, "
                f"{len(added)} appended (max_events={max_events}, body limit {MAX_BODY_BYTES} bytes)",
                level="info",
            )
        return events_changes(existing, added)

    def _search(self, brought: AlertFields) -> list[dict[str, Any]]:
        """The alert's events (its own query and window), up to `max_events`."""
        from xsoar_module.mapping.window import events_window
        from xsoar_module.timing import PollSchedule

        with self.sekoia() as client:
            alert = Alert.model_validate(client.get_alert(self.alert))
            if not alert.short_id:
                self.log(f"Alert {self.alert} has no short_id: no events searched", level="warning")
                return []
            earliest, latest = events_window(alert, datetime.now(UTC))
            outcome = client.search_events(
                f'alert_short_ids:"{alert.short_id}"',
                earliest,
                latest,
                brought.max_events,
                PollSchedule(timeout=brought.events_timeout),
            )
        return outcome.events
