"""The simulated XSOAR's incidents: stored, found, closed and reopened (by a call or by a person), each change
recording `modified`, `version` and who made it, at times on the simulator's clock."""

import threading
from collections.abc import Callable
from typing import Any

from lab.doubles.xsoar.records import (
    DEFAULT_PERSON,
    DEFAULT_TYPE,
    STATUS_ACTIVE,
    STATUS_CLOSED,
    STATUS_PENDING,
    ZERO_TIME,
    summarize,
    xsoar_time,
)


class IncidentStore:
    """The incidents of `XsoarSimulator` (the lock held by the callers of the `_` methods)."""

    incidents: list[dict[str, Any]]
    clock: Callable[[], float]  # epoch seconds
    on_incident: Callable[[dict[str, Any]], None] | None
    _lock: threading.RLock
    _last_id: int

    def incidents_by_alert_id(self, alert_id: str) -> list[dict[str, Any]]:
        """The incidents whose custom field `alertid` is `alert_id`."""
        return [incident for incident in self.incidents if incident["CustomFields"].get("alertid") == alert_id]

    def incident(self, incident_id: Any) -> dict[str, Any]:
        """A stored incident (simulator keys included: `entries`, `activity`); KeyError if unknown."""
        found = self._find(incident_id)
        if found is None:
            raise KeyError(incident_id)
        return found

    def summary(self) -> list[dict[str, Any]]:
        """id, source, name, severity, alertId, alertUrl, events, type, mapped urgency band and status, close reason
        and count of custom fields."""
        return [summarize(incident) for incident in self.incidents]

    def add_incident(self, fields: dict[str, Any], source: str = "api") -> dict[str, Any]:
        """Store an incident of `fields` (over XSOAR's defaults; `createInvestigation` opens its war room) as created
        through `source` ("api", "webhook"), created now on the simulator's clock; returns it as stored."""
        with self._lock:
            self._last_id += 1
            stamp = self._now()
            incident = {
                "id": str(self._last_id),
                "version": 1,
                "created": stamp,
                "modified": stamp,
                "type": DEFAULT_TYPE,
                "severity": 0,
                "occurred": stamp,
                "details": "",
                "owner": "",
                "labels": [],
                "CustomFields": {},
                "rawJSON": "",
                "dbotMirrorId": "",
                "status": STATUS_PENDING,
                "closed": ZERO_TIME,
                "closeReason": "",
                "closeNotes": "",
                "closingUserId": "",
                "investigationId": "",
                "createInvestigation": False,
                "playbookId": "",
                "sourceBrand": "",
                "sourceInstance": "",
                **fields,
                "source": source,
                "entries": [],
                "activity": [],
            }
            if incident["createInvestigation"]:
                incident |= {"status": STATUS_ACTIVE, "investigationId": incident["id"]}
            self.incidents.append(incident)
        if self.on_incident is not None:
            self.on_incident(incident)
        return incident

    def _find(self, incident_id: Any) -> dict[str, Any] | None:
        return next((incident for incident in self.incidents if incident["id"] == str(incident_id)), None)

    def close_as_person(
        self, incident_id: Any, reason: str = "Resolved", notes: str = "", user: str = DEFAULT_PERSON
    ) -> dict[str, Any]:
        """A person closes the incident with a close reason and notes."""
        with self._lock:
            return self._close(self.incident(incident_id), reason, notes, {}, user)

    def reopen_as_person(self, incident_id: Any, user: str = DEFAULT_PERSON) -> dict[str, Any]:
        """A person reopens a closed incident (ValueError when it is not closed)."""
        with self._lock:
            incident = self.incident(incident_id)
            if incident["status"] != STATUS_CLOSED:
                raise ValueError(f"incident {incident_id} is not closed")
            return self._reopen(incident, user)

    def _now(self) -> str:
        """The time on the simulator's clock, as XSOAR writes it."""
        return xsoar_time(self.clock())

    def _touch(self, incident: dict[str, Any], change: str, user: str) -> str:
        """Record a change of the incident: `modified`, `version`, and who did it (simulator-only `activity`)."""
        stamp = self._now()
        incident |= {"modified": stamp, "version": incident["version"] + 1}
        incident["activity"].append({"change": change, "user": user, "at": stamp})
        return stamp

    def _close(
        self, incident: dict[str, Any], reason: str, notes: str, fields: dict[str, Any], user: str
    ) -> dict[str, Any]:
        stamp = self._touch(incident, "closed", user)
        incident |= {
            "status": STATUS_CLOSED,
            "closed": stamp,
            "closeReason": reason,
            "closeNotes": notes,
            "closingUserId": user,
            "CustomFields": incident["CustomFields"] | fields,
        }
        return incident

    def _reopen(self, incident: dict[str, Any], user: str) -> dict[str, Any]:
        """Active again; `closed` and the closing user cleared, close reason and notes kept (unconfirmed)."""
        self._touch(incident, "reopened", user)
        incident |= {"status": STATUS_ACTIVE, "closed": ZERO_TIME, "closingUserId": ""}
        return incident
