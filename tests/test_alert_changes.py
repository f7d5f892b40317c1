"""An alert's later changes -> its incident's changes (mapping/alert_changes.py), without a server."""

import orjson
import pytest

from xsoar_module.mapping.alert_changes import (
    alert_fields_changes,
    appended_events,
    changed_fields,
    events_changes,
    incident_events,
    label_changes,
    later_change,
    merged,
    urgency_changes,
    urgency_of,
)
from xsoar_module.models.alert import AlertUrgency
from xsoar_module.sync.snapshots import Incident

INCIDENT = {
    "id": "7",
    "severity": 2,
    "labels": [{"type": "Sekoia.io alert ID", "value": "AL1"}],
    "CustomFields": {"sekoiaiourgency": 30, "sekoiaiourgencyband": "Moderate"},
}


def of(raw: dict) -> Incident:
    """The incident as the sync reads it."""
    return Incident.of({"id": "7"} | raw)


def test_an_urgency_changes_only_what_differs():
    assert urgency_changes(of(INCIDENT), AlertUrgency(current_value=35)) == {"CustomFields": {"sekoiaiourgency": 35}}
    assert urgency_changes(of(INCIDENT), AlertUrgency(current_value=30)) == {}
    assert urgency_changes(of(INCIDENT), AlertUrgency(current_value=62, display="Major")) == {
        "severity": 3.0,
        "CustomFields": {"sekoiaiourgency": 62, "sekoiaiourgencyband": "Major"},
    }


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, None),
        (85, AlertUrgency(current_value=85)),
        (42.6, AlertUrgency(current_value=43)),
        ({"value": 20, "display": "Moderate"}, AlertUrgency(current_value=20, display="Moderate")),
        ({"current_value": 5}, AlertUrgency(current_value=5)),
    ],
)
def test_an_urgency_argument_is_a_number_or_an_object(value, expected):
    assert urgency_of(value) == expected


@pytest.mark.parametrize("value", [-1, 100.5, "85", {"display": "High"}, {"value": 50, "display": 3}, False])
def test_an_urgency_argument_out_of_shape_is_refused(value):
    with pytest.raises(ValueError, match="urgency"):
        urgency_of(value)


def test_labels_keep_the_others_and_replace_their_own():
    changes = alert_fields_changes(of(INCIDENT), None, 5, "2026-01-01T00:00:00Z", 1767225600)
    assert changes["labels"] == INCIDENT["labels"] + [
        {"type": "Sekoia.io occurrences", "value": "5"},
        {"type": "Sekoia.io last seen", "value": "2026-01-01T00:00:00Z"},
        {"type": "Sekoia.io urgency changed at", "value": "2026-01-01T00:00:00Z"},
    ]
    labelled = INCIDENT | changes
    assert alert_fields_changes(of(labelled), None, 5, None, 1767225700) == {}  # nothing new: no new time either
    assert alert_fields_changes(of(labelled), None, 6, None, None)["labels"][-1] == {
        "type": "Sekoia.io occurrences",
        "value": "6",
    }
    assert alert_fields_changes(of(INCIDENT), None, None, None, 1767225600) == {}
    assert label_changes(of(INCIDENT), {"Sekoia.io alert ID": "AL1", "x": None}) == {}


def test_a_change_older_than_the_one_written_is_told():
    written = INCIDENT | alert_fields_changes(of(INCIDENT), AlertUrgency(current_value=90), None, None, 1767225600)
    assert later_change(of(written), 1767225599) == "2026-01-01T00:00:00Z"
    assert later_change(of(written), 1767225600) is None and later_change(of(written), None) is None
    assert later_change(of(INCIDENT), 1) is None


def test_events_are_appended_once_by_event_id_within_the_count_and_the_bytes():
    existing = [{"__event_id": "a"}, {"__event_id": "b"}]
    found = [{"__event_id": "b"}, {"__event_id": "c", "x": "y" * 100}, {"no": "id"}, {"__event_id": "d"}]
    assert appended_events(existing, found, 10, 10_000) == [found[1], found[3]]
    assert appended_events(existing, found, 3, 10_000) == [found[1]]
    assert appended_events(existing, found, 10, 100) == []  # c does not fit: nothing after it either
    assert appended_events(existing, found, 2, 10_000) == []


def test_the_events_field_is_read_back_and_left_alone_when_it_is_no_list():
    as_text = {"CustomFields": {"sekoiaioevents": orjson.dumps([{"__event_id": "a"}]).decode()}}
    assert incident_events(of(as_text)) == [{"__event_id": "a"}]
    assert incident_events(of({"CustomFields": {}})) == []
    assert incident_events(of({"CustomFields": {"sekoiaioevents": '[{"__event_id": "a"} [truncated]'}})) is None
    assert incident_events(of({"CustomFields": {"sekoiaioevents": '{"a": 1}'}})) is None
    written = events_changes([{"__event_id": "a"}], [{"__event_id": "b"}])
    assert orjson.loads(written["CustomFields"]["sekoiaioevents"]) == [{"__event_id": "a"}, {"__event_id": "b"}]
    assert events_changes([], []) == {}


def test_changes_merge_their_custom_fields():
    changes = merged({"severity": 4, "CustomFields": {"a": 1}}, {}, {"labels": [], "CustomFields": {"b": 2}})
    assert changes == {"severity": 4, "labels": [], "CustomFields": {"a": 1, "b": 2}}
    assert changed_fields(changes) == ["a", "b", "labels", "severity"]
