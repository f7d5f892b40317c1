"""The sync's pure mapping: statuses, close reasons, the marker that keeps the module's own writes from coming back."""

import json

import orjson
import pytest

from xsoar_module.sync.marker import AUTHOR, MARKER, is_marked, marked
from xsoar_module.sync.rules import (
    STATUS_UUIDS,
    close_reason_for,
    next_action,
    reason_agrees,
    sekoia_change_wins,
    status_for_close_reason,
    status_name,
    steps_between,
)
from xsoar_module.sync.texts import (
    alert_comment,
    closure_note,
    is_closure_note,
    is_reopen_note,
    reopen_note,
    sekoia_comment_uuid,
    war_room_entry,
    xsoar_note_id,
)


@pytest.mark.parametrize(
    ("given", "expected"),
    [("closed", "Closed"), ("Rejected", "Rejected"), (" ongoing ", "Ongoing"), (STATUS_UUIDS["Pending"], "Pending")],
)
def test_status_names_from_any_case_or_uuid(given, expected):
    assert status_name(given) == expected


def test_an_unknown_status_is_named():
    with pytest.raises(ValueError, match="'Done' is not a Sekoia.io status"):
        status_name("Done")


def test_close_reasons_and_back():
    assert close_reason_for("Closed") == "Resolved" and close_reason_for("Rejected") == "False Positive"
    assert close_reason_for("Acknowledged") is None
    assert close_reason_for("Closed", {"Closed": "Other"}) == "Other"
    assert status_for_close_reason("False Positive") == "Rejected"
    assert status_for_close_reason("Duplicate") == status_for_close_reason(None) == "Closed"
    assert status_for_close_reason("Duplicate", {"Duplicate": "rejected"}) == "Rejected"


def test_what_the_module_writes_is_marked_and_recognised():
    entry = war_room_entry({"uuid": "c-1", "content": "seen on 3 hosts", "author": "alice"}, "ALx1")
    assert is_marked(entry) and sekoia_comment_uuid(entry) == "c-1" and "seen on 3 hosts" in entry
    assert sekoia_comment_uuid(war_room_entry("plain text", "ALx1")) is None
    assert sekoia_comment_uuid("Sekoia.io comment c-1 typed by a person") is None  # unmarked: a person's
    comment = alert_comment({"id": "7", "content": "false alarm", "user": "bob"}, "42")
    assert is_marked(comment) and "bob" in comment and "incident 42" in comment
    assert marked("notes ").endswith(MARKER) and not is_marked("a person's note") and not is_marked(None)
    assert len(AUTHOR) <= 32


def test_a_note_id_is_tagged_and_read_back():
    comment = alert_comment({"id": "12@7", "content": "checked", "user": "bob"}, None)
    assert xsoar_note_id(comment) == "12@7" and "bob in Cortex XSOAR, XSOAR note 12@7" in comment
    assert xsoar_note_id(alert_comment("plain", "42")) is None
    assert xsoar_note_id("(bob in Cortex XSOAR, XSOAR note 3)") is None  # unmarked: a person's text
    quoting = {"content": "as said (eve in Cortex XSOAR, XSOAR note 21@3)\nthanks", "user": "bob"}
    assert xsoar_note_id(alert_comment(quoting | {"id": "20@3"}, None)) == "20@3"  # its own tag, not the quoted one
    assert xsoar_note_id(alert_comment(quoting, None)) is None  # no id of its own: none read from its text


