"""Update Incident through the SDK protocol against the XSOAR simulator: close, reopen, notes, idempotence."""

import json
import time
from pathlib import Path

import pytest

from lab.doubles.faults import Fault
from tests.support import SEKOIA_KEY, XSOAR_API_KEY, XSOAR_TOKEN, assert_no_secret
from xsoar_module.sync.marker import is_marked
from xsoar_module.sync.texts import is_closure_note, is_reopen_note, sekoia_comment_uuid

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
        "xsoar_command_investigation_id": xsoar.playground_id,
    }


@pytest.fixture
def incident(xsoar) -> dict:
    """The incident Create Incident made for the alert (alertid, the pack's uuid field, a war room)."""
    fields = {"alertid": SHORT_ID, "sekoiaioalertuuid": UUID}
    return xsoar.add_incident({"name": "Alert", "CustomFields": fields, "createInvestigation": True}, "api")


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
    assert "alice (Sekoia.io comment c-77): seen on **3 hosts**" in stored["closeNotes"]
    assert is_marked(stored["closeNotes"])


def test_an_open_status_reopens_a_closed_incident_with_a_marked_note(symphony, xsoar, config, data_path, incident):
    xsoar.close_as_person(incident["id"], "Resolved", "done")
    results = run(symphony, config, data_path, short_id=SHORT_ID, status="Acknowledged", comment="")
    assert results["action"] == "reopened" and xsoar.incident(incident["id"])["status"] == 1
    assert [text for text in entries(xsoar, incident) if is_reopen_note(text)]
    assert run(symphony, config, data_path, short_id=SHORT_ID, status="Acknowledged")["action"] == "unchanged"


def test_a_reopen_xsoar_refuses_fails_the_run_naming_the_setting_and_writes_nothing(
    symphony, xsoar, config, data_path, incident
):
    xsoar.close_as_person(incident["id"])
    xsoar.faults.script(
        Fault(status=200, raw_body='[{"type": 4, "contents": "reopenInvestigation is not allowed"}]'),
        path_contains="/entry/execute/sync",
    )
    outcome = symphony.run_action(
        "UpdateIncident", config, {"short_id": SHORT_ID, "status": "Ongoing"}, data_path=data_path, in_process=True
    )
    assert outcome.results is None and "did not reopen incident" in outcome.error
    assert "not allowed" in outcome.error and "xsoar_command_investigation_id" in outcome.error
    assert xsoar.incident(incident["id"])["status"] == 2 and entries(xsoar, incident) == []


@pytest.mark.parametrize(
    ("setting", "expected"),
    [
        (None, "xsoar_command_investigation_id is empty"),
        ("nowhere", "check xsoar_command_investigation_id"),  # 400 Could not find investigation
        ("closed", "check xsoar_command_investigation_id"),  # 412 In case of closed investigation
    ],
)
def test_the_reopening_needs_an_open_command_investigation(
    symphony, xsoar, config, data_path, incident, setting, expected
):
    if setting == "closed":
        other = xsoar.add_incident({"name": "other", "createInvestigation": True}, "api")
        xsoar.close_as_person(other["id"])
        setting = other["id"]
    xsoar.close_as_person(incident["id"])
    arguments = {"short_id": SHORT_ID, "status": "Acknowledged"}
    outcome = symphony.run_action(
        "UpdateIncident", config | {"xsoar_command_investigation_id": setting}, arguments, data_path=data_path
    )
    assert outcome.results is None and expected in outcome.error and "Traceback" not in outcome.error
    assert xsoar.incident(incident["id"])["status"] == 2
    assert_no_secret(outcome.error, outcome.logs)


def test_the_reopening_runs_from_the_command_investigation_with_the_incidents_id(
    symphony, xsoar, config, data_path, incident
):
    xsoar.close_as_person(incident["id"])
    assert run(symphony, config, data_path, short_id=SHORT_ID, status="Ongoing", comment=COMMENT)["action"] == (
        "reopened"
    )
    [command] = [json.loads(r["body"]) for r in xsoar.requests if r["path"].endswith("/entry/execute/sync")]
    assert command == {"investigationId": xsoar.playground_id, "data": f"!reopenInvestigation id={incident['id']}"}
    texts = entries(xsoar, incident)
    assert len(texts) == 2 and is_reopen_note(texts[0]) and sekoia_comment_uuid(texts[1]) == "c-77"


