"""Update Incident through the SDK protocol against the XSOAR simulator: close, reopen, notes, idempotence."""

import json
from pathlib import Path

import pytest

from lab.faults import Fault
from tests.support import SEKOIA_KEY, XSOAR_API_KEY, XSOAR_TOKEN, assert_no_secret
from xsoar_module.mapping.sync import is_closure_note, is_marked, is_reopen_note, sekoia_comment_uuid

SAMPLES = Path(__file__).resolve().parent.parent / "lab" / "samples"
SHORT_ID, UUID = "ALsync1", "0b7a1e6c-2f4d-4f7e-9a1b-3c5d7e9f1a2b"
COMMENT = {
    "uuid": "c-77",
    "content": "seen on **3 hosts**",
    "author": "alice",
    "created_by": "u-1",
    "created_by_type": "avatar",
}


@pytest.fixture
def config(xsoar) -> dict:
    return {
        "api_key": "unused",
        "xsoar_url": xsoar.api_url_v8,
        "xsoar_mode": "api",
        "xsoar_api_key": XSOAR_API_KEY,
        "xsoar_api_key_id": "17",
    }


@pytest.fixture
def incident(xsoar) -> dict:
    """The incident Create Incident made for the alert (alertid, the pack's uuid field, a war room)."""
    fields = {"alertid": SHORT_ID, "sekoiaioalertuuid": UUID}
    return xsoar._store({"name": "Alert", "CustomFields": fields, "createInvestigation": True}, "api")


def run(symphony, config, data_path, **arguments):
    outcome = symphony.run_action("UpdateIncident", config, arguments, data_path=data_path, in_process=True)
    assert outcome.error is None, outcome.error
    assert_no_secret(outcome.results, outcome.logs)
    return outcome.results


def entries(xsoar, incident) -> list[str]:
    return [entry["contents"] for entry in xsoar.incident(incident["id"])["entries"]]


@pytest.mark.parametrize(("status", "reason"), [("Closed", "Resolved"), ("Rejected", "False Positive")])
def test_a_closing_status_closes_once_with_its_reason_and_marked_notes(
    symphony, xsoar, config, data_path, incident, status, reason
):
    arguments = {"alert_uuid": UUID, "short_id": SHORT_ID, "status": status, "comment": "None"}
    assert run(symphony, config, data_path, **arguments) == {
        "incident_id": incident["id"],
        "found": True,
        "action": "closed",
        "superseded_by": None,
        "updated_fields": None,
        "unchanged_because": None,
    }
    stored = xsoar.incident(incident["id"])
    assert (stored["status"], stored["closeReason"]) == (2, reason)
    assert is_marked(stored["closeNotes"]) and f"{SHORT_ID} is {status}" in stored["closeNotes"]
    assert [text for text in entries(xsoar, incident) if is_closure_note(text)]  # Incident Updated knows it by this
    assert run(symphony, config, data_path, **arguments)["action"] == "unchanged"
    assert xsoar.count("POST", "batchClose") == 1


def test_close_reasons_override_and_a_comment_becomes_the_close_notes(symphony, xsoar, config, data_path, incident):
    results = run(
        symphony,
        config,
        data_path,
        alert_uuid=UUID,
        status="rejected",
        comment=COMMENT,
        close_reasons={"rejected": "Duplicate"},
    )
    stored = xsoar.incident(incident["id"])
    assert results["action"] == "closed" and stored["closeReason"] == "Duplicate"
    assert "alice: seen on **3 hosts**" in stored["closeNotes"] and is_marked(stored["closeNotes"])


def test_an_open_status_reopens_a_closed_incident_with_a_marked_note(symphony, xsoar, config, data_path, incident):
    xsoar.close_as_person(incident["id"], "Resolved", "done")
    results = run(symphony, config, data_path, short_id=SHORT_ID, status="Acknowledged", comment="")
    assert results["action"] == "reopened" and xsoar.incident(incident["id"])["status"] == 1
    assert [text for text in entries(xsoar, incident) if is_reopen_note(text)]
    assert run(symphony, config, data_path, short_id=SHORT_ID, status="Acknowledged")["action"] == "unchanged"


def test_a_reopen_xsoar_refuses_leaves_a_note_saying_so(symphony, xsoar, config, data_path, incident):
    xsoar.close_as_person(incident["id"])
    xsoar.faults.script(
        Fault(status=200, raw_body='[{"type": 4, "contents": "reopenInvestigation is not allowed"}]'),
        path_contains="/entry/execute/sync",
    )
    results = run(symphony, config, data_path, short_id=SHORT_ID, status="Ongoing")
    assert results["action"] == "noted" and xsoar.incident(incident["id"])["status"] == 2
    [note] = entries(xsoar, incident)
    assert "did not reopen" in note and "not allowed" in note and is_marked(note)
    xsoar.faults.script(
        Fault(status=200, raw_body='[{"type": 4, "contents": "reopenInvestigation is not allowed"}]'),
        path_contains="/entry/execute/sync",
    )
    assert run(symphony, config, data_path, short_id=SHORT_ID, status="Ongoing")["action"] == "unchanged"
    assert len(entries(xsoar, incident)) == 1


