"""Incident Updated through the SDK protocol (a trigger process) against the XSOAR simulator: people's closures,
reopenings and notes are emitted once; the module's own are never; a restart loses and repeats nothing."""

from pathlib import Path

import pytest

from lab.doubles.faults import Fault
from lab.doubles.symphony import Symphony
from lab.doubles.xsoar import XsoarSimulator
from tests.support import XSOAR_API_KEY, assert_no_secret, until

TRIGGER = "IncidentUpdatedTrigger"
SETTINGS = {"interval": 0.2}


@pytest.fixture
def config(xsoar: XsoarSimulator) -> dict:
    return {
        "api_key": "unused",
        "xsoar_url": xsoar.api_url_v8,
        "xsoar_mode": "api",
        "xsoar_api_key": XSOAR_API_KEY,
        "xsoar_api_key_id": "17",
        "xsoar_command_investigation_id": xsoar.playground_id,
    }


def incident(xsoar: XsoarSimulator, short_id: str, uuid: str | None = None) -> str:
    fields = {"alertid": short_id} | ({"sekoiaioalertuuid": uuid} if uuid else {})
    return xsoar.add_incident({"name": short_id, "CustomFields": fields, "createInvestigation": True}, "api")["id"]


def start(symphony: Symphony, xsoar: XsoarSimulator, config: dict, data_path: Path, settings: dict = SETTINGS):
    """Start the trigger; return once it completed a poll (its searches went past the watch list's)."""
    run = symphony.start_trigger(TRIGGER, config, settings, data_path=data_path)
    polled(xsoar)
    return run


def polled(xsoar: XsoarSimulator, polls: int = 2) -> None:
    """Wait until the trigger has started `polls` more polls (each poll makes two searches)."""
    searches = xsoar.count("POST", "/incidents/search")
    until(lambda: xsoar.count("POST", "/incidents/search") >= searches + 2 * polls)


def update(symphony: Symphony, config: dict, data_path: Path, **arguments) -> str:
    outcome = symphony.run_action("UpdateIncident", config, arguments, data_path=data_path, in_process=True)
    assert outcome.error is None, outcome.error
    return outcome.results["action"]


def changes(run) -> list[tuple]:
    return [(e["event"]["incident_id"], e["event"]["change"]) for e in run.events]


def test_peoples_changes_once_and_the_modules_never(symphony, xsoar, config, data_path, tmp_path):
    ours, theirs, noted = incident(xsoar, "ALours"), incident(xsoar, "ALtheirs", "u-2"), incident(xsoar, "ALnoted")
    run = start(symphony, xsoar, config, data_path)
    actions = tmp_path / "actions"
    actions.mkdir()
    try:
        assert update(symphony, config, actions, short_id="ALours", status="Closed") == "closed"
        xsoar.close_as_person(theirs, "Duplicate", "dup of ALours", user="bob")
        [event] = run.wait_for_events(1)
        assert event["event"] == {
            "incident_id": theirs,
            "alert_short_id": "ALtheirs",
            "alert_uuid": "u-2",
            "change": "closed",
            "close_reason": "Duplicate",
            "close_notes": "dup of ALours",
            "note": None,
            "updated_at": event["event"]["updated_at"],  # the closure's time: tests/test_incident_changes.py
            "follows_mirror": False,  # another incident than the module closed
        }
        comment = {"uuid": "c-1", "content": "from Sekoia.io", "author": "alice"}
        assert update(symphony, config, actions, short_id="ALnoted", comment=comment) == "noted"
        xsoar.note_as_person(noted, "a chat line, not a note", note=False)
        entry = xsoar.note_as_person(noted, "checked the **host**", user="carol")
        run.wait_for_events(2)
        assert run.events[1]["event"]["note"] == {
            "id": entry["id"],
            "content": "checked the **host**",
            "user": "carol",
        }
        assert run.events[1]["event"]["change"] == "note" and run.events[1]["event"]["alert_short_id"] == "ALnoted"
        assert update(symphony, config, actions, short_id="ALours", status="Acknowledged") == "reopened"
        xsoar.reopen_as_person(theirs)
        run.wait_for_events(3)
        polled(xsoar)
        assert changes(run) == [(theirs, "closed"), (noted, "note"), (theirs, "reopened")]
        assert [a["change"] for a in xsoar.incident(ours)["activity"]] == ["closed", "reopened"]  # by the module
    finally:
        run.stop()
    assert_no_secret(run.logs, run.events)


