"""The XSOAR side's additions to the sync mapping, and the state Incident Updated persists per incident."""

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


def test_incident_states_are_bounded_and_survive_a_restart(tmp_path):
    states = IncidentStates(tmp_path / "state.json", limit=2)
    for n in range(3):
        states.put(str(n), IncidentState(status=1, closed="", modified=f"m{n}", modified_at=float(n)))
    states.save()
    again = IncidentStates(tmp_path / "state.json")
    assert again.load() is None and len(again) == 2 and again.get("0") is None and again.get("2").modified == "m2"


def test_an_unreadable_state_is_reported_and_forgotten(tmp_path):
    (tmp_path / "state.json").write_text('{"version": 1, "incidents": {"1": {"nope": 1}}}')
    states = IncidentStates(tmp_path / "state.json")
    assert "unreadable" in states.load() and len(states) == 0
