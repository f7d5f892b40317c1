"""Update Alert run as the platform runs it against the Sekoia.io simulator: workflow, comments, idempotence."""

import pytest

from lab.doubles.faults import Fault
from lab.doubles.sekoia import SekoiaSimulator
from lab.doubles.sekoia.workflow import PERMISSIVE_WORKFLOW
from tests.support import SEKOIA_KEY, assert_no_secret
from xsoar_module.sync.marker import AUTHOR, MARKER, is_marked

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
        "status_not_set_because": None,
    }
    closed, validated = sekoia.history_of(alert["uuid"])  # newest first: Pending -> Ongoing -> Closed
    assert (validated["alert"], closed["alert"]) == (
        {"status": "Ongoing", "previous_status": "Pending"},
        {"status": "Closed", "previous_status": "Ongoing"},
    )
    [told] = closed["history_comments"]
    assert told["content"] == f"done\n\n{MARKER}" and told["created_by"] == sekoia.actor_of(SEKOIA_KEY).uuid
    assert is_marked(validated["history_comments"][0]["content"])  # every step is marked as the module's
    comments = sekoia.comments_of(alert["uuid"])
    assert told["uuid"] in [comment["uuid"] for comment in comments] and len(comments) == 2

    replay = update(symphony, sekoia, data_path, **arguments)
    assert replay.results == {
        "alert_uuid": alert["uuid"],
        "status_name": "Closed",
        "action": "unchanged",
        "superseded_by": None,
        "status_not_set_because": None,
    }
    assert len(sekoia.history_of(alert["uuid"])) == 2 and len(sekoia.comments_of(alert["uuid"])) == 2


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


def close_by_person(sekoia: SekoiaSimulator, alert: dict, status: str = "Closed") -> None:
    """A person takes the alert to a final status through the documented workflow."""
    if status == "Closed":
        sekoia.change_status_as_person(alert["uuid"], "Ongoing")
    sekoia.change_status_as_person(alert["uuid"], status)


@pytest.mark.parametrize("final", ["Closed", "Rejected"])
def test_a_reopening_of_a_final_alert_is_a_comment_naming_the_incident_and_the_user(
    symphony, sekoia, data_path, final
):
    alert = sekoia.add_alert(events=0)
    close_by_person(sekoia, alert, final)
    arguments = {"alert_uuid": alert["uuid"], "change": "reopened", "incident_id": "42", "xsoar_user": "bob"}
    run = update(symphony, sekoia, data_path, changed_at=1_900_000_000, **arguments)
    assert run.error is None, run.error
    assert run.results["action"] == "commented" and run.results["status_name"] == final == status_of(sekoia, alert)
    assert f"offers no way from {final} to Acknowledged" in run.results["status_not_set_because"]
    [comment] = sekoia.comments_of(alert["uuid"])
    assert comment["author"] == AUTHOR and is_marked(comment["content"])
    assert comment["content"].startswith(
        f"Cortex XSOAR incident 42 was reopened by bob at 2030-03-17T17:46:40Z: the alert stays {final}"
    )
    for _ in range(2):  # the same change again: nothing new, and said
        replay = update(symphony, sekoia, data_path, changed_at=1_900_000_000, **arguments)
        assert replay.results["action"] == "unchanged" and replay.results["status_not_set_because"]
    assert len(sekoia.comments_of(alert["uuid"])) == 1
    later = update(symphony, sekoia, data_path, changed_at=1_900_000_600, **arguments)
    assert later.results["action"] == "commented"  # another reopening, later: told too
    assert len(sekoia.comments_of(alert["uuid"])) == 2


