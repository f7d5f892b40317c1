"""XSOAR incidents as polled trigger items, for Incident Updated: what changed on the incidents this module created.

A poll lists the incidents modified since the checkpoint (`alertid:* and modified:>="<ISO>"`, oldest modification
first) and a page of the open ones, the next page at each poll so that every open incident has its turn (a war-room
entry may leave `modified` alone), reads their war rooms, and compares each with its remembered state: a closure, a
reopening, the notes written since. Changes this module made are left out: closures whose close notes carry the
marker, reopenings followed by its marked reopen note, marked entries. A closure this module made and a person undid
before the poll shows by the module's closure note, written after the state was taken and before the incident's
last modification: the reopening is emitted.
"""

import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from typing import Any

from pydantic import ValidationError

from xsoar_module.clients.xsoar import XsoarClient
from xsoar_module.errors import RejectedRequestError, describe_validation_error
from xsoar_module.models.incident_event import IncidentUpdatedEvent
from xsoar_module.quoting import shorten
from xsoar_module.sync.snapshots import STATUS_CLOSED, Incident
from xsoar_module.sync.texts import is_closure_note, is_module_closure, is_reopen_note
from xsoar_module.sync.war_room import follows_mirror_note, is_mirrored_note, is_persons_note
from xsoar_module.timing import iso8601_seconds, xsoar_epoch
from xsoar_module.triggers.core.emitter import JsonObject
from xsoar_module.triggers.incident_state import IncidentState, IncidentStates

QUERY = "alertid:*"  # the incidents this module created carry the alert's short ID in alertid
ENTRIES_READ = 200  # the latest war-room entries read per incident and poll (more in one interval: the oldest missed)


class IncidentChangeKind:
    """A change, once per key: `closed:<id>@<closed>`, `reopened:<id>@<modified>`, `note:<entry id>`."""

    def key(self, received: JsonObject) -> str | None:
        key = received.get("key")
        return key if isinstance(key, str) and key else None

    def time_of(self, received: JsonObject) -> float | None:
        at = received.get("at")
        return at if isinstance(at, (int, float)) else None

    def label(self, received: JsonObject) -> str:
        event = received.get("event") or {}
        return f"Incident {event.get('incident_id')} {event.get('change')} (alert {event.get('alert_short_id')})"

    def parse(self, received: JsonObject) -> IncidentUpdatedEvent:
        try:
            return IncidentUpdatedEvent.model_validate(received.get("event"))
        except ValidationError as exc:
            raise ValueError(describe_validation_error(exc, "incident change")) from None

    def summary(self, item: IncidentUpdatedEvent) -> str:
        if item.change == "note" and item.note:
            return f"note {item.note.id} by {item.note.user}"
        if item.change == "closed":
            return f"closed as {item.close_reason!r}"
        return item.change