def test_a_reopening_refused_because_a_person_reopened_meanwhile_is_unchanged(
    symphony, xsoar, config, data_path, incident
):
    xsoar.close_as_person(incident["id"])
    xsoar.faults.script(
        Fault(status=200, raw_body='[{"type": 4, "contents": "Incident is not closed"}]'),
        path_contains="/entry/execute/sync",
    )
    xsoar.reopen_as_person(incident["id"])  # after Update Incident's search, as far as the module can tell
    stale = {"total": 1, "data": [{k: v for k, v in xsoar.incident(incident["id"]).items() if k != "entries"}]}
    stale["data"][0] |= {"status": 2}
    xsoar.faults.script(Fault(status=200, raw_body=json.dumps(stale)), path_contains="/incidents/search")
    assert run(symphony, config, data_path, short_id=SHORT_ID, status="Ongoing")["action"] == "unchanged"
    assert entries(xsoar, incident) == []


def test_a_comment_is_written_once_per_uuid(symphony, xsoar, config, data_path, incident):
    arguments = {"alert_uuid": UUID, "short_id": SHORT_ID, "status": "", "comment": COMMENT}
    assert run(symphony, config, data_path, **arguments)["action"] == "noted"
    assert run(symphony, config, data_path, **arguments)["action"] == "unchanged"
    [entry] = xsoar.incident(incident["id"])["entries"]
    assert sekoia_comment_uuid(entry["contents"]) == "c-77" and entry["format"] == "markdown"
    assert "seen on **3 hosts**" in entry["contents"] and "alice" in entry["contents"]
    plain = {"short_id": SHORT_ID, "comment": "a plain text"}
    assert [run(symphony, config, data_path, **plain)["action"] for _ in range(2)] == ["noted", "unchanged"]


@pytest.mark.parametrize(
    "forged",
    [
        "Mirrored already: Sekoia.io comment c-77",  # a person quoting the tag
        "**alice** commented on Sekoia.io alert ALsync1 (Sekoia.io comment c-77):\n\nseen on **3 hosts**\n\n"
        "[synced by the Sekoia.io XSOAR module]",  # a person's note copying the whole entry, marker included
    ],
)
def test_a_persons_note_quoting_the_comments_tag_does_not_drop_the_comment(
    symphony, xsoar, config, data_path, incident, forged
):
    """Hostile sync input, class 1: only the module's own entries (marked, not a person's note) with the comment's tag
    and text count as its mirror."""
    xsoar.note_as_person(incident["id"], forged, user="mallory")
    assert run(symphony, config, data_path, short_id=SHORT_ID, comment=COMMENT)["action"] == "noted"
    assert [sekoia_comment_uuid(text) for text in entries(xsoar, incident)][-1] == "c-77"


def test_a_comment_for_a_closed_incident_is_appended_to_its_details_once(symphony, xsoar, config, data_path, incident):
    xsoar.close_as_person(incident["id"], "Resolved", "fixed the host", user="bob")
    arguments = {"short_id": SHORT_ID, "status": "Ongoing", "comment": COMMENT, "changed_at": 1.0}  # superseded
    results = run(symphony, config, data_path, **arguments)
    assert results["action"] == "noted" and "bob" in results["superseded_by"]
    stored = xsoar.incident(incident["id"])
    assert stored["status"] == 2 and stored["entries"] == []  # nothing written into the closed war room
    assert stored["details"].startswith("---\n**alice** commented on Sekoia.io alert ALsync1")
    assert "(Sekoia.io comment c-77)" in stored["details"] and "seen on **3 hosts**" in stored["details"]
    assert stored["closeNotes"] == "fixed the host"
    assert run(symphony, config, data_path, **arguments)["action"] == "unchanged"
    assert xsoar.count("POST", "/incident") - xsoar.count("POST", "/incidents") - xsoar.count("POST", "batch") == 1
    long = COMMENT | {"uuid": "c-78", "content": "x" * 5000}
    assert run(symphony, config, data_path, short_id=SHORT_ID, comment=long)["action"] == "noted"
    assert "x" * 4000 + " [truncated]" in xsoar.incident(incident["id"])["details"]


def test_a_comment_appended_to_a_closed_incident_outlives_its_reopening_and_a_new_closure(
    symphony, xsoar, config, data_path, incident
):
    """Found by the sync soak: close notes are replaced by each closure, so a comment kept there was lost."""
    xsoar.close_as_person(incident["id"], "Resolved", "fixed")
    assert run(symphony, config, data_path, short_id=SHORT_ID, comment=COMMENT)["action"] == "noted"
    assert run(symphony, config, data_path, short_id=SHORT_ID, status="Ongoing")["action"] == "reopened"
    xsoar.close_as_person(incident["id"], "Resolved", "fixed again")
    assert "(Sekoia.io comment c-77)" in xsoar.incident(incident["id"])["details"]
    assert run(symphony, config, data_path, short_id=SHORT_ID, comment=COMMENT)["action"] == "unchanged"


