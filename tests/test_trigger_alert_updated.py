"""Alert Updated end to end: the trigger process run as the platform does, against the Sekoia.io simulator."""

import json
import time
from collections import Counter
from pathlib import Path

import pytest
import requests

from lab.doubles.faults import Fault
from lab.doubles.sekoia import SekoiaSimulator
from lab.doubles.symphony import Symphony, TriggerRun
from tests.support import (
    SEKOIA_KEY,
    answered_listings,
    assert_no_secret,
    settled_events,
    start_listening_trigger,
    until,
)
from xsoar_module.sync.marker import marked

TRIGGER = "AlertUpdatedTrigger"
OTHER_KEY = "automation-key-of-someone-else"


@pytest.fixture
def sekoia():
    """A fresh simulator per test, so that each trigger sees only the changes of its test."""
    with SekoiaSimulator(api_key=SEKOIA_KEY, seed_samples=False) as simulator:
        simulator.add_api_key(OTHER_KEY)
        yield simulator


@pytest.fixture
def symphony(symphony: Symphony):
    yield symphony
    symphony.faults.clear()


def module_configuration(sekoia: SekoiaSimulator) -> dict:
    return {"base_url": sekoia.url, "api_key": SEKOIA_KEY, "xsoar_url": "http://127.0.0.1:9/unused"}


def start(symphony: Symphony, sekoia: SekoiaSimulator, data_path: Path, settings: dict | None = None, **kwargs):
    """Start the trigger; return once it listens and its first catch-up listed the alerts."""
    config = module_configuration(sekoia)
    return start_listening_trigger(
        symphony, sekoia, TRIGGER, config, data_path, trigger_configuration=settings or {}, **kwargs
    )


def changes(run: TriggerRun, expected: int, timeout: float = 20) -> Counter:
    """`(alert_uuid, change, status or comment content)` of the events, once `expected` arrived and nothing more."""
    return Counter(describe(event["event"]) for event in settled_events(run, expected, timeout))


def describe(event: dict) -> tuple:
    details = {"status": event["status_name"], "urgency": (event.get("urgency") or {}).get("value")}
    detail = details[event["change"]] if event["change"] in details else event["comment"]["content"]
    return event["alert_uuid"], event["change"], detail


def as_key(sekoia: SekoiaSimulator, key: str, method: str, path: str, body: dict) -> None:
    """A change made through the API with `key` (the module's, or someone else's automation)."""
    answer = requests.request(
        method, sekoia.url + path, json=body, headers={"Authorization": f"Bearer {key}"}, timeout=5
    )
    assert answer.ok, answer.text


def reject_with(sekoia: SekoiaSimulator, key: str, alert: dict, comment: str | None = None) -> None:
    """Reject the alert (open from Pending in the documented workflow) through the API with `key`."""
    reject = "ade85d7b-7507-4026-bfc6-cc006d10ddac"
    as_key(
        sekoia, key, "PATCH", f"/v1/sic/alerts/{alert['uuid']}/workflow", {"action_uuid": reject, "comment": comment}
    )


def comment_with(sekoia: SekoiaSimulator, key: str, alert: dict, content: str) -> None:
    as_key(sekoia, key, "POST", f"/v1/sic/alerts/{alert['uuid']}/comments", {"content": content, "author": "bot"})


def stopped_logs(run: TriggerRun) -> str:
    assert run.stop() == 0
    assert_no_secret(run.logs, run.stderr)
    return "\n".join(log["message"] for log in run.logs)


