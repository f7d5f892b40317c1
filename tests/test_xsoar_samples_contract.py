"""Contract: the real XSOAR samples (../shared/reference/samples/sync/xsoar_*.json) parse through the module exactly as
the simulator's own answer of the same kind: the same fields, of the same types, read the same way."""

import json
from pathlib import Path
from typing import Any

import pytest

from lab.doubles.faults import Fault
from tests.support import XSOAR_API_KEY
from xsoar_module.clients.xsoar import XsoarClient
from xsoar_module.clients.xsoar.connection import api_configuration
from xsoar_module.configuration import ModuleConfiguration
from xsoar_module.sync.war_room import is_persons_note
from xsoar_module.timing import xsoar_epoch

SAMPLES = Path("/work/shared/reference/samples/sync")
pytestmark = pytest.mark.skipif(not SAMPLES.is_dir(), reason="the shared reference samples are not on this machine")


@pytest.fixture
def client(xsoar):
    config = ModuleConfiguration(api_key="unused", xsoar_url=xsoar.url, xsoar_mode="api", xsoar_api_key=XSOAR_API_KEY)
    with XsoarClient(api_configuration(config)) as xsoar_client:
        yield xsoar_client


def sample(name: str) -> Any:
    return json.loads((SAMPLES / name).read_text())


def kind(value: Any) -> str:
    return type(value).__name__


def incident_reading(incident: dict[str, Any]) -> dict[str, str]:
    """What the sync reads of an incident, as types: the id, status, times (parsed), war room and close fields."""
    return {
        "id": kind(incident["id"]),
        "version": kind(incident["version"]),
        "status": kind(incident["status"]),
        "created": kind(xsoar_epoch(incident["created"])),
        "modified": kind(xsoar_epoch(incident["modified"])),
        "closed": kind(xsoar_epoch(incident["closed"])),  # XSOAR's zero time of an open incident: None
        "investigationId": kind(incident["investigationId"]),
        "closeReason": kind(incident["closeReason"]),
        "closeNotes": kind(incident["closeNotes"]),
        "closingUserId": kind(incident["closingUserId"]),
        "CustomFields": kind(incident["CustomFields"]),
    }


def entry_reading(entry: dict[str, Any]) -> dict[str, str]:
    """What Incident Updated and Update Incident read of a war-room entry, as types."""
    return {
        "id": kind(entry["id"]),
        "created": kind(xsoar_epoch(entry["created"])),
        "contents": kind(entry["contents"]),
        "note": kind(entry["note"]),
        "type": kind(entry["type"]),
        "user": kind(entry["user"]),
    }


def test_the_search_sample_reads_as_the_simulators_search_answer(xsoar, client):
    real = sample("xsoar_incidents_search_answer.json")
    xsoar.faults.script(Fault(status=200, raw_body=json.dumps(real)), path_contains="/incidents/search")
    [from_sample] = client.search_incidents({"query": "alertid:*"})
    xsoar.add_incident({"name": "Alert", "createInvestigation": True, "CustomFields": {"alertid": "AL1"}}, "api")
    [simulated] = client.search_incidents({"query": "alertid:*"})
    assert incident_reading(from_sample) == incident_reading(simulated)
    assert incident_reading(from_sample)["closed"] == "NoneType"  # open: the zero time is no time
    assert (from_sample["status"], simulated["status"]) == (1, 1)
    sample_keys = set(real["data"][0]) | {"dbotMirrorId", "closeNotes"}
    assert set(simulated) - sample_keys <= {"createInvestigation"}  # no field the real answer lacks but this one


def test_the_investigation_sample_reads_as_the_simulators_war_room_answer(xsoar, client):
    real = sample("xsoar_investigation_with_entries.json")
    xsoar.faults.script(Fault(status=200, raw_body=json.dumps(real)), path_contains="/investigation/")
    [from_sample] = client.investigation_entries("899", 50, from_time=0)
    incident = xsoar.add_incident({"name": "Alert", "createInvestigation": True}, "api")
    xsoar.note_as_person(incident["id"], "checked", user="admin", note=False)
    [simulated] = client.investigation_entries(incident["id"], 50, from_time=0)
    assert entry_reading(from_sample) == entry_reading(simulated)
    assert not is_persons_note(from_sample) and not is_persons_note(simulated)  # neither is a note
    assert set(simulated) <= set(real["entries"][0])  # every field the simulator answers, the real entry has
    answered = set(json.loads(xsoar.requests[-1]["body"]))
    assert answered == {"pageSize", "fromTime"}  # as Palo Alto's XSOAR-to-XSOAR mirroring reads it
