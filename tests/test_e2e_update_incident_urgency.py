"""Update Incident's urgency, occurrences, last sighting and new events, over HTTP to both simulators: the incident
Create Incident made follows its alert."""

import copy
import json

import pytest

from lab.doubles.sekoia.queries import JOB_DONE
from tests.support import SEKOIA_KEY, XSOAR_API_KEY, assert_no_secret


@pytest.fixture
def config(sekoia, xsoar) -> dict:
    return {
        "base_url": sekoia.url,
        "api_key": SEKOIA_KEY,
        "xsoar_mode": "api",
        "xsoar_url": xsoar.api_url_v8,
        "xsoar_api_key": XSOAR_API_KEY,
        "xsoar_api_key_id": "17",
    }


@pytest.fixture
def alert(sekoia) -> dict:
    return sekoia.add_alert(notify=False, events=3, urgency={"current_value": 30, "value": 30, "display": "Moderate"})


@pytest.fixture
def incident(symphony, xsoar, config, data_path, alert) -> dict:
    """The incident Create Incident made for the alert, with its 3 events."""
    created = symphony.run_action(
        "CreateIncident",
        config,
        {"alert_uuid": alert["uuid"], "fetch_events": True, "incident_type": "Sekoia.io Alert"},
        data_path=data_path,
        in_process=True,
    )
    assert created.error is None, created.error
    return xsoar.incident(created.results["incident_id"])


def update(symphony, config, data_path, alert: dict, **arguments) -> dict:
    outcome = symphony.run_action(
        "UpdateIncident",
        config,
        {"alert_uuid": alert["uuid"], "short_id": alert["short_id"], "status": None, "comment": "None"} | arguments,
        data_path=data_path,
        in_process=True,
    )
    assert outcome.error is None, outcome.error
    assert_no_secret(outcome.results, outcome.logs)
    return outcome.results | {"logs": outcome.logs or ""}


def labels(incident: dict) -> dict:
    return {label["type"]: label["value"] for label in incident.get("labels") or []}


def event_ids(incident: dict) -> list[str]:
    return [event["__event_id"] for event in json.loads(incident["CustomFields"]["sekoiaioevents"])]


def test_a_risen_urgency_sets_the_severity_and_the_pack_fields_once(
    symphony, sekoia, xsoar, config, data_path, alert, incident
):
    assert incident["severity"] == 2 and incident["CustomFields"]["sekoiaiourgency"] == 30
    risen = sekoia.change_urgency(alert["uuid"], 85, new_events=2)
    arguments = {
        "urgency": {"value": 85, "display": "Urgent"},
        "occurrences": risen["similar"],
        "last_seen_at": risen["last_seen_at"],
    }
    version = incident["version"]
    results = update(symphony, config, data_path, alert, **arguments)
    assert results["action"] == "updated" and results["incident_id"] == incident["id"]
    assert results["updated_fields"] == ["labels", "sekoiaiourgency", "sekoiaiourgencyband", "severity"]
    assert "severity 2.0 -> 4.0" in results["logs"] and "sekoiaiourgency 30 -> 85" in results["logs"]
    stored = xsoar.incident(incident["id"])
    assert stored["severity"] == 4 and stored["version"] == version + 1
    assert (stored["CustomFields"]["sekoiaiourgency"], stored["CustomFields"]["sekoiaiourgencyband"]) == (85, "Urgent")
    assert stored["CustomFields"]["alertid"] == alert["short_id"]  # the other fields kept
    assert labels(stored)["Sekoia.io occurrences"] == "5"
    assert labels(stored)["Sekoia.io last seen"] == risen["last_seen_at"]
    assert labels(stored)["Sekoia.io alert ID"] == alert["short_id"]

    again = update(symphony, config, data_path, alert, **arguments)
    assert again["action"] == "unchanged" and "already has the alert's values" in again["unchanged_because"]
    assert xsoar.incident(incident["id"])["version"] == version + 1


@pytest.mark.parametrize(
    ("urgency", "severity", "band"), [(90, 4, "Urgent"), ("15", 1, "Low"), ('{"value": 45}', 3, "High")]
)
def test_an_urgency_as_a_number_or_text_gets_its_band_and_severity(
    symphony, xsoar, config, data_path, alert, incident, urgency, severity, band
):
    results = update(symphony, config, data_path, alert, urgency=urgency)
    stored = xsoar.incident(incident["id"])
    assert results["action"] == "updated" and stored["severity"] == severity
    assert stored["CustomFields"]["sekoiaiourgencyband"] == band


def test_a_closed_incident_is_neither_reopened_nor_rewritten(symphony, xsoar, config, data_path, alert, incident):
    xsoar.close_as_person(incident["id"], "Resolved", "done")
    before = xsoar.incident(incident["id"])
    results = update(symphony, config, data_path, alert, urgency=95, occurrences=9, fetch_events=True)
    assert results["action"] == "unchanged" and "is closed" in results["unchanged_because"]
    after = xsoar.incident(incident["id"])
    assert (after["status"], after["version"], after["severity"]) == (2, before["version"], before["severity"])