def test_live_status_changes_and_comments_start_one_run_each(symphony, sekoia, data_path):
    files: dict[str, dict] = {}

    def read_alert_file(event: dict) -> None:  # runs while the event POST is held: the directory still exists
        files[event["event"]["change"]] = json.loads((data_path / event["event"]["file_path"]).read_text())

    symphony.faults.rate(1.0, Fault(delay_after=0.3), method="POST", path_contains="/callback/")
    alert = sekoia.add_alert(events=0)
    run = start(symphony, sekoia, data_path, on_event=read_alert_file)
    sekoia.change_status_as_person(alert["uuid"], "Acknowledged")
    run.wait_for_events(1)
    comment = sekoia.comment_as_person(alert["uuid"], "looking into it", person="alice")
    assert changes(run, 2) == Counter(
        [(alert["uuid"], "status", "Acknowledged"), (alert["uuid"], "comment", "looking into it")]
    )
    until(lambda: len(files) == 2)
    status_event, comment_event = (event["event"] for event in run.events)
    assert status_event == {
        "alert_uuid": alert["uuid"],
        "short_id": alert["short_id"],
        "change": "status",
        "status_name": "Acknowledged",
        "comment": None,
        "urgency": None,
        "severity": None,
        "occurrences": None,
        "last_seen_at": None,
        "updated_at": sekoia.history_of(alert["uuid"])[0]["created_at"],
        "file_path": status_event["file_path"],
    }
    assert comment_event["comment"] == {
        name: comment[name] for name in ("uuid", "content", "author", "created_by", "created_by_type")
    }
    assert comment_event["status_name"] is None and comment_event["updated_at"] == comment["date"]
    assert files["status"]["uuid"] == alert["uuid"] and files["status"]["status"]["name"] == "Acknowledged"
    assert "history" not in files["status"] and "comments" not in files["comment"]
    stopped_logs(run)


@pytest.mark.parametrize("comments_touch_alerts", [False, True], ids=["comments-keep-updated_at", "comments-touch"])
def test_changes_made_while_stopped_start_runs_once_after_restart(symphony, sekoia, data_path, comments_touch_alerts):
    sekoia.comments_touch_alerts = comments_touch_alerts
    first, second, third = (sekoia.add_alert(events=0) for _ in range(3))
    run = start(symphony, sekoia, data_path)
    sekoia.change_status_as_person(first["uuid"], "Acknowledged")
    assert changes(run, 1) == Counter([(first["uuid"], "status", "Acknowledged")])
    assert run.stop() == 0

    sekoia.change_status_as_person(second["uuid"], "Rejected")
    sekoia.comment_as_person(third["uuid"], "seen while stopped")  # may not move third's updated_at
    sekoia.comment_as_person(first["uuid"], "and another")
    run = start(symphony, sekoia, data_path)
    assert changes(run, 3) == Counter(
        [
            (second["uuid"], "status", "Rejected"),
            (third["uuid"], "comment", "seen while stopped"),
            (first["uuid"], "comment", "and another"),  # first's status change is not repeated
        ]
    )
    run.kill()  # SIGKILL: nothing flushed on the way out
    sekoia.change_status_as_person(third["uuid"], "Ongoing")
    run = start(symphony, sekoia, data_path)
    sekoia.comment_as_person(second["uuid"], "live again")
    assert changes(run, 2) == Counter(
        [(third["uuid"], "status", "Ongoing"), (second["uuid"], "comment", "live again")]
    )
    assert "Resuming after the alert changes until" in stopped_logs(run)


def test_a_liveapi_drop_loses_and_repeats_nothing(symphony, sekoia, data_path):
    alerts = [sekoia.add_alert(events=0) for _ in range(6)]
    run = start(symphony, sekoia, data_path)
    expected = Counter()
    for index, alert in enumerate(alerts):
        sekoia.change_status_as_person(alert["uuid"], "Ongoing")
        sekoia.comment_as_person(alert["uuid"], f"note {index}")
        expected.update([(alert["uuid"], "status", "Ongoing"), (alert["uuid"], "comment", f"note {index}")])
        if index == 2:
            sekoia.drop_connections()
    assert changes(run, 12, timeout=40) == expected
    assert sekoia.liveapi_connections_total == 2
    assert "reconnecting" in stopped_logs(run)