def test_a_restart_loses_and_repeats_nothing(symphony, xsoar, config, data_path):
    first, second = incident(xsoar, "AL1"), incident(xsoar, "AL2")
    run = start(symphony, xsoar, config, data_path)
    xsoar.close_as_person(first, "Resolved", "fixed")
    run.wait_for_events(1)
    run.stop()
    xsoar.note_as_person(first, "written while stopped")
    xsoar.close_as_person(second, "False Positive")
    xsoar.reopen_as_person(first)
    again = start(symphony, xsoar, config, data_path)
    try:
        again.wait_for_events(3)
        polled(xsoar)
        assert sorted(changes(again)) == sorted([(first, "note"), (second, "closed"), (first, "reopened")])
    finally:
        again.stop()


def test_xsoar_errors_are_retried_with_backoff_and_logged(symphony, xsoar, config, data_path):
    target = incident(xsoar, "AL3")
    run = start(symphony, xsoar, config, data_path)
    try:
        xsoar.faults.script(*[Fault(status=503)] * 4, path_contains="/incidents/search")
        xsoar.close_as_person(target)
        failure = run.wait_for_log("Polling Cortex XSOAR failed", "error")
        assert "503" in failure["message"] and "polling again in" in failure["message"]
        [event] = run.wait_for_events(1)
        assert event["event"]["incident_id"] == target and event["event"]["change"] == "closed"
    finally:
        run.stop()


def test_without_the_api_settings_the_trigger_says_which(symphony, xsoar, data_path):
    config = {"api_key": "unused", "xsoar_url": xsoar.webhook_url, "xsoar_token": "t"}
    run = symphony.start_trigger(TRIGGER, config, SETTINGS, data_path=data_path)
    try:
        log = run.wait_for_log("needs its REST API", "critical")
        assert "xsoar_api_key" in log["message"]
    finally:
        run.stop()


def test_notes_through_modified_times_without_the_watch_list(symphony, xsoar, config, data_path):
    """An XSOAR whose entries move `modified` needs no watch list (watched_open_incidents 0)."""
    xsoar.entries_touch_incidents = True
    target = incident(xsoar, "AL4")
    run = start(symphony, xsoar, config, data_path, {"interval": 0.2, "watched_open_incidents": 0})
    try:
        entry = xsoar.note_as_person(target, "seen")
        [event] = run.wait_for_events(1)
        assert event["event"]["note"]["id"] == entry["id"]
    finally:
        run.stop()
        xsoar.entries_touch_incidents = False


def test_without_the_war_room_read_reopenings_are_emitted_and_notes_are_not(symphony, xsoar, config, data_path):
    xsoar.faults.rate(1.0, Fault(status=404), path_contains="/investigation/")
    target = incident(xsoar, "AL5")
    run = start(symphony, xsoar, config, data_path)
    try:
        xsoar.note_as_person(target, "not readable")
        xsoar.close_as_person(target)
        run.wait_for_events(1)
        xsoar.reopen_as_person(target)
        run.wait_for_events(2)
        assert changes(run) == [(target, "closed"), (target, "reopened")]
    finally:
        run.stop()
    [warning] = [log for log in run.logs if "does not serve POST /investigation/" in log["message"]]  # sent at exit
    assert warning["level"] == "warning" and "notes are not emitted" in warning["message"]
