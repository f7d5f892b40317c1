"""The simulated XSOAR's war rooms: entries, notes, the `!reopenInvestigation` command and the investigation read,
in each incident's investigation or in the Playground."""

from typing import Any

from lab.doubles.xsoar.queries import parse_time
from lab.doubles.xsoar.records import (
    CLOSED_INVESTIGATION,
    DEFAULT_PERSON,
    ENTRY_ERROR,
    ENTRY_REGULAR,
    REOPEN_COMMAND,
    STATUS_CLOSED,
    Call,
    Refusal,
    command_argument,
    entry_body,
)
from lab.doubles.xsoar.store import IncidentStore


class WarRooms(IncidentStore):
    """The war rooms of `XsoarSimulator`'s incidents and its Playground."""

    playground: dict[str, Any]  # an open investigation outside incidents, to run commands in
    entries_touch_incidents: bool

    @property
    def playground_id(self) -> str:
        """The investigation ID of the Playground: an open war room where commands run (`!reopenInvestigation id=`)."""
        return str(self.playground["investigationId"])

    def note_as_person(
        self, incident_id: Any, text: str, user: str = DEFAULT_PERSON, note: bool = True, markdown: bool = True
    ) -> dict[str, Any]:
        """A person writes in the war room (a note unless `note` is False); returns the entry."""
        with self._lock:
            entry = self._add_entry(self._investigation(incident_id), text, markdown, user)
            entry["note"] = note
            return entry

    def _entry(self, call: Call) -> tuple[int, Any]:
        body = entry_body(call.body)
        incident = self._open_investigation(body["investigationId"])
        return 200, self._add_entry(incident, body["data"], body["markdown"], call.user)

    def _entry_note(self, call: Call) -> tuple[int, Any]:
        """`POST /entry/note` `{"id", "investigationId", "data": "true" | "false"}`: (un)mark an entry as a note."""
        body = call.body if isinstance(call.body, dict) else {}
        incident = self._investigation(body.get("investigationId"))
        entry = next((e for e in incident["entries"] if e["id"] == body.get("id")), None)
        if entry is None:
            raise Refusal(f"entry {str(body.get('id'))[:40]!r} not found")
        entry |= {"note": str(body.get("data")).lower() == "true", "modified": self._now()}
        entry["version"] += 1
        return 200, entry

    def _execute(self, call: Call) -> tuple[int, Any]:
        """`POST /entry/execute/sync` `{"investigationId", "data"}` into an open investigation (412 into a closed
        one): `!reopenInvestigation [id=<incident>]` reopens that closed incident (by default the investigation's
        own); another `!command` answers an error entry; plain text is a chat entry. Answers the entries it made."""
        body = entry_body(call.body)
        investigation = self._open_investigation(body["investigationId"])
        command = body["data"].strip()
        if not command.startswith("!"):
            return 200, [self._add_entry(investigation, body["data"], body["markdown"], call.user)]
        if command.split()[0] != REOPEN_COMMAND:
            error = f"Unsupported Command : {command.split()[0][1:][:60]}"
            return 200, [self._add_entry(investigation, error, False, "DBot", ENTRY_ERROR)]
        target_id = command_argument(command, "id") or investigation["id"]
        target = self._find(target_id)
        if target is None:
            error = f"Could not find incident {target_id[:40]}"
            return 200, [self._add_entry(investigation, error, False, "DBot", ENTRY_ERROR)]
        if target["status"] != STATUS_CLOSED:
            return 200, [self._add_entry(investigation, "Incident is not closed", False, "DBot", ENTRY_ERROR)]
        self._reopen(target, call.user)
        return 200, [self._add_entry(investigation, "Investigation reopened", False, "DBot")]

    def _investigation_read(self, call: Call) -> tuple[int, Any]:
        """`POST /investigation/{id}` (used by public scripts, absent from the swagger): the investigation with its
        `entries` created at or after `fromTime` when given, newest first (`pageSize` keeps the newest) and `users`.
        The real order and paging are unconfirmed: this one is the least helpful to a reader expecting oldest
        first."""
        incident = self._investigation(call.params["id"])
        body = call.body if isinstance(call.body, dict) else {}
        size, since = body.get("pageSize"), body.get("fromTime")
        entries = list(reversed(incident["entries"]))
        if since is not None:
            if (start := parse_time(since)) is None:
                raise Refusal(f"fromTime: {str(since)[:40]!r} is not a date-time")
            entries = [entry for entry in entries if (parse_time(entry["created"]) or start) >= start]
        entries = entries[:size] if isinstance(size, int) and size > 0 else entries
        users = sorted({entry["user"] for entry in incident["entries"] if entry["user"] != "DBot"})
        answer = {
            key: incident.get(key) for key in ("id", "name", "status", "created", "modified", "closed", "version")
        }
        return 200, answer | {"closingUserId": incident.get("closingUserId"), "users": users, "entries": entries}

    def _investigation(self, incident_id: Any) -> dict[str, Any]:
        """The incident of a started investigation (an incident created without one has no war room), or the
        Playground."""
        if str(incident_id) == self.playground_id:
            return self.playground
        incident = self._find(incident_id)
        if incident is None or not incident["investigationId"]:
            raise Refusal(f"Could not find investigation {str(incident_id)[:40]!r}")
        return incident

    def _open_investigation(self, incident_id: Any) -> dict[str, Any]:
        """An investigation that takes entries and commands: XSOAR answers 412 for a closed one (swagger)."""
        incident = self._investigation(incident_id)
        if incident["status"] == STATUS_CLOSED:
            raise Refusal(CLOSED_INVESTIGATION, 412)
        return incident

    def _add_entry(
        self, incident: dict[str, Any], text: str, markdown: bool, user: str, kind: int = ENTRY_REGULAR
    ) -> dict[str, Any]:
        stamp = self._now()
        entry = {
            "id": f"{len(incident['entries']) + 1}@{incident['investigationId']}",
            "investigationId": incident["investigationId"],
            "type": kind,
            "contents": text,
            "format": "markdown" if markdown else "text",
            "note": False,
            "user": user,
            "created": stamp,
            "modified": stamp,
            "version": 1,
            "tags": None,
        }
        incident["entries"].append(entry)
        if self.entries_touch_incidents and incident is not self.playground:
            self._touch(incident, "entry", user)
        return entry