def test_a_closure_of_a_rejected_alert_is_a_comment_with_the_close_notes(symphony, sekoia, data_path):
    alert = sekoia.add_alert(events=0)
    close_by_person(sekoia, alert, "Rejected")
    arguments = {"short_id": alert["short_id"], "change": "closed", "close_reason": "Resolved", "comment": "fixed"}
    run = update(symphony, sekoia, data_path, **arguments)
    assert run.results["action"] == "commented" and status_of(sekoia, alert) == "Rejected"
    [comment] = sekoia.comments_of(alert["uuid"])
    assert "was closed (Resolved) by an XSOAR user: the alert stays Rejected" in comment["content"]
    assert "\n\nfixed\n\n" in comment["content"]
    assert update(symphony, sekoia, data_path, **arguments).results["action"] == "unchanged"


def test_a_reopening_of_an_open_alert_changes_nothing(symphony, sekoia, data_path):
    alert = sekoia.add_alert(events=0)
    sekoia.change_status_as_person(alert["uuid"], "Ongoing")
    run = update(symphony, sekoia, data_path, alert_uuid=alert["uuid"], change="reopened")
    assert run.results["action"] == "unchanged" and status_of(sekoia, alert) == "Ongoing"
    assert sekoia.comments_of(alert["uuid"]) == [] and run.results["status_not_set_because"] is None


def test_a_workflow_that_offers_the_reopening_is_followed(symphony, sekoia, data_path):
    """Should Sekoia.io offer Acknowledge from Closed (one public history shows an application do it), it is taken."""
    sekoia.workflow = PERMISSIVE_WORKFLOW
    alert = sekoia.add_alert(events=0)
    sekoia.change_status_as_person(alert["uuid"], "Closed")
    run = update(symphony, sekoia, data_path, alert_uuid=alert["uuid"], change="reopened")
    assert run.results["action"] == "status_changed" and status_of(sekoia, alert) == "Acknowledged"


@pytest.mark.parametrize(
    ("before", "target", "walked"),
    [
        ([], "Closed", ["Ongoing", "Closed"]),
        (["Acknowledged"], "Closed", ["Ongoing", "Closed"]),
        ([], "Rejected", ["Rejected"]),
        (["Acknowledged", "Ongoing"], "Rejected", ["Rejected"]),
        ([], "Ongoing", ["Ongoing"]),
    ],
)
def test_the_shortest_way_of_the_documented_workflow_is_walked_and_said(
    symphony, sekoia, data_path, before, target, walked
):
    alert = sekoia.add_alert(events=0)
    for status in before:
        sekoia.change_status_as_person(alert["uuid"], status)
    run = update(symphony, sekoia, data_path, alert_uuid=alert["uuid"], status=target, comment="fixed")
    assert run.error is None, run.error
    assert run.results["action"] == "status_changed" and status_of(sekoia, alert) == target
    history = [entry for entry in reversed(sekoia.history_of(alert["uuid"])) if entry["entry_type"] == "alert"]
    mine = history[len(before) :]
    assert [entry["alert"]["status"] for entry in mine] == walked
    assert mine[-1]["history_comments"][0]["content"] == f"fixed\n\n{MARKER}"  # the comment goes last
    if len(walked) > 1:
        assert f"to {target} through {', '.join(walked[:-1])}" in run.logs


def test_a_status_the_workflow_cannot_go_back_to_is_a_comment(symphony, sekoia, data_path):
    alert = sekoia.add_alert(events=0)
    sekoia.change_status_as_person(alert["uuid"], "Ongoing")
    run = update(symphony, sekoia, data_path, alert_uuid=alert["uuid"], status="Acknowledged")
    assert run.error is None, run.error
    assert run.results["action"] == "commented" and status_of(sekoia, alert) == "Ongoing"
    because = run.results["status_not_set_because"]
    assert "offers no way from Ongoing to Acknowledged" in because and "Close, Reject" in because


