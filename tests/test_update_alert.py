"""Update Alert run as the platform runs it against the Sekoia.io simulator: workflow, comments, idempotence."""

import pytest

from lab.faults import Fault
from lab.sekoia_simulator import SekoiaSimulator
from lab.sekoia_simulator.workflow import STRICT_WORKFLOW
from tests.support import SEKOIA_KEY, assert_no_secret
from xsoar_module.mapping.sync import AUTHOR, MARKER, is_marked

ACTION = "UpdateAlert"
# every argument the shipped playbook passes, as a null renders when the trigger's event has no such field
UNUSED = {"short_id": "", "alert_uuid": None, "change": "None", "close_reason": "", "comment": "None", "note": ""}


@pytest.fixture
def sekoia():
    with SekoiaSimulator(api_key=SEKOIA_KEY, seed_samples=False) as simulator:
        yield simulator


def configuration(sekoia: SekoiaSimulator) -> dict:
    return {"base_url": sekoia.url, "api_key": SEKOIA_KEY, "xsoar_url": "http://127.0.0.1:9/unused"}


def update(symphony, sekoia, data_path, **arguments):
    run = symphony.run_action(ACTION, configuration(sekoia), UNUSED | arguments, data_path=data_path, in_process=True)
    assert_no_secret(run.results, run.logs, run.error)
    return run


def status_of(sekoia: SekoiaSimulator, alert: dict) -> str:
    return next(a for a in sekoia.alerts() if a["uuid"] == alert["uuid"])["status"]["name"]


def test_a_closure_sets_the_status_with_the_close_notes_once(symphony, sekoia, data_path):
    alert = sekoia.add_alert(events=0)
    arguments = {"short_id": alert["short_id"], "change": "closed", "close_reason": "Resolved", "comment": "done"}
    run = update(symphony, sekoia, data_path, **arguments)
    assert run.error is None, run.error
    assert run.results == {
        "alert_uuid": alert["uuid"],
        "status_name": "Closed",
        "action": "status_changed",
        "superseded_by": None,
    }
    [entry] = sekoia.history_of(alert["uuid"])
    assert entry["alert"]["action"] == "Close" and entry["comment"] == f"done\n\n{MARKER}"
    assert entry["created_by"] == sekoia.actor_of(SEKOIA_KEY).uuid

    replay = update(symphony, sekoia, data_path, **arguments)
    assert replay.results == {
        "alert_uuid": alert["uuid"],
        "status_name": "Closed",
        "action": "unchanged",
        "superseded_by": None,
    }
    assert len(sekoia.history_of(alert["uuid"])) == 1 and sekoia.comments_of(alert["uuid"]) == []


@pytest.mark.parametrize(
    ("arguments", "expected"),
    [
        ({"change": "closed", "close_reason": "False Positive"}, "Rejected"),
        ({"change": "closed", "close_reason": None}, "Closed"),
        (
            {"change": "closed", "close_reason": "Duplicate", "status_by_close_reason": {"Duplicate": "rejected"}},
            "Rejected",
        ),
        ({"status": "ongoing"}, "Ongoing"),
        ({"status": "Acknowledged", "change": "closed"}, "Acknowledged"),
    ],
)
def test_the_status_comes_from_status_or_the_close_reason(symphony, sekoia, data_path, arguments, expected):
    alert = sekoia.add_alert(events=0)
    run = update(symphony, sekoia, data_path, alert_uuid=alert["uuid"], **arguments)
    assert run.error is None, run.error
    assert run.results["status_name"] == expected == status_of(sekoia, alert)


def test_a_reopening_acknowledges_a_closed_alert(symphony, sekoia, data_path):
    alert = sekoia.add_alert(events=0)
    sekoia.change_status_as_person(alert["uuid"], "Closed")
    run = update(symphony, sekoia, data_path, alert_uuid=alert["uuid"], change="reopened")
    assert run.results["action"] == "status_changed" and status_of(sekoia, alert) == "Acknowledged"


