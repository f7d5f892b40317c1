"""Contract: each real Sekoia.io answer of `tests/fixtures/sync/` (public test data, SOURCES.md there) has the shape
the simulator answers for the same kind, and goes through the module exactly as the simulator's own answer does."""

import json
from pathlib import Path
from typing import Any

import pytest
import requests

from lab.doubles.sekoia import SekoiaSimulator
from lab.doubles.sekoia.records import (
    comment_notification,
    created_notification,
    status_notification,
    urgency_notification,
)
from tests.test_alert_updates import source
from xsoar_module.clients.liveapi import AlertCreatedNotification, Ignored, parse_message
from xsoar_module.models.alert import Alert
from xsoar_module.sync.history import entry_comments, entry_time, latest_status_change, own_changes
from xsoar_module.sync.marker import marked
from xsoar_module.sync.rules import STATUS_BY_ACTION, next_action
from xsoar_module.sync.sekoia_changes import comment_change, status_change

SAMPLES = Path(__file__).resolve().parent.parent / "fixtures" / "sync"
KEY = "contract-key"


def sample(name: str) -> Any:
    return json.loads((SAMPLES / f"sekoia_{name}.json").read_text())


def keys(value: dict[str, Any]) -> set[str]:
    return set(value)


@pytest.fixture(scope="module")
def sekoia():
    with SekoiaSimulator(api_key=KEY, seed_samples=False) as simulator:
        yield simulator


@pytest.fixture(scope="module")
def answered(sekoia: SekoiaSimulator) -> dict[str, Any]:
    """The simulator's answers of each kind, for one alert a person and the module's key worked on."""
    alert = sekoia.add_alert(events=0, notify=False)
    path = f"{sekoia.url}/v1/sic/alerts/{alert['uuid']}"
    headers = {"Authorization": f"Bearer {KEY}"}
    sekoia.change_status_as_person(alert["uuid"], "Acknowledged", person="j.doe")
    posted = requests.post(f"{path}/comments", json={"content": "x", "author": "Joe"}, headers=headers, timeout=5)
    workflow = requests.get(f"{path}/workflow", headers=headers, timeout=5).json()
    validate = next(action["id"] for action in workflow["actions"] if action["name"] == "Validate")
    patched = requests.patch(f"{path}/workflow", json={"action_uuid": validate, "comment": "on it"}, headers=headers)
    assert posted.ok and patched.ok
    got = requests.get(path, headers=headers, timeout=5).json()
    return {
        "alert": got,
        "posted": posted.json(),
        "workflow": workflow,
        "comments": requests.get(f"{path}/comments", headers=headers, timeout=5).json(),
        "listing": requests.get(f"{sekoia.url}/v1/sic/alerts", headers=headers, timeout=5).json(),
    }


def entries(alert: dict[str, Any], entry_type: str) -> list[dict[str, Any]]:
    return [entry for entry in alert["history"] if entry.get("entry_type") == entry_type]


def test_a_status_entry_has_the_real_shape(answered):
    real = entries(sample("alert_with_history_sekoiaxdr"), "alert")[0]
    ours = entries(answered["alert"], "alert")[0]
    assert keys(ours) == keys(real) and keys(ours["alert"]) == keys(real["alert"])
    real_told = next(e for e in entries(sample("alert_with_history_sekoiaxdr"), "alert") if e["history_comments"])
    assert keys(ours["history_comments"][0]) == keys(real_told["history_comments"][0])
    for entry in (real, ours):
        assert isinstance(entry["created_at"], int) and entry["created_by_type"] in ("apikey", "user", "application")


def test_a_comment_entry_has_the_real_shape(answered):
    real = entries(sample("alert_with_history_sekoiaxdr"), "comment")[0]
    ours = entries(answered["alert"], "comment")[0]
    assert keys(ours) == keys(real) and keys(ours["comment"]) == keys(real["comment"])


@pytest.mark.parametrize("name", ["alert_with_history_sekoiaxdr", "alert_with_history_automationlib"])
def test_get_alert_answers_history_and_comments_newest_first_without_flags(answered, name):
    real = sample(name)
    for alert in (real, answered["alert"]):
        assert isinstance(alert["history"], list) and isinstance(alert["comments"], list)
        dates = [entry["created_at"] for entry in alert["history"]]
        assert dates == sorted(dates, reverse=True)


def test_a_transition_comment_is_also_an_alert_comment_as_in_the_real_alert(answered):
    for alert in (sample("alert_with_history_sekoiaxdr"), answered["alert"]):
        told = [c["uuid"] for e in entries(alert, "alert") for c in e["history_comments"]]
        commented = [comment["uuid"] for comment in alert["comments"]]
        # the same comment (the sample's ids were truncated by their authors: one is the other's beginning)
        assert told and all(any(uuid.startswith(mine) for mine in commented) for uuid in told)