def test_the_module_own_changes_start_no_run(symphony, sekoia, data_path):
    alert, other = sekoia.add_alert(events=0), sekoia.add_alert(events=0)
    run = start(symphony, sekoia, data_path)
    reject_with(sekoia, SEKOIA_KEY, alert)  # the module's key
    comment_with(sekoia, SEKOIA_KEY, alert, "written by the module")
    comment_with(sekoia, OTHER_KEY, alert, marked("mirrored by another instance of the module"))
    reject_with(sekoia, OTHER_KEY, other, comment=marked("closed in XSOAR"))
    comment_with(sekoia, OTHER_KEY, other, "an automation's comment")  # someone else's, unmarked: a change
    assert changes(run, 1) == Counter([(other["uuid"], "comment", "an automation's comment")])
    assert "made by this module (ignore_own)" in stopped_logs(run)


def test_the_module_own_changes_start_runs_without_ignore_own(symphony, sekoia, data_path):
    alert = sekoia.add_alert(events=0)
    run = start(symphony, sekoia, data_path, {"ignore_own": False})
    reject_with(sekoia, SEKOIA_KEY, alert)
    comment_with(sekoia, SEKOIA_KEY, alert, "written by the module")
    assert changes(run, 2) == Counter(
        [(alert["uuid"], "status", "Rejected"), (alert["uuid"], "comment", "written by the module")]
    )
    stopped_logs(run)


def test_without_an_identity_from_me_own_changes_are_the_api_keys_marked_ones(symphony, sekoia, data_path):
    """`GET /v1/me`'s body is unpublished: without an identity in it, what a person cannot forge still tells the
    module's changes (an API key's entry or comment with the marker); a person quoting the marker is no echo."""
    sekoia.me_identity = False
    alert, other = sekoia.add_alert(events=0), sekoia.add_alert(events=0)
    run = start(symphony, sekoia, data_path)
    reject_with(sekoia, SEKOIA_KEY, alert, comment=marked("closed in XSOAR"))
    comment_with(sekoia, SEKOIA_KEY, alert, marked("mirrored note"))
    forged = sekoia.comment_as_person(other["uuid"], marked("a person pasted the module's text"))
    assert changes(run, 1) == Counter([(other["uuid"], "comment", forged["content"])])
    assert "gave no identity for the API key" in stopped_logs(run)


@pytest.mark.parametrize(("wanted", "detail"), [("status", "Acknowledged"), ("comment", "hello"), ("urgency", 85)])
def test_the_changes_setting_selects_status_comment_or_urgency(symphony, sekoia, data_path, wanted, detail):
    alert = sekoia.add_alert(events=0)
    run = start(symphony, sekoia, data_path, {"changes": [wanted]})
    sekoia.change_status_as_person(alert["uuid"], "Acknowledged")
    sekoia.comment_as_person(alert["uuid"], "hello")
    sekoia.change_urgency(alert["uuid"], 85)
    assert changes(run, 1) == Counter([(alert["uuid"], wanted, detail)])
    stopped_logs(run)


def test_a_live_urgency_change_starts_one_run_with_the_severity_occurrences_and_last_seen(symphony, sekoia, data_path):
    alert = sekoia.add_alert(events=3, urgency={"current_value": 30, "value": 30, "display": "Moderate"})
    run = start(symphony, sekoia, data_path)
    sekoia.change_status_as_person(alert["uuid"], "Acknowledged")  # a status change: no urgency run
    run.wait_for_events(1)
    risen = sekoia.change_urgency(alert["uuid"], 85, new_events=2)
    assert changes(run, 2) == Counter([(alert["uuid"], "status", "Acknowledged"), (alert["uuid"], "urgency", 85)])
    urgency_event = run.events[1]["event"]
    assert urgency_event == {
        "alert_uuid": alert["uuid"],
        "short_id": alert["short_id"],
        "change": "urgency",
        "status_name": None,
        "comment": None,
        "urgency": {"value": 85, "display": "Urgent"},
        "severity": 4.0,
        "occurrences": 5,
        "last_seen_at": risen["last_seen_at"],
        "updated_at": risen["updated_at"],
        "file_path": urgency_event["file_path"],
    }
    assert "Urgency change" in stopped_logs(run)


