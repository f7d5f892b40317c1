"""A Sekoia.io alert's history read for its status changes (pure): the latest one when two share a second, both
shapes (the simulator's, oldest first; the published one, newest first), and who saw whose change."""

from xsoar_module.sync.history import (
    entry_comments,
    follows_own_change,
    latest_change_by,
    latest_status_change,
    newest_first,
    own_changes,
    status_change_follows_own,
)
from xsoar_module.sync.marker import MARKER
from xsoar_module.sync.sekoia_changes import status_change

MODULE, PERSON = "module-key", "person"
ALERT = {"uuid": "a-1", "short_id": "ALx1", "created_at": 100, "updated_at": 100}
is_own = own_changes(MODULE)


def change(date: int, status: str, by: str, previous: str = "Pending") -> dict:
    """A status change as the simulator writes it."""
    return {"date": date, "alert": {"status": status, "previous_status": previous}, "created_by": by, "comment": None}


def published(created_at: int, status: str, by: str, comment: str | None = None) -> dict:
    """A status change in the shape of Palo Alto's published Sekoia XDR test data."""
    comments = [{"uuid": "c", "content": comment, "created_by": by}] if comment else []
    return {
        "uuid": f"h-{created_at}-{status}",
        "created_at": created_at,
        "created_by": by,
        "created_by_type": "apikey" if by == MODULE else "user",
        "entry_type": "alert",
        "alert": {"status": status, "previous_status": "Pending"},
        "history_comments": comments,
    }


def test_a_persons_change_in_the_same_second_as_the_modules_is_the_latest_when_it_came_after():
    """The module closes the alert (mirroring XSOAR), a person acknowledges it in that same second: the person's
    change is the alert's latest, so Alert Updated emits it (before: the module's, by `max` over equal dates)."""
    history = [change(500, "Closed", MODULE), change(500, "Acknowledged", PERSON, "Closed")]
    latest = latest_status_change(history, "Acknowledged")
    assert latest is not None and latest["created_by"] == PERSON
    item = status_change(ALERT | {"status": {"name": "Acknowledged"}, "updated_at": 500, "history": history})
    assert item is not None and item["by"] == PERSON and item["key"] == "a-1@500:Acknowledged"


def test_the_modules_change_after_a_persons_in_the_same_second_is_the_latest_and_no_echo():
    """The reverse order: the module's change is the latest, the item is the module's (no run: no echo)."""
    history = [change(500, "Acknowledged", PERSON), change(500, "Closed", MODULE, "Acknowledged")]
    item = status_change(ALERT | {"status": {"name": "Closed"}, "updated_at": 500, "history": history})
    assert item is not None and item["by"] == MODULE and item["key"] == "a-1@500:Closed"


def test_the_published_shape_lists_newest_first_and_carries_its_comments_apart():
    history = [
        {"created_at": 700, "entry_type": "comment", "comment": {"content": "later comment"}},
        published(600, "Closed", MODULE, f"done\n\n{MARKER}"),
        published(600, "Acknowledged", PERSON),
        published(100, "Pending", "application"),
    ]
    assert newest_first(history)
    latest = latest_status_change(history, "Closed")
    assert latest is not None and latest["created_by"] == MODULE
    item = status_change(ALERT | {"status": {"name": "Closed"}, "updated_at": 600, "history": history})
    assert item is not None and item["key"] == "a-1@600:Closed" and item["marked"]  # its comment carries the marker
    assert entry_comments(history[1]) == [f"done\n\n{MARKER}"]
    person = latest_change_by(history, lambda entry: not is_own(entry), "Closed")
    assert person is not None and person["alert"]["status"] == "Acknowledged"


def test_a_history_all_in_one_second_is_read_by_the_alerts_current_status():
    """No date tells the order: of two changes in the same second, the one that led to the current status is last."""
    newest_listed_first = [change(500, "Acknowledged", PERSON, "Closed"), change(500, "Closed", MODULE)]
    assert not newest_first(newest_listed_first)
    latest = latest_status_change(newest_listed_first, "Acknowledged")
    assert latest is not None and latest["created_by"] == PERSON