def test_fetch_events_appends_the_new_events_once_within_max_events(
    symphony, sekoia, xsoar, config, data_path, alert, incident
):
    first_three = event_ids(incident)
    assert len(first_three) == 3
    sekoia.change_urgency(alert["uuid"], 50, new_events=3)
    results = update(symphony, config, data_path, alert, fetch_events=True, max_events=5)
    assert results["action"] == "updated" and results["updated_fields"] == ["sekoiaioevents"]
    assert "3 event(s); 5 found" in results["logs"] and "2 appended" in results["logs"]
    ids = event_ids(xsoar.incident(incident["id"]))
    assert ids[:3] == first_three and len(ids) == len(set(ids)) == 5

    results = update(symphony, config, data_path, alert, fetch_events=True, max_events=10)
    ids = event_ids(xsoar.incident(incident["id"]))
    assert results["action"] == "updated" and len(ids) == len(set(ids)) == 6
    assert {event["__event_id"] for event in sekoia.events_of(alert["uuid"])} == set(ids)
    assert update(symphony, config, data_path, alert, fetch_events=True, max_events=10)["action"] == "unchanged"


@pytest.mark.parametrize("urgency", [101, "high", {"value": "x"}, True])
def test_a_bad_urgency_is_refused_naming_the_argument(symphony, config, data_path, alert, urgency):
    outcome = symphony.run_action(
        "UpdateIncident",
        config,
        {"short_id": alert["short_id"], "urgency": urgency},
        data_path=data_path,
        in_process=True,
    )
    assert outcome.error is not None and "urgency must be a number from 0 to 100" in outcome.error


def test_a_status_or_comment_run_of_the_sync_playbook_leaves_the_urgency_alone(
    symphony, xsoar, config, data_path, alert, incident
):
    rendered = {"urgency": "None", "occurrences": "None", "last_seen_at": "None", "fetch_events": "False"}
    results = update(symphony, config, data_path, alert, **rendered)
    assert results["action"] == "unchanged" and results["updated_fields"] is None
    assert xsoar.incident(incident["id"])["version"] == incident["version"]


def test_a_failed_events_search_still_writes_the_severity_and_says_so(
    symphony, sekoia, xsoar, config, data_path, alert, incident
):
    sekoia.job_final_status = 4  # failed (SEKOIA.md section 3)
    try:
        results = update(symphony, config, data_path, alert, urgency=85, fetch_events=True)
    finally:
        sekoia.job_final_status = JOB_DONE
    assert results["action"] == "updated" and "sekoiaioevents" not in results["updated_fields"]
    assert "could not be searched" in results["logs"] and xsoar.incident(incident["id"])["severity"] == 4


def test_an_urgency_older_than_the_one_written_is_not_applied(symphony, xsoar, config, data_path, alert, incident):
    """Two runs of one alert's urgency changes may end in either order: the later change stays."""
    later = update(symphony, config, data_path, alert, urgency=85, occurrences=4, changed_at=2000)
    assert later["action"] == "updated" and labels(xsoar.incident(incident["id"]))["Sekoia.io urgency changed at"] == (
        "1970-01-01T00:33:20Z"
    )
    older = update(symphony, config, data_path, alert, urgency=45, occurrences=3, changed_at=1999)
    assert older["action"] == "unchanged" and "has a later change of the alert" in older["unchanged_because"]
    stored = xsoar.incident(incident["id"])
    assert (
        stored["severity"],
        stored["CustomFields"]["sekoiaiourgency"],
        labels(stored)["Sekoia.io occurrences"],
    ) == (
        4,
        85,
        "4",
    )


def test_an_older_urgency_read_before_a_later_write_does_not_overwrite_it(
    symphony, xsoar, config, data_path, alert, incident
):
    """Two runs read the incident at the same moment; the later change writes first: the older one's write is
    refused as stale, computed again on the incident read again, and leaves the later values."""
    from xsoar_module.actions.incident_refresh import AlertFields, IncidentRefresh
    from xsoar_module.clients.xsoar import XsoarClient
    from xsoar_module.configuration import ModuleConfiguration
    from xsoar_module.models.alert import AlertUrgency
    from xsoar_module.sync.snapshots import Incident

    read_first = copy.deepcopy(xsoar.incident(incident["id"]))
    assert update(symphony, config, data_path, alert, urgency=85, changed_at=2000)["action"] == "updated"
    logs: list[str] = []
    with XsoarClient(ModuleConfiguration(**config)) as client:
        refresh = IncidentRefresh(
            client, Incident.of(read_first), alert["short_id"], lambda text, **_: logs.append(text), lambda: None
        )
        older = AlertUrgency(current_value=45, value=45, display="High")
        refreshed = refresh.apply(AlertFields(urgency=older, changed_at=1999))
    assert refreshed.action == "unchanged" and "later change of the alert meanwhile" in (refreshed.why or "")
    stored = xsoar.incident(incident["id"])
    assert (stored["severity"], stored["CustomFields"]["sekoiaiourgency"]) == (4, 85)
    assert stored["version"] == read_first["version"] + 1  # the later write only: nothing left to write after it
