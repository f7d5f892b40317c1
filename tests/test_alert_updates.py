"""Alert Updated's items without a server: which LiveAPI messages notify, and the changes read from an alert."""

import json

from lab.sekoia_simulator.records import activity_notifications, status_notification
from xsoar_module.clients.liveapi import AlertCreatedNotification, Ignored
from xsoar_module.timing import Backoff
from xsoar_module.triggers.alert_updates import AlertUpdatedSource, comment_change, status_change
from xsoar_module.triggers.timings import LiveTimings

ALERT = {"uuid": "a-1", "short_id": "ALx1", "created_at": 100, "updated_at": 100, "status": {"name": "Pending"}}


def source() -> AlertUpdatedSource:
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
    )


def test_status_updates_and_comments_notify_other_updates_do_not():
    parsed = [source().parse_change(json.dumps(message)) for message in activity_notifications(ALERT)]
    status, urgency, comment, case_created, case_updated = parsed
    assert status == AlertCreatedNotification("a-1", "ALx1")
    assert isinstance(comment, AlertCreatedNotification) and comment.uuid != "a-1"  # notified by the comment uuid
    assert all(isinstance(item, Ignored) for item in (urgency, case_created, case_updated))


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