def test_a_closed_incident_whose_details_are_full_keeps_them_and_says_so(symphony, xsoar, config, data_path, incident):
    xsoar.incident(incident["id"])["details"] = "d" * 65530
    xsoar.close_as_person(incident["id"], "Resolved", "done")
    outcome = symphony.run_action(
        "UpdateIncident", config, {"short_id": SHORT_ID, "comment": COMMENT}, data_path=data_path, in_process=True
    )
    assert outcome.results["action"] == "unchanged" and "details are full" in outcome.logs
    assert xsoar.incident(incident["id"])["details"] == "d" * 65530


# Every combination playbooks/sync_alert_changes_to_xsoar.json sends (Alert Updated: a status change with or without
# its workflow comment, a comment with the alert's status), on an open and on a closed incident: the second run of the
# same arguments says `unchanged` and sends XSOAR no write.
REPLAYS = [
    ("open", {"status": "Closed", "comment": "None"}, "closed"),
    ("open", {"status": "Closed", "comment": COMMENT}, "closed"),
    ("open", {"status": "Rejected", "comment": COMMENT, "changed_at": "later"}, "closed"),
    ("open", {"status": "Acknowledged", "comment": "None"}, "unchanged"),
    ("open", {"status": "Ongoing", "comment": COMMENT}, "noted"),
    ("closed", {"status": "Ongoing", "comment": "None"}, "reopened"),
    ("closed", {"status": "Acknowledged", "comment": COMMENT, "changed_at": "later"}, "reopened"),
    ("closed", {"status": "Closed", "comment": COMMENT}, "noted"),
    ("closed", {"status": "Rejected", "comment": COMMENT, "changed_at": "later"}, "closed"),
]
WRITES = ("/entry", "batchClose", "/incident")


def writes(xsoar) -> int:
    return sum(1 for r in xsoar.requests if r["path"].endswith(WRITES) or "/entry/" in r["path"])


@pytest.mark.parametrize(("state", "arguments", "first"), REPLAYS)
def test_a_replay_changes_nothing_and_says_unchanged(
    symphony, xsoar, config, data_path, incident, state, arguments, first
):
    if state == "closed":
        xsoar.close_as_person(incident["id"], "Resolved", "done", user="bob")
    arguments = {"alert_uuid": UUID, "short_id": SHORT_ID} | arguments
    if arguments.get("changed_at") == "later":  # a change after the person's closure (the later change wins)
        arguments["changed_at"] = time.time() + 5
    assert run(symphony, config, data_path, **arguments)["action"] == first
    before = writes(xsoar)
    assert run(symphony, config, data_path, **arguments)["action"] == "unchanged"
    assert writes(xsoar) == before


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


@pytest.mark.parametrize(
    "answered",
    [
        [{"id": "41", "CustomFields": {"alertid": "ALother"}}],  # an XSOAR that ignored the query
        [{"CustomFields": {"alertid": SHORT_ID}}],  # an incident without id
    ],
)
def test_an_incident_not_carrying_the_alerts_identity_is_never_changed(
    symphony, xsoar, config, data_path, incident, answered
):
    """Hostile sync input, class 4: the incident found must carry the alert's identity and an id."""
    xsoar.faults.script(
        Fault(status=200, raw_body=json.dumps({"total": 1, "data": answered})), path_contains="/incidents/search"
    )
    outcome = symphony.run_action(
        "UpdateIncident", config, {"short_id": SHORT_ID, "status": "Closed"}, data_path=data_path, in_process=True
    )
    assert outcome.results is None and "do not carry it" in outcome.error and "nothing is changed" in outcome.error
    assert xsoar.count("POST", "batchClose") == 0 and xsoar.incident(incident["id"])["status"] == 1


def test_lookups_are_single_term_queries_on_alertid_then_the_uuid(symphony, xsoar, config, data_path, incident):
    assert run(symphony, config, data_path, short_id=SHORT_ID, alert_uuid=UUID)["found"]
    assert run(symphony, config, data_path, short_id="ALelse", alert_uuid=UUID)["found"]
    queries = [
        json.loads(r["body"])["filter"].get("query") for r in xsoar.requests if "/incidents/search" in r["path"]
    ]
    assert queries == [
        f'alertid:"{SHORT_ID}"',
        'alertid:"ALelse"',
        'dbotMirrorId:"ALelse"',  # incidents of the module's first versions
        f'sekoiaioalertuuid:"{UUID}"',
    ]


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