@pytest.mark.parametrize(
    ("target", "offered", "expected"),
    [
        ("Closed", {"Acknowledge", "Validate", "Reject"}, "Validate"),  # Pending, documented: Validate, then Close
        ("Closed", {"Validate", "Reject"}, "Validate"),  # Acknowledged
        ("Closed", {"Close", "Reject"}, "Close"),  # Ongoing
        ("Closed", {"Acknowledge", "Validate", "Reject", "Close"}, "Close"),  # a kinder workflow: the direct way
        ("Closed", {"Acknowledge", "Reject"}, "Acknowledge"),  # a step-by-step one: Acknowledge, Validate, Close
        ("Rejected", {"Acknowledge", "Validate", "Reject"}, "Reject"),
        ("Acknowledged", {"Acknowledge"}, "Acknowledge"),  # a reopening, should Sekoia.io offer it
        ("Acknowledged", set(), None),  # Closed or Rejected: final
        ("Acknowledged", {"Close", "Reject"}, None),  # Ongoing: no way back
        ("Closed", {"Unknown action"}, None),
    ],
)
def test_the_next_workflow_action_is_on_a_shortest_way(target, offered, expected):
    assert next_action(target, offered) == expected


def test_the_documented_workflow_reaches_closed_in_two_transitions_at_most():
    assert steps_between("Pending", "Closed") == steps_between("Acknowledged", "Closed") == 2
    assert steps_between("Ongoing", "Closed") == steps_between("Pending", "Rejected") == 1
    assert steps_between("Closed", "Acknowledged") is None and steps_between("Rejected", "Closed") is None
    assert steps_between("Ongoing", "Acknowledged") is None


@pytest.mark.parametrize(
    ("sekoia_at", "xsoar_at", "sekoia_after", "xsoar_after", "sekoia_wins"),
    [
        (101, 100.9, False, False, True),  # a later second
        (100, 101.2, False, False, False),
        (100, 100.9, False, False, False),  # the same second: XSOAR's
        (100.0, 100.2, True, False, True),  # ... unless the Sekoia.io change came after the module's mirror of XSOAR's
        (100.0, 100.2, False, True, False),  # the XSOAR change came after the module's mirror of Sekoia.io's
        (100.0, 100.2, True, True, False),  # both did: XSOAR's
        (101, 100.5, True, False, True),
        (99, 100.5, True, False, False),  # a mirror of the same second cannot make an earlier second later
        (101, 100.5, False, True, True),
    ],
)
def test_the_later_change_wins_in_whole_seconds(sekoia_at, xsoar_at, sekoia_after, xsoar_after, sekoia_wins):
    assert sekoia_change_wins(sekoia_at, xsoar_at, sekoia_after, xsoar_after) is sekoia_wins


@pytest.mark.parametrize(
    ("reason", "status", "overrides", "agrees"),
    [
        ("Resolved", "Closed", None, True),
        ("Other", "Closed", None, True),
        ("False Positive", "Closed", None, False),
        ("False Positive", "Rejected", None, True),
        ("Resolved", "Rejected", None, False),
        ("Duplicate", "Rejected", {"Rejected": "Duplicate"}, True),
        (None, "Closed", None, True),  # no reason: Closed, as Update Alert maps it
    ],
)
def test_a_close_reason_agrees_with_the_statuses_it_maps_to(reason, status, overrides, agrees):
    assert reason_agrees(reason, status, overrides) is agrees


def test_the_closure_note_is_the_modules_and_not_a_reopen_note():
    note = closure_note("ALx", "Rejected", "False Positive")
    assert is_closure_note(note) and is_marked(note) and not is_reopen_note(note)
    assert not is_closure_note(reopen_note("ALx", "Acknowledged")) and not is_closure_note("Closed: by hand")


@pytest.mark.parametrize("text", ["x" * (3 * 1024 * 1024), "\x01" * (1024 * 1024), "é\ud800" * 300_000])
def test_a_long_text_is_written_bounded_visibly_and_still_marked(text):
    from xsoar_module.mapping.trimming import MAX_TEXT_BYTES

    written = marked(f"{text}\n(bob in Cortex XSOAR incident 7, XSOAR note 12@3)")
    assert len(json.dumps(written)) <= MAX_TEXT_BYTES or len(orjson.dumps(written)) <= MAX_TEXT_BYTES
    assert " [truncated]\n(bob in Cortex XSOAR incident 7, XSOAR note 12@3)" in written and is_marked(written)
    assert xsoar_note_id(written) == "12@3"
    assert marked(written[:100]) == marked(written[:100]) and marked("short") == f"short\n\n{MARKER}"