class IncidentChanges:
    """The lister of a poll: each incident compared with its state, its changes as received objects."""

    def __init__(
        self,
        client: XsoarClient,
        states: IncidentStates,
        *,
        watched: int,
        log: Callable[[str, str], None],
        echo: Callable[[], None] = lambda: None,
    ):
        self._client = client
        self._states = states
        self._watched = watched
        self._log = log
        self._echo = echo  # called for each change left out as this module's own
        self.war_room_readable: bool | None = None  # unknown until the first read
        self.newest: float | None = None  # the newest modification seen by the last complete poll
        self._page = 0  # the page of open incidents whose war rooms the next poll reads

    def list_since(self, since: int) -> Iterator[JsonObject | None]:
        self.newest = None
        looked_at: set[str] = set()
        for listed in self._client.iter_modified_since(QUERY, iso8601_seconds(since)):
            incident = Incident.of(listed)
            incident_id, modified_at = incident.id, incident.modified_at
            if modified_at is not None:
                self.newest = max(self.newest or modified_at, modified_at)
            known = self._states.get(incident_id)
            if known is not None and known.modified == incident.modified:
                continue  # listed again by the overlap: nothing moved (open ones are watched below)
            looked_at.add(incident_id)
            yield from self._changes(incident, since)
        if self._watched:
            for incident in map(Incident.of, self._watched_page()):
                if incident.id not in looked_at:
                    yield from self._changes(incident, since)

    def _watched_page(self) -> list[JsonObject]:
        """The next `watched` open incidents in creation order: each poll takes the page after the previous one's, and
        the first again after the last."""
        search = {"query": QUERY, "notStatus": [STATUS_CLOSED], "sort": [{"field": "created", "asc": True}]}
        found = self._client.search_incidents(search | {"page": self._page, "size": self._watched})
        if not found and self._page:
            self._page = 0
            found = self._client.search_incidents(search | {"page": 0, "size": self._watched})
        self._page = self._page + 1 if len(found) >= self._watched else 0
        return found

    def _changes(self, incident: Incident, since: int) -> Iterator[JsonObject]:
        incident_id = incident.id
        known = self._states.get(incident_id)
        entries = self._entries(incident, _read_from(known, since))
        status, closed = incident.status, incident.closed or ""
        before = self._closed_meanwhile(incident, known, entries)
        if status == STATUS_CLOSED and (known is None or known.status != STATUS_CLOSED or known.closed != closed):
            closed_at = xsoar_epoch(closed) or incident.modified_at or float(since)
            if (known is not None or closed_at >= since) and is_module_closure(incident.close_notes):
                self._echo()
            elif known is not None or closed_at >= since:
                after = follows_mirror_note(entries, closed_at, is_reopen_note)
                yield self._change(incident, "closed", f"closed:{incident_id}@{closed}", closed_at, after)
                self._remember_status(incident_id, known, status, closed)
        elif status != STATUS_CLOSED and before is not None and before.status == STATUS_CLOSED:
            if self._reopened_by_a_person(before, entries):
                at = incident.modified_at or float(since)
                after = follows_mirror_note(entries, at, is_closure_note)
                key = f"reopened:{incident_id}@{incident.modified}"
                yield self._change(incident, "reopened", key, at, after)
                self._remember_status(incident_id, known, status, closed)
            else:
                self._echo()
        state = IncidentState(
            status=status,
            closed=closed,
            modified=incident.modified or "",
            modified_at=incident.modified_at or 0.0,
            entry_at=_entry_mark(known, since),
            entry_ids=list(known.entry_ids) if known else [],
        )
        for entry, at in self._new_entries(incident_id, entries or [], known, since, state):
            if is_persons_note(entry):
                yield self._note(incident, entry, at)
            elif is_mirrored_note(entry):
                self._echo()
        self._states.put(incident_id, state)

    def _remember_status(self, incident_id: str, known: IncidentState | None, status: Any, closed: str) -> None:
        """Save the status a closure or reopening just emitted left (the emitter resumes this lister once the run
        started): killed before the end of the poll, the trigger still tells a change that undoes it on restart."""
        base = known or IncidentState(status=status, closed=closed, modified="", modified_at=0.0)
        self._states.put(incident_id, replace(base, status=status, closed=closed))
        try:
            self._states.save()
        except OSError as exc:
            self._log(f"The incidents' state could not be saved ({exc}): saving again after the poll", "error")

    def _entries(self, incident: Incident, from_time: float) -> list[JsonObject] | None:
        """The incident's war-room entries created since `from_time`, oldest first whatever order XSOAR answers in;
        None when unreadable (no war room, or the call is not served)."""
        investigation = incident.investigation_id
        if not investigation or self.war_room_readable is False:
            return None
        try:
            entries = self._client.investigation_entries(str(investigation), ENTRIES_READ, from_time)
        except RejectedRequestError as exc:  # e.g. 400 "Could not find investigation"
            self._log(f"The war room of incident {incident.id} could not be read: {exc}", "debug")
            return None
        if entries is None:
            self.war_room_readable = False
            self._log(
                f"Cortex XSOAR at {self._client.url} does not serve POST /investigation/<id> (outside its published "
                "API): war-room notes are not emitted, and reopenings made by this module cannot be told from "
                "people's (they are emitted)",
                "warning",
            )
            return None
        self.war_room_readable = True
        return sorted(entries, key=lambda entry: xsoar_epoch(entry.get("created")) or 0.0)

    @staticmethod
    def _closed_meanwhile(
        incident: Incident, known: IncidentState | None, entries: list[JsonObject] | None
    ) -> IncidentState | None:
        """The known state; for an incident open now, closed by this module since when its closure note was written
        after that state and before the incident's latest modification (a closure undone before this poll)."""
        if known is None or incident.is_closed:
            return known
        modified = incident.modified_at or 0.0
        closures = [
            entry
            for entry in entries or []
            if is_closure_note(entry.get("contents"))
            and known.modified_at < (xsoar_epoch(entry.get("created")) or 0.0) < modified
        ]
        return replace(known, status=STATUS_CLOSED, closed=str(closures[-1].get("created"))) if closures else known

    @staticmethod
    def _reopened_by_a_person(known: IncidentState, entries: list[JsonObject] | None) -> bool:
        """No reopen note of this module written at or after the closure the reopening undid."""
        closed_at = xsoar_epoch(known.closed) or 0.0
        return not any(
            is_reopen_note(entry.get("contents")) and (xsoar_epoch(entry.get("created")) or 0.0) >= closed_at
            for entry in entries or []
        )

    def _new_entries(
        self,
        incident_id: str,
        entries: list[JsonObject],
        known: IncidentState | None,
        since: int,
        state: IncidentState,
    ) -> Iterator[tuple[JsonObject, float]]:
        """The entries created after those already looked at (on a first sight: since the checkpoint), each with its
        time; `state` records the newest and the ids looked at. An entry dated in the future or not at all is dated
        by the time it is read (said in a log): it never moves the newest past later entries, and its id stays among
        those looked at while its date cannot be trusted, so that it is emitted once."""
        now = time.time()
        after = _entry_mark(known, since)
        seen = set(known.entry_ids) if known else set()
        undated = []
        for entry in entries:
            created, entry_id = xsoar_epoch(entry.get("created")), str(entry.get("id"))
            at = now if created is None or created > now else created
            dated = at == created
            if not dated:
                undated.append(entry_id)
            if at < after or entry_id in seen:
                continue
            if not dated:
                self._log(
                    f"War-room entry {shorten(entry_id, 40)} of incident {incident_id} is dated "
                    f"{shorten(str(entry.get('created')), 40)}, no time to trust: dated by what is known, the time it "
                    f"was read ({iso8601_seconds(now)})",
                    "warning",
                )
            elif state.entry_at is None or at > state.entry_at:
                state.entry_at, state.entry_ids = at, []
            if dated and at == state.entry_at:
                state.entry_ids.append(entry_id)
            yield entry, at
        state.entry_ids += [entry_id for entry_id in undated if entry_id not in state.entry_ids]

    def _note(self, incident: Incident, entry: JsonObject, at: float) -> JsonObject:
        note = {"id": str(entry.get("id")), "content": entry.get("contents"), "user": entry.get("user")}
        change = self._change(incident, "note", f"note:{note['id']}", at)
        change["event"]["note"] = note
        return change

    @staticmethod
    def _change(incident: Incident, change: str, key: str, at: float, follows_mirror: bool = False) -> JsonObject:
        fields = incident.custom_fields
        event: JsonObject = {
            "incident_id": incident.id,
            "alert_short_id": fields.get("alertid") or incident.mirror_id or None,
            "alert_uuid": fields.get("sekoiaioalertuuid") or None,
            "change": change,
            "updated_at": int(at),
            "follows_mirror": follows_mirror,
        }
        if change == "closed":
            event |= {"close_reason": incident.close_reason, "close_notes": incident.close_notes}
        return {"key": key, "at": at, "event": event}


def _entry_mark(known: IncidentState | None, since: int) -> float:
    """The time up to which an incident's entries were looked at: its newest entry's; on a first sight (or when none
    was seen), the checkpoint of the poll, kept as the mark so that a later poll with a checkpoint moved on reads the
    entries written meanwhile (they were lost when its turn came after the checkpoint passed them)."""
    return known.entry_at if known is not None and known.entry_at is not None else float(since)


def _read_from(known: IncidentState | None, since: int) -> float:
    """Where an incident's war-room read starts: the earliest of what the poll compares entries with (the known
    state's times, the newest entry looked at, the checkpoint)."""
    if known is None:
        return float(since)
    times = (known.modified_at, known.entry_at, xsoar_epoch(known.closed), float(since))
    return min(time for time in times if time is not None)
