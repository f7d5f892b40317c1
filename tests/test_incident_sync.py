"""Update Incident's writes when XSOAR changes under them (stubbed client: the race is set, not waited for)."""

from typing import Any

import pytest

from xsoar_module.actions.incident_sync import IncidentUpdate
from xsoar_module.errors import RejectedRequestError
from xsoar_module.sync.decisions import SekoiaChange
from xsoar_module.sync.snapshots import Incident

COMMENT = {"uuid": "c-1", "content": "seen on the proxy too", "author": "alice"}


class ClosedMeanwhile:
    """An XSOAR where a person closes the incident between the run's read and its war-room entry."""

    def __init__(self, closes: bool = True):
        self.stored: dict[str, Any] = {"id": "7", "version": 3, "status": 1, "details": "from Sekoia.io"}
        self.closes = closes
        self.updates: list[dict[str, Any]] = []

    def investigation_entries(self, investigation: str, from_time: float | None = None) -> list[dict[str, Any]]:
        return []

    def add_entry(self, investigation: str, text: str) -> dict[str, Any]:
        if self.closes:
            self.stored |= {"status": 2, "version": 4, "closeNotes": "done", "closeReason": "Resolved"}
        raise RejectedRequestError("Cortex XSOAR refused the war-room entry: In case of closed investigation", 412)

    def get_incident(self, incident_id: str) -> dict[str, Any]:
        return dict(self.stored)

    def update_incident(self, incident: dict[str, Any], changes: Any) -> dict[str, Any]:
        fields = changes(dict(self.stored)) if callable(changes) else changes
        self.updates.append(fields)
        self.stored |= fields
        return dict(self.stored)


def run(xsoar: ClosedMeanwhile) -> str:
    opened = Incident.of(dict(xsoar.stored))
    change = SekoiaChange(alert="ALx", status=None)
    return IncidentUpdate(xsoar, opened, change, None, lambda *_, **__: None, lambda: None).apply(COMMENT)


def test_a_comment_for_an_incident_closed_meanwhile_goes_to_its_details():
    xsoar = ClosedMeanwhile()
    assert run(xsoar) == "noted"
    assert "seen on the proxy too" in xsoar.stored["details"] and len(xsoar.updates) == 1


def test_another_refusal_of_the_entry_stands():
    with pytest.raises(RejectedRequestError):
        run(ClosedMeanwhile(closes=False))