def test_a_comment_alone_is_added_once_with_the_module_as_author(symphony, sekoia, data_path):
    alert = sekoia.add_alert(events=0)
    for expected in ("commented", "unchanged"):
        run = update(symphony, sekoia, data_path, alert_uuid=alert["uuid"], comment="checked the host")
        assert run.results == {
            "alert_uuid": alert["uuid"],
            "status_name": "Pending",
            "action": expected,
            "superseded_by": None,
            "status_not_set_because": None,
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


def test_a_persons_comment_quoting_a_note_tag_does_not_stop_the_real_note(symphony, sekoia, data_path):
    """Hostile sync input, class 1: idempotence keys on the comments this module wrote (its API key and marker), never
    on a text a person can type, even a copy of the module's own text with its tag and marker."""
    alert = sekoia.add_alert(events=0)
    forged = f"fake\n\n(eve in Cortex XSOAR incident 7, XSOAR note 12@7)\n\n{MARKER}"
    sekoia.comment_as_person(alert["uuid"], forged, person="eve")
    note = {"id": "12@7", "content": "the real note", "user": "bob"}
    arguments = {"short_id": alert["short_id"], "change": "note", "note": note, "incident_id": "7"}
    assert update(symphony, sekoia, data_path, **arguments).results["action"] == "commented"
    assert update(symphony, sekoia, data_path, **arguments).results["action"] == "unchanged"
    contents = [comment["content"] for comment in sekoia.comments_of(alert["uuid"])]
    assert contents[0] == forged and contents[1].startswith("the real note") and len(contents) == 2


def test_a_persons_comment_of_the_same_text_does_not_stop_a_comment(symphony, sekoia, data_path):
    alert = sekoia.add_alert(events=0)
    sekoia.comment_as_person(alert["uuid"], f"checked\n\n{MARKER}", person="eve")
    run = update(symphony, sekoia, data_path, alert_uuid=alert["uuid"], comment="checked")
    assert run.results["action"] == "commented" and len(sekoia.comments_of(alert["uuid"])) == 2


@pytest.mark.parametrize(
    ("note", "expected"),
    [
        ({"id": "3", "user": "bob"}, "note: Value error, the note has no text (content NoneType)"),
        ({"id": "3", "content": "  ", "user": "bob"}, "note: Value error, the note has no text (content str)"),
        (
            {"id": "3", "content": {"text": "x"}, "user": ["bob"]},
            "note: Value error, the note has no text (content dict)",
        ),
        ({"id": "3", "content": "x", "user": ["bob"]}, "note: Value error, the note's user must be a text, not list"),
        ({"id": ["3"], "content": "x", "user": "bob"}, "note: Value error, the note's id must be a text, not list"),
    ],
)
def test_a_note_without_text_or_of_wrong_types_is_an_error_and_writes_nothing(
    symphony, sekoia, data_path, note, expected
):
    """Hostile sync input, class 2: an error rather than `unchanged`: the shipped playbook passes the trigger's note,
    which always has a text, so such a note is a wiring mistake to show, not a change to skip in silence."""
    alert = sekoia.add_alert(events=0)
    run = update(symphony, sekoia, data_path, short_id=alert["short_id"], change="note", note=note)
    assert run.results is None and expected in run.error and "Traceback" not in run.error
    assert sekoia.comments_of(alert["uuid"]) == []


@pytest.mark.parametrize("mapped", ["Pending", "pending", "2efc4930-1442-4abb-acf2-58ba219a4fd0"])
def test_a_close_reason_mapped_to_a_status_that_cannot_be_set_names_the_argument(symphony, sekoia, data_path, mapped):
    """Hostile sync input, class 3: an error naming the argument and the allowed statuses (was: failed unexpectedly:
    KeyError)"""
    alert = sekoia.add_alert(events=0)
    arguments = {"change": "closed", "close_reason": "Duplicate", "status_by_close_reason": {"Duplicate": mapped}}
    run = update(symphony, sekoia, data_path, alert_uuid=alert["uuid"], **arguments)
    assert run.results is None and "status_by_close_reason" in run.error
    assert "'Duplicate' maps to Pending, which cannot be set: give one of Acknowledged, Ongoing, Rejected, Closed" in (
        run.error
    )
    assert "KeyError" not in run.error and sekoia.history_of(alert["uuid"]) == []


def playbook_rendering(change: str, **fields) -> dict:
    """Update Alert's arguments as the shipped sync playbook renders an Incident Updated event of `change`."""
    rendered = {"change": change, "incident_id": "7", "changed_at": "1900000000", "follows_mirror": "False"}
    return rendered | {"close_reason": "None", "comment": "None", "note": "None"} | fields


REPLAYS = {
    "closure, pending alert": ([], playbook_rendering("closed", close_reason="Resolved", comment="fixed")),
    "closure as false positive, no notes": ([], playbook_rendering("closed", close_reason="False Positive")),
    "closure of an ongoing alert": (["Ongoing"], playbook_rendering("closed", close_reason="Other", comment="x")),
    "closure, alert closed by a person": (
        ["Ongoing", "Closed"],
        playbook_rendering("closed", close_reason="Resolved", comment="x", changed_at="2000000000"),
    ),
    "closure, alert rejected (final)": (
        ["Rejected"],
        playbook_rendering("closed", close_reason="Resolved", comment="x", changed_at="2000000000"),
    ),
    "closure superseded by a later change": (
        ["Acknowledged"],
        playbook_rendering("closed", close_reason="Resolved", comment="x", changed_at="1000000000"),
    ),
    "reopening, alert closed (final)": (
        ["Ongoing", "Closed"],
        playbook_rendering("reopened", changed_at="2000000000"),
    ),
    "reopening, alert open": (["Acknowledged"], playbook_rendering("reopened")),
    "note": ([], playbook_rendering("note", note={"id": "5@7", "content": "called the user", "user": "bob"})),
    "note, text": ([], playbook_rendering("note", note="a plain text")),
}


@pytest.mark.parametrize("case", list(REPLAYS))
def test_every_change_the_sync_playbook_sends_is_unchanged_when_given_again(symphony, sekoia, data_path, case):
    """Idempotent replays: the same change twice changes nothing the second time and says `unchanged`."""
    before, arguments = REPLAYS[case]
    alert = sekoia.add_alert(events=0)
    for status in before:
        sekoia.change_status_as_person(alert["uuid"], status)
    arguments = arguments | {"short_id": alert["short_id"], "alert_uuid": alert["uuid"]}
    first = update(symphony, sekoia, data_path, **arguments)
    assert first.error is None, first.error
    after_first = (sekoia.history_of(alert["uuid"]), sekoia.comments_of(alert["uuid"]))
    for _ in range(2):
        replay = update(symphony, sekoia, data_path, **arguments)
        assert replay.error is None, replay.error
        assert replay.results["action"] == "unchanged", (case, replay.results, replay.logs)
        assert (replay.results["status_name"], replay.results["superseded_by"]) == (
            first.results["status_name"],
            first.results["superseded_by"],
        )
        assert (sekoia.history_of(alert["uuid"]), sekoia.comments_of(alert["uuid"])) == after_first


def test_without_an_identity_from_me_its_own_changes_are_still_known(symphony, sekoia, data_path):
    """`GET /v1/me`'s body is unpublished: with none usable, the module's own transitions (an API key's, each with
    a marked comment) are still no rival to a later XSOAR change, while a person's are."""
    sekoia.me_identity = False
    alert = sekoia.add_alert(events=0)
    closing = {"change": "closed", "close_reason": "Resolved", "changed_at": "1000000000"}  # long ago
    assert update(symphony, sekoia, data_path, alert_uuid=alert["uuid"], **closing).results["action"] == (
        "status_changed"
    )
    reopening = {"change": "reopened", "changed_at": "1000000001", "incident_id": "7"}  # before the module's move
    run = update(symphony, sekoia, data_path, alert_uuid=alert["uuid"], **reopening)
    assert run.results["superseded_by"] is None and run.results["action"] == "commented"
    other = sekoia.add_alert(events=0)
    sekoia.change_status_as_person(other["uuid"], "Rejected")  # a person's change, later than the XSOAR closure
    older = update(symphony, sekoia, data_path, alert_uuid=other["uuid"], **closing)
    assert older.results["action"] == "unchanged" and "by user" in older.results["superseded_by"]
