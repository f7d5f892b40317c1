"""The XSOAR side's additions to the sync mapping, and the state Incident Updated persists per incident."""

import json

import pytest

from xsoar_module.models.schema import is_null_rendering
from xsoar_module.sync.marker import is_marked
from xsoar_module.sync.texts import close_notes, is_reopen_note, reopen_note
from xsoar_module.triggers.incident_state import IncidentState, IncidentStates


@pytest.mark.parametrize(("value", "expected"), [(None, True), ("", True), (" None ", True), ("null", True)])
def test_unused_arguments_are_absent(value, expected):
    assert is_null_rendering(value) is expected and not is_null_rendering("Closed") and not is_null_rendering({})


def test_close_notes_carry_the_comment_and_the_marker():
    notes = close_notes({"content": "benign", "author": "alice"}, "AL1", "Rejected")
    assert notes.startswith("Sekoia.io alert AL1 is Rejected. alice: benign") and is_marked(notes)
    assert close_notes(None, "AL1", "Closed").startswith("Sekoia.io alert AL1 is Closed\n") and is_marked(notes)


def test_only_the_modules_marked_reopen_note_is_one():
    assert is_reopen_note(reopen_note("AL1", "Acknowledged"))
    assert not is_reopen_note("Reopened: Sekoia.io alert AL1 is Acknowledged again")  # typed by a person: no marker


def test_incident_states_keep_every_open_incident_and_the_latest_closures_across_a_restart(tmp_path):
    """Open incidents keep their entry mark whatever their number; beyond `limit` closed incidents, the oldest
    closures are forgotten. The file holds one compact row per incident."""
    states = IncidentStates(tmp_path / "state.json", limit=2)
    for n in range(4):
        closed = f"2030-01-01T00:00:0{n}Z"
        states.put(f"c{n}", IncidentState(status=2, closed=closed, modified=closed, modified_at=float(n)))
        states.put(f"o{n}", IncidentState(status=1, closed="0001-01-01T00:00:00Z", modified=f"m{n}", modified_at=0.0))
    states.put("o0", IncidentState(1, "", "2030-01-01T00:00:09Z", 0.0, entry_at=5.5, entry_ids=["e1", "e2"]))
    states.save()
    again = IncidentStates(tmp_path / "state.json")
    assert again.load() is None and len(again) == 6
    assert again.get("c0") is None and again.get("c1") is None and again.get("c3").closed == "2030-01-01T00:00:03Z"
    assert again.get("o3") == IncidentState(status=1, closed="", modified="m3", modified_at=0.0)
    assert again.get("o0") == IncidentState(1, "", "2030-01-01T00:00:09Z", 1893456009.0, 5.5, ["e1", "e2"])
    rows = json.loads((tmp_path / "state.json").read_text())["incidents"]
    assert rows["o3"] == [1, "m3"] and rows["c3"] == [2, "2030-01-01T00:00:03Z", "2030-01-01T00:00:03Z"]


def test_a_version_1_state_is_read_on_upgrade(tmp_path):
    """0.1 saved one object per incident: an upgrade reads it (losing it would lose closures, reopenings, notes)."""
    old = {"status": 2, "closed": "c", "modified": "m", "modified_at": 3.0, "entry_at": 2.0, "entry_ids": ["e"]}
    (tmp_path / "state.json").write_text(json.dumps({"version": 1, "incidents": {"7": old}}))
    states = IncidentStates(tmp_path / "state.json")
    assert states.load() is None and states.get("7") == IncidentState(**old)


def test_an_unreadable_state_is_reported_and_forgotten(tmp_path):
    (tmp_path / "state.json").write_text('{"version": 1, "incidents": {"1": {"nope": 1}}}')
    states = IncidentStates(tmp_path / "state.json")
    assert "unreadable" in states.load() and len(states) == 0


@pytest.mark.parametrize("null", ["undefined", "None", "null", ""])
def test_update_incident_update_alert_and_get_events_read_a_null_rendering_alike(null):
    """`undefined` (a template engine's rendering of a missing field) is an unused argument for the three actions,
    as `None` and `null` are: Update Alert and Get Events refused it before."""
    from xsoar_module.actions.get_events import NOW, GetEventsArguments
    from xsoar_module.actions.update_alert import UpdateAlertArguments
    from xsoar_module.actions.update_incident import UpdateIncidentArguments

    unused = {"status": null, "comment": null, "changed_at": null}
    incident = UpdateIncidentArguments.model_validate({"short_id": "ALx"} | unused)
    assert (incident.status, incident.comment, incident.changed_at) == (None, None, None)
    alert = UpdateAlertArguments.model_validate({"short_id": "ALx", "change": null, "follows_mirror": null} | unused)
    assert (alert.status, alert.change, alert.follows_mirror, alert.changed_at) == (None, None, None, None)
    events = GetEventsArguments.model_validate(
        {"query": "a", "earliest_time": "-1d", "latest_time": null, "expected_events": null}
    )
    assert events.latest_time == NOW and events.expected_events is None
    with pytest.raises(ValueError, match="is no time"):
        GetEventsArguments.model_validate({"query": "a", "earliest_time": null})