@pytest.mark.parametrize("name", ["alert_with_history_sekoiaxdr", "alert_with_history_automationlib"])
def test_the_alert_updated_trigger_reads_a_real_alert_as_the_simulators(answered, name):
    real, ours = sample(name), answered["alert"]
    read_real, read_ours = status_change(real), status_change(ours)
    assert read_real is not None and read_ours is not None
    assert keys(read_real) == keys(read_ours)
    for item, alert in ((read_real, real), (read_ours, ours)):
        latest = latest_status_change(alert["history"], alert["status"]["name"])
        assert latest is not None and latest == entries(alert, "alert")[0]  # newest first: the first status entry
        assert item["key"] == f"{alert['uuid']}@{entry_time(latest)}:{alert['status']['name']}"
        assert item["by"] == latest["created_by"] and item["marked"] is False
        assert "history" not in item["alert"] and Alert.model_validate(item["alert"]).uuid == alert["uuid"]


def test_comments_read_the_same_from_real_and_simulated_answers(answered):
    real = sample("alert_comments_list")
    ours = answered["comments"]
    assert keys(real) == keys(ours) == {"items", "total"}
    assert keys(real["items"][0]) == keys(ours["items"][0]) == keys(sample("alert_comment_post_answer"))
    assert keys(answered["posted"]) == keys(sample("alert_comment_post_answer"))
    alert = sample("alert_with_history_sekoiaxdr")
    for comment in (*real["items"], *ours["items"]):
        change = comment_change(alert, comment)
        assert change is not None and change["key"] == comment["uuid"] and change["at"] == comment["date"]
        assert change["by"] == comment["created_by"] and change["marked"] is False  # no marker in these


def test_the_workflow_answer_plans_the_same_way(answered):
    real, ours = sample("alert_workflow"), answered["workflow"]
    assert keys(real) == keys(ours) == {"actions"}
    assert keys(real["actions"][0]) == keys(ours["actions"][0]) == {"id", "name", "description"}
    assert {action["name"] for action in real["actions"]} <= set(STATUS_BY_ACTION)
    assert next_action("Closed", {action["name"] for action in real["actions"]}) == "Close"  # offered: taken
    offered = {action["name"] for action in ours["actions"]}  # an Acknowledged alert, documented: Validate, Reject
    assert offered == {"Validate", "Reject"} and next_action("Closed", offered) == "Validate"


def test_the_listing_items_carry_what_the_catch_up_reads(answered):
    real, ours = sample("alerts_listing")["items"][0], answered["listing"]["items"][0]
    for item in (real, ours):
        assert isinstance(item["updated_at"], int) and isinstance(item["number_of_total_comments"], int)


@pytest.mark.parametrize(
    ("name", "notified"),
    [
        ("liveapi_alert_updated_status", "alert"),
        ("liveapi_alert_comment_created", "comment"),
        ("liveapi_alert_updated_urgency", "urgency"),
        ("liveapi_alert_updated_urgency", None),  # urgency not among the trigger's changes
    ],
)
def test_liveapi_messages_parse_as_the_simulators(answered, name, notified):
    real = sample(name)
    alert = answered["alert"]
    ours = {
        "alert": status_notification(alert),
        "comment": comment_notification(alert, answered["posted"]),
        "urgency": urgency_notification(alert),
        None: status_notification(alert) | {"attributes": {"uuid": alert["uuid"], "updated": {"urgency": 1}}},
    }[notified]
    if notified is not None:
        assert keys(real) == keys(ours) and keys(real["attributes"]) == keys(ours["attributes"])
    if notified == "urgency":
        assert keys(real["attributes"]["updated"]) == keys(ours["attributes"]["updated"])
    for message, expected in ((real, real["attributes"]["uuid"]), (ours, ours["attributes"]["uuid"])):
        parsed = source(urgency=notified == "urgency").parse_change(json.dumps(message))
        if notified is None:
            assert isinstance(parsed, Ignored)
        elif notified == "urgency":
            assert parsed == AlertCreatedNotification(f"{expected}:urgency", message["attributes"]["short_id"])
        else:
            assert parsed == AlertCreatedNotification(expected, parsed.short_id) and parsed.short_id


def test_own_changes_read_from_real_fields_not_from_text(answered):
    """The real shapes carry who made each entry: an API key's entry with the marker is the module's, a person's
    entry is not, whatever its text (the marker typed by a person)."""
    real = entries(sample("alert_with_history_sekoiaxdr"), "alert")
    by_key = next(entry for entry in real if entry["created_by_type"] == "apikey")
    signed = by_key | {"history_comments": [c | {"content": marked(c["content"])} for c in by_key["history_comments"]]}
    assert not own_changes(None)(by_key) and own_changes(None)(signed)
    assert own_changes(by_key["created_by"])(by_key)  # an identity from /v1/me, when it gives one
    forged = signed | {"created_by_type": "user"}
    assert not own_changes(None)(forged)
    assert entry_comments(by_key) == [c["content"] for c in by_key["history_comments"]]


def test_an_alert_created_message_parses_as_the_simulators(answered):
    real, ours = sample("liveapi_alert_created"), created_notification(answered["alert"])
    assert keys(real) == keys(ours) and keys(real["attributes"]) == keys(ours["attributes"])
    assert keys(real["metadata"]) == keys(ours["metadata"])
    for message in (real, ours):
        assert parse_message(json.dumps(message)) == AlertCreatedNotification(
            message["attributes"]["uuid"], message["attributes"]["short_id"]
        )
        assert isinstance(source().parse_change(json.dumps(message)), Ignored)  # not a change for Alert Updated