def test_a_step_by_step_workflow_is_walked_and_said(symphony, sekoia, data_path):
    sekoia.workflow = STRICT_WORKFLOW
    alert = sekoia.add_alert(events=0)
    run = update(symphony, sekoia, data_path, alert_uuid=alert["uuid"], status="Closed", comment="fixed")
    assert run.error is None, run.error
    assert run.results["action"] == "status_changed" and status_of(sekoia, alert) == "Closed"
    history = sekoia.history_of(alert["uuid"])
    assert [entry["alert"]["action"] for entry in history] == ["Acknowledge", "Validate", "Close"]
    assert [is_marked(entry["comment"]) for entry in history] == [False, False, True]  # the comment goes last
    assert "to Closed through Acknowledged, Ongoing" in run.logs


def test_an_unreachable_status_names_both_statuses(symphony, sekoia, data_path):
    sekoia.workflow = STRICT_WORKFLOW
    alert = sekoia.add_alert(events=0)
    sekoia.change_status_as_person(alert["uuid"], "Acknowledged")
    sekoia.change_status_as_person(alert["uuid"], "Ongoing")
    run = update(symphony, sekoia, data_path, alert_uuid=alert["uuid"], status="Acknowledged")
    assert run.results is None
    assert "offers no way from status Ongoing to Acknowledged" in run.error and "Close, Reject" in run.error


def test_a_comment_alone_is_added_once_with_the_module_as_author(symphony, sekoia, data_path):
    alert = sekoia.add_alert(events=0)
    for expected in ("commented", "unchanged"):
        run = update(symphony, sekoia, data_path, alert_uuid=alert["uuid"], comment="checked the host")
        assert run.results == {
            "alert_uuid": alert["uuid"],
            "status_name": "Pending",
            "action": expected,
            "superseded_by": None,
        }
    [comment] = sekoia.comments_of(alert["uuid"])
    assert comment["author"] == AUTHOR and comment["content"] == f"checked the host\n\n{MARKER}"


def test_a_note_is_mirrored_once_by_its_id(symphony, sekoia, data_path):
    alert = sekoia.add_alert(events=0)
    note = {"id": "12@7", "content": "contained", "user": "bob"}
    arguments = {"short_id": alert["short_id"], "change": "note", "note": note, "incident_id": "7"}
    assert update(symphony, sekoia, data_path, **arguments).results["action"] == "commented"
    assert update(symphony, sekoia, data_path, **arguments).results["action"] == "unchanged"
    edited = update(symphony, sekoia, data_path, **(arguments | {"note": note | {"content": "contained (edited)"}}))
    assert edited.results["action"] == "unchanged"  # the same note id: already mirrored
    [comment] = sekoia.comments_of(alert["uuid"])
    assert comment["content"].startswith("contained\n\n(bob in Cortex XSOAR incident 7, XSOAR note 12@7)")


def test_the_module_own_texts_are_not_written_back(symphony, sekoia, data_path):
    alert = sekoia.add_alert(events=0)
    run = update(symphony, sekoia, data_path, alert_uuid=alert["uuid"], comment=f"mirrored\n\n{MARKER}")
    assert run.results["action"] == "unchanged" and sekoia.comments_of(alert["uuid"]) == []


def test_a_transition_without_answer_is_checked_then_sent_again_once(symphony, sekoia, data_path):
    alert = sekoia.add_alert(events=0)
    sekoia.faults.script(Fault(reset=True), method="PATCH", path_contains="/workflow")
    run = update(symphony, sekoia, data_path, alert_uuid=alert["uuid"], status="Rejected")
    assert run.error is None, run.error
    assert run.results["action"] == "status_changed" and len(sekoia.history_of(alert["uuid"])) == 1


@pytest.mark.parametrize(
    ("arguments", "expected"),
    [
        ({}, "give alert_uuid or short_id"),
        ({"alert_uuid": "x", "status": "Pending"}, "status: Value error, Pending cannot be set"),
        ({"alert_uuid": "x", "status": "Done"}, "status: Value error, 'Done' is not a Sekoia.io status"),
        ({"alert_uuid": "x", "change": "deleted"}, "change: Value error, 'deleted' is not a change"),
        ({"alert_uuid": "AL-none", "status": "Closed"}, "Sekoia.io found no alert AL-none (404)"),
    ],
)
def test_errors_name_the_argument(symphony, sekoia, data_path, arguments, expected):
    run = update(symphony, sekoia, data_path, **arguments)
    assert run.results is None and expected in run.error and "Traceback" not in run.error
