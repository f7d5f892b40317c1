"""Alert Updated's items without a server: which LiveAPI messages notify, and the changes read from an alert."""

import json

import pytest

from lab.doubles.sekoia.records import activity_notifications, status_notification, urgency_notification
from tests.support import FIXTURES
from xsoar_module.clients.liveapi import AlertCreatedNotification, Ignored
from xsoar_module.sync.sekoia_changes import comment_change, status_change, updated_for_something_else, urgency_change
from xsoar_module.timing import Backoff
from xsoar_module.triggers.alert_updates import AlertUpdatedSource
from xsoar_module.triggers.core.waits import LiveTimings

REAL_URGENCY_MESSAGE = json.loads((FIXTURES / "sync" / "sekoia_liveapi_alert_updated_urgency.json").read_text())
ALERT = {"uuid": "a-1", "short_id": "ALx1", "created_at": 100, "updated_at": 100, "status": {"name": "Pending"}}


def source(urgency: bool = False) -> AlertUpdatedSource:
    def no_client():
        raise AssertionError("no request expected")

    timings = LiveTimings(reconnect=Backoff(first=0.1, longest=0.1))
    return AlertUpdatedSource(
        no_client,
        liveapi_url="ws://x/live/",
        api_key="k",
        is_done=lambda _: False,
        timings=timings,
        comments_lookback=0,
        urgency=urgency,
    )


@pytest.mark.parametrize("watched", [True, False], ids=["urgency-watched", "urgency-not-watched"])
def test_status_urgency_updates_and_comments_notify_other_updates_do_not(watched):
    parsed = [source(watched).parse_change(json.dumps(message)) for message in activity_notifications(ALERT)]
    status, urgency, comment, case_created, case_updated = parsed
    assert status == AlertCreatedNotification("a-1", "ALx1")
    assert isinstance(comment, AlertCreatedNotification) and comment.uuid != "a-1"  # notified by the comment uuid
    assert all(isinstance(item, Ignored) for item in (case_created, case_updated))
    # the real urgency message: notified under its own key, so that a status change of the alert is read apart
    assert urgency == (AlertCreatedNotification("a-1:urgency", "ALx1") if watched else Ignored())


def test_the_simulator_sends_urgency_updates_in_the_real_shape():
    sent = urgency_notification(ALERT | {"uuid": "u", "short_id": "s", "urgency": {"current_value": 20}})
    assert sent["type"] == "alert" and sent["action"] == "updated" and sent["metadata"]["version"] == 2
    assert sent["attributes"] == {
        "uuid": "u",
        "short_id": "s",
        "updated": REAL_URGENCY_MESSAGE["attributes"]["updated"],
    }


def test_the_real_urgency_message_notifies_its_alert():
    real = json.dumps(REAL_URGENCY_MESSAGE)
    assert source(urgency=True).parse_change(real) == AlertCreatedNotification(
        "af0a370f-2e44-433c-99b2-2d0e4b348d0c:urgency", "ALakbd8NXp9W"
    )
    assert isinstance(source(urgency=False).parse_change(real), Ignored)
    without_uuid = urgency_notification(ALERT | {"uuid": None, "urgency": {"current_value": 40}})
    assert source(urgency=True).parse_change(json.dumps(without_uuid)).reason == (
        "Ignored an alert urgency notification without an alert uuid"
    )


def test_an_urgency_item_is_keyed_by_update_time_and_value():
    alert = ALERT | {"updated_at": 300, "urgency": {"current_value": 75, "display": "Major"}, "history": []}
    change = urgency_change(alert)
    assert change["key"] == "a-1@300:urgency:75" and change["at"] == 300 and change["change"] == "urgency"
    assert "history" not in change["alert"]
    assert urgency_change(ALERT | {"urgency": {"display": "Low"}}) is None  # no value: nothing to carry


def test_an_update_is_told_apart_from_status_changes_and_comments():
    status_at_200 = [{"date": 200, "alert": {"status": "Acknowledged"}}]
    acknowledged = ALERT | {"status": {"name": "Acknowledged"}, "history": status_at_200}
    assert not updated_for_something_else(acknowledged | {"updated_at": 200}, [])
    assert not updated_for_something_else(acknowledged | {"updated_at": 250}, [{"date": 250}])
    assert updated_for_something_else(acknowledged | {"updated_at": 260}, [{"date": 250}])
    assert not updated_for_something_else(ALERT, [])  # never updated since its creation


def test_a_status_message_without_alert_uuid_is_ignored_with_a_reason():
    message = status_notification(ALERT | {"uuid": None})
    assert source().parse_change(json.dumps(message)).reason == (
        "Ignored an alert status notification without an alert uuid"
    )


def test_the_latest_status_change_of_the_history_is_the_item():
    history = [
        {"date": 200, "alert": {"status": "x"}, "created_by": "person", "comment": None},
        {
            "date": 300,
            "alert": {"status": "y"},
            "created_by": "module",
            "created_by_type": "apikey",
            "comment": "done\n\n[synced by the Sekoia.io XSOAR module]",
        },
        {"date": 400, "entry_type": "case", "created_by": "other"},
    ]
    alert = ALERT | {"status": {"name": "Closed"}, "updated_at": 500, "history": history, "comments": []}
    change = status_change(alert)
    assert change["key"] == "a-1@300:Closed" and change["by"] == "module" and change["marked"]
    assert "history" not in change["alert"] and "comments" not in change["alert"]
    by_a_person = [entry | {"created_by_type": "user"} for entry in history]  # the marker typed by a person
    assert not status_change(alert | {"history": by_a_person})["marked"]


def test_no_status_item_for_an_alert_that_never_changed_status():
    assert status_change(ALERT | {"history": []}) is None
    assert status_change(ALERT) is None  # no history in the answer and never updated
    fallback = status_change(ALERT | {"updated_at": 150, "updated_by": "u"})
    assert fallback["key"] == "a-1@150:Pending" and fallback["by"] == "u"
    unknown_shape = status_change(ALERT | {"updated_at": 150, "history": [{"date": 150, "status": "Closed"}]})
    assert unknown_shape["key"] == "a-1@150:Pending"  # entries this module cannot read: the update time stands
    comments_only = [{"created_at": 150, "entry_type": "comment", "comment": {"uuid": "c", "content": "x"}}]
    assert status_change(ALERT | {"updated_at": 150, "history": comments_only}) is None  # a comment moved updated_at


def test_a_comment_item_keeps_the_event_fields():
    comment = {
        "uuid": "c-1",
        "content": "hi",
        "author": "bob",
        "date": 120,
        "created_by": "u",
        "created_by_type": "user",
    }
    change = comment_change(ALERT, comment | {"unseen": True})
    assert change["key"] == "c-1" and change["at"] == 120 and not change["marked"]
    assert change["comment"] == {
        key: comment[key] for key in ("uuid", "content", "author", "created_by", "created_by_type")
    }
    assert comment_change(ALERT, {"content": "no uuid"}) is None