def test_who_saw_the_modules_change_in_the_same_second():
    mirrored_first = [
        change(499, "Acknowledged", PERSON),
        change(500, "Closed", MODULE),
        change(500, "Ongoing", PERSON),
    ]
    assert follows_own_change(mirrored_first, mirrored_first[2], is_own)
    assert status_change_follows_own(mirrored_first, "Ongoing", 500.7, is_own)
    person_first = [change(500, "Ongoing", PERSON), change(500, "Closed", MODULE)]
    assert not follows_own_change(person_first, person_first[0], is_own)
    a_second_before = [change(499, "Closed", MODULE), change(500, "Ongoing", PERSON)]
    assert not follows_own_change(a_second_before, a_second_before[1], is_own)  # a second apart: the clocks tell
    assert not status_change_follows_own(person_first, "Rejected", 500, is_own)  # no such change


def test_the_modules_changes_are_its_key_or_its_marker_with_an_api_key():
    assert is_own(change(1, "Closed", MODULE))
    marked = published(1, "Closed", MODULE, f"x\n\n{MARKER}")
    assert own_changes(None)(marked)  # no identity from /v1/me: an API key's entry with the marker
    assert own_changes("another-identity")(marked)
    assert not is_own(change(1, "Closed", PERSON)) and not own_changes(None)(change(1, "Closed", MODULE))
    forged = published(1, "Closed", PERSON, f"x\n\n{MARKER}")  # a person typed the marker
    assert forged["created_by_type"] == "user" and not is_own(forged) and not own_changes(None)(forged)


def test_a_comment_entry_of_the_real_shape_is_read():
    entry = {
        "created_at": 5,
        "created_by": MODULE,
        "created_by_type": "apikey",
        "entry_type": "comment",
        "comment": {"uuid": "c", "status": "created", "display_name": "apikey:m", "content": f"y\n\n{MARKER}"},
        "history_comments": [],
    }
    assert entry_comments(entry) == [f"y\n\n{MARKER}"] and own_changes(None)(entry)


def test_a_date_after_the_alert_s_update_or_none_is_dated_by_what_is_known():
    from xsoar_module.sync.history import dated_history

    history = [
        {"date": 10, "alert": {"status": "Acknowledged"}},
        {"date": None, "alert": {"status": "Ongoing"}},
        {"date": 30, "alert": {"status": "Closed"}},
        {"date": 9999, "alert": {"status": "Rejected"}},
        {"date": 9999, "comment": {"content": "x"}},  # comments do not move updated_at: left alone
    ]
    dated, redated = dated_history(history, 50)
    assert [entry["date"] for entry in dated] == [10, 30, 30, 50, 9999]
    assert redated == [dated[3], dated[1]] and history[3]["date"] == 9999  # a copy: the answer is left alone
    assert dated_history([{"date": None}], None) == ([{"date": None}], [])  # nothing known: left undated
    assert dated_history("not a list", 50) == ("not a list", [])
    within = [{"date": 51, "alert": {"status": "Closed"}}]  # the real sample: a second after updated_at
    assert dated_history(within, 50) == (within, [])


def test_a_change_dated_tomorrow_hides_no_later_change_and_an_undated_one_is_told():
    history = [
        {"date": 10**10, "alert": {"status": "Closed"}, "created_by": PERSON},
        {"date": 150, "alert": {"status": "Ongoing"}, "created_by": PERSON},
    ]
    received = status_change(ALERT | {"status": {"name": "Ongoing"}, "updated_at": 150, "history": history})
    assert received is not None and received["key"] == "a-1@150:Ongoing" and not received["redated"]
    undated = [{"date": None, "alert": {"status": "Ongoing"}, "created_by": PERSON}]
    received = status_change(ALERT | {"status": {"name": "Ongoing"}, "updated_at": 150, "history": undated})
    assert received is not None and received["at"] == 150 and received["redated"]