def test_urgency_changes_read_together_start_one_run_with_the_latest(symphony, sekoia, data_path):
    alert = sekoia.add_alert(events=0)
    run = start(symphony, sekoia, data_path)
    sekoia.faults.script(Fault(delay=1.0), method="GET", path_contains=f"/alerts/{alert['uuid']}")
    for value in (45, 65, 90):  # notified while the first notification's read waits
        sekoia.change_urgency(alert["uuid"], value)
    assert changes(run, 1) == Counter([(alert["uuid"], "urgency", 90)])
    stopped_logs(run)


def test_urgency_changes_made_while_stopped_start_one_run_each_after_restart(symphony, sekoia, data_path):
    first, second = sekoia.add_alert(events=0), sekoia.add_alert(events=0)
    run = start(symphony, sekoia, data_path)
    sekoia.change_urgency(first["uuid"], 70)
    assert changes(run, 1) == Counter([(first["uuid"], "urgency", 70)])
    assert run.stop() == 0

    sekoia.change_urgency(second["uuid"], 25)
    sekoia.change_status_as_person(first["uuid"], "Acknowledged")  # first's urgency is not repeated
    run = start(symphony, sekoia, data_path)
    assert changes(run, 2) == Counter([(second["uuid"], "urgency", 25), (first["uuid"], "status", "Acknowledged")])
    assert run.stop() == 0
    run = start(symphony, sekoia, data_path)  # second's urgency read again: handled already
    assert changes(run, 0) == Counter()
    assert "2 already handled" in stopped_logs(run)


def test_an_urgency_change_that_keeps_updated_at_is_caught_up_from_the_listing(symphony, sekoia, data_path):
    sekoia.urgency_touches_alerts = False  # unconfirmed either way
    alert = sekoia.add_alert(events=0)
    run = start(symphony, sekoia, data_path)
    sekoia.change_urgency(alert["uuid"], 50)
    run.wait_for_events(1)
    sekoia.change_urgency(alert["uuid"], 95, notify=False)  # a notification the LiveAPI lost
    listed = answered_listings(sekoia)
    sekoia.drop_connections()  # the reconnection's catch-up lists the alert, its updated_at unchanged
    until(lambda: answered_listings(sekoia) > listed)
    assert changes(run, 2) == Counter([(alert["uuid"], "urgency", 50), (alert["uuid"], "urgency", 95)])
    stopped_logs(run)


def test_the_alert_created_filters_apply(symphony, sekoia, data_path):
    wanted = sekoia.add_alert(events=0)
    unwanted = sekoia.add_alert(events=0, entity={"uuid": "e-2", "name": "Elsewhere"})
    run = start(symphony, sekoia, data_path, {"entity_filter": [wanted["entity"]["name"]]})
    for alert in (unwanted, wanted):
        sekoia.change_status_as_person(alert["uuid"], "Acknowledged")
    assert changes(run, 1) == Counter([(wanted["uuid"], "status", "Acknowledged")])
    stopped_logs(run)


def test_a_comment_that_moves_updated_at_repeats_no_status_change(symphony, sekoia, data_path):
    sekoia.comments_touch_alerts = True
    alert = sekoia.add_alert(events=0)
    run = start(symphony, sekoia, data_path)
    sekoia.change_status_as_person(alert["uuid"], "Acknowledged")
    run.wait_for_events(1)
    changed_at = sekoia.history_of(alert["uuid"])[0]["created_at"]
    until(lambda: time.time() >= changed_at + 1)  # the comment in a later second: a new updated_at
    sekoia.comment_as_person(alert["uuid"], "later")
    listed = answered_listings(sekoia)
    sekoia.drop_connections()  # the reconnection's catch-up lists the alert again, with its new updated_at
    until(lambda: answered_listings(sekoia) > listed)
    assert changes(run, 2) == Counter([(alert["uuid"], "status", "Acknowledged"), (alert["uuid"], "comment", "later")])
    assert "2 already handled" in stopped_logs(run)