def test_a_comment_is_written_once_per_uuid(symphony, xsoar, config, data_path, incident):
    arguments = {"alert_uuid": UUID, "short_id": SHORT_ID, "status": "", "comment": COMMENT}
    assert run(symphony, config, data_path, **arguments)["action"] == "noted"
    assert run(symphony, config, data_path, **arguments)["action"] == "unchanged"
    [entry] = xsoar.incident(incident["id"])["entries"]
    assert sekoia_comment_uuid(entry["contents"]) == "c-77" and entry["format"] == "markdown"
    assert "seen on **3 hosts**" in entry["contents"] and "alice" in entry["contents"]
    edited = COMMENT | {"content": "edited"}  # the same Sekoia.io comment: mirrored already
    assert run(symphony, config, data_path, **arguments | {"comment": edited})["action"] == "unchanged"
    plain = {"short_id": SHORT_ID, "comment": "a plain text"}
    assert [run(symphony, config, data_path, **plain)["action"] for _ in range(2)] == ["noted", "unchanged"]


def test_a_comment_object_rendered_as_json_text_is_read_back(symphony, xsoar, config, data_path, incident):
    text = '{"uuid": "c-9", "content": "json", "author": "bob"}'
    assert run(symphony, config, data_path, short_id=SHORT_ID, comment=text)["action"] == "noted"
    assert sekoia_comment_uuid(entries(xsoar, incident)[0]) == "c-9"


def test_without_the_war_room_read_the_comment_is_written_with_a_warning(symphony, xsoar, config, data_path, incident):
    xsoar.faults.script(Fault(status=405), Fault(status=405), path_contains="/investigation/")
    outcome = symphony.run_action(
        "UpdateIncident", config, {"short_id": SHORT_ID, "comment": COMMENT}, data_path=data_path, in_process=True
    )
    assert outcome.results["action"] == "noted" and len(entries(xsoar, incident)) == 1
    assert "does not serve POST /investigation/" in outcome.logs


def test_an_alert_without_incident_is_not_found(symphony, xsoar, config, data_path):
    assert run(symphony, config, data_path, short_id="ALnone", status="Closed") == {
        "incident_id": None,
        "found": False,
        "action": "not_found",
        "superseded_by": None,
        "updated_fields": None,
        "unchanged_because": None,
    }


def test_webhook_configuration_with_an_api_key_reaches_the_api(symphony, xsoar, data_path, incident):
    config = {"api_key": "unused", "xsoar_url": xsoar.webhook_url, "xsoar_token": XSOAR_TOKEN}
    config |= {"xsoar_api_key": XSOAR_API_KEY}
    assert run(symphony, config, data_path, short_id=SHORT_ID, status="Closed")["action"] == "closed"


@pytest.mark.parametrize(
    ("configuration", "arguments", "expected"),
    [
        ({"xsoar_mode": "webhook", "xsoar_api_key": None}, {"short_id": SHORT_ID}, "needs its REST API"),
        ({}, {"status": "Closed"}, "give alert_uuid or short_id"),
        ({}, {"short_id": SHORT_ID, "status": "Done"}, "status"),
        ({"xsoar_api_key": "wrong"}, {"short_id": SHORT_ID}, "xsoar_api_key"),
    ],
)
def test_errors_name_what_to_change(symphony, xsoar, config, data_path, configuration, arguments, expected):
    config |= configuration
    outcome = symphony.run_action("UpdateIncident", config, arguments, data_path=data_path, in_process=True)
    assert outcome.results is None and expected in outcome.error and "Traceback" not in outcome.error
    assert_no_secret(outcome.error, outcome.logs)


@pytest.mark.parametrize("mode", ["webhook", "api"])
def test_the_incident_create_incident_made_is_found_by_either_identity(symphony, sekoia, xsoar, data_path, mode):
    """Create Incident's identity (webhook: the pack's mapper; API: the module's custom fields) is what Update
    Incident searches: the short ID, or the alert uuid alone (kept by the pack's incident type)."""
    alert = json.loads((SAMPLES / "alert.json").read_text())
    config = {
        "base_url": sekoia.url,
        "api_key": SEKOIA_KEY,
        "xsoar_url": xsoar.webhook_url,
        "xsoar_token": XSOAR_TOKEN,
    }
    config |= {"xsoar_api_key": XSOAR_API_KEY} | (
        {"xsoar_mode": "api", "xsoar_url": xsoar.url} if mode == "api" else {}
    )
    arguments = {"alert": alert, "incident_type": "Sekoia.io Alert"}  # the pack's type: its mapper keeps the uuid
    created = symphony.run_action("CreateIncident", config, arguments, data_path=data_path, in_process=True)
    assert created.error is None, created.error
    by_uuid = run(symphony, config, data_path, alert_uuid=alert["uuid"], short_id="None", status="Rejected")
    assert by_uuid["found"] and by_uuid["action"] == "closed"
    assert run(symphony, config, data_path, short_id=alert["short_id"], status="Closed")["action"] == "unchanged"
