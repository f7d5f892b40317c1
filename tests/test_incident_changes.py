"""Incident Updated's polls, one at a time against the XSOAR simulator: a closure made by the module and undone by a
person before the next poll is a reopening to emit; the war rooms of all open incidents are read in turn; every
change carries its time."""

import json
import math
import time
from pathlib import Path

import pytest

from lab.doubles.xsoar import XsoarSimulator
from tests.support import XSOAR_API_KEY, until
from xsoar_module.clients.xsoar import XsoarClient
from xsoar_module.clients.xsoar.connection import api_configuration
from xsoar_module.configuration import ModuleConfiguration
from xsoar_module.sync.snapshots import Incident
from xsoar_module.sync.texts import closure_note, is_reopen_note
from xsoar_module.timing import xsoar_epoch
from xsoar_module.triggers.incident_state import IncidentState, IncidentStates
from xsoar_module.triggers.incidents import IncidentChanges

SINCE = 0  # every change counts: the states decide what is new


@pytest.fixture
def client(xsoar: XsoarSimulator):
    config = ModuleConfiguration(
        api_key="unused", xsoar_url=xsoar.api_url_v8, xsoar_api_key=XSOAR_API_KEY, xsoar_api_key_id="17"
    )
    with XsoarClient(api_configuration(config)) as xsoar_client:
        yield xsoar_client


def lister(client: XsoarClient, tmp_path: Path, watched: int = 100) -> IncidentChanges:
    return IncidentChanges(client, IncidentStates(tmp_path / "state.json"), watched=watched, log=lambda *_: None)


def poll(changes: IncidentChanges) -> list[tuple[str, str]]:
    return [(item["event"]["incident_id"], item["event"]["change"]) for item in changes.list_since(SINCE) if item]


def incident(xsoar: XsoarSimulator, short_id: str) -> str:
    fields = {"alertid": short_id}
    return xsoar.add_incident({"name": short_id, "CustomFields": fields, "createInvestigation": True}, "api")["id"]


def update_incident(symphony, xsoar: XsoarSimulator, data_path: Path, status: str) -> None:
    """Update Incident mirrors a Sekoia.io status of alert ALx."""
    config = {"api_key": "unused", "xsoar_url": xsoar.api_url_v8, "xsoar_api_key": XSOAR_API_KEY}
    config |= {"xsoar_command_investigation_id": xsoar.playground_id}
    arguments = {"short_id": "ALx", "status": status}
    outcome = symphony.run_action(
        "UpdateIncident", config | {"xsoar_api_key_id": "17"}, arguments, data_path=data_path, in_process=True
    )
    assert outcome.error is None, outcome.error


def test_a_closure_by_the_module_undone_before_the_next_poll_is_a_reopening(
    symphony, xsoar, client, tmp_path, data_path
):
    target = incident(xsoar, "ALx")
    changes = lister(client, tmp_path)
    assert poll(changes) == []
    update_incident(symphony, xsoar, data_path, "Closed")
    xsoar.reopen_as_person(target, "bob")
    assert poll(changes) == [(target, "reopened")]  # before: nothing, and the alert stayed Closed
    assert poll(changes) == []


def test_a_reopening_after_the_modules_reopening_and_closure_in_one_poll_is_emitted(
    symphony, xsoar, client, tmp_path, data_path
):
    """Closed by a person (seen), then within one poll: reopened and closed again by the module, reopened by a person.
    The module's reopen note is older than its closure note: the person's reopening is emitted."""
    target = incident(xsoar, "ALx")
    changes = lister(client, tmp_path)
    poll(changes)
    xsoar.close_as_person(target, "Resolved", "done", "bob")
    assert poll(changes) == [(target, "closed")]
    update_incident(symphony, xsoar, data_path, "Acknowledged")
    update_incident(symphony, xsoar, data_path, "Closed")
    xsoar.reopen_as_person(target, "bob")
    assert poll(changes) == [(target, "reopened")]


def test_a_closure_and_reopening_both_by_the_module_stay_silent(symphony, xsoar, client, tmp_path, data_path):
    incident(xsoar, "ALx")
    changes = lister(client, tmp_path)
    poll(changes)
    update_incident(symphony, xsoar, data_path, "Rejected")
    update_incident(symphony, xsoar, data_path, "Acknowledged")
    assert poll(changes) == []


def test_a_closure_note_newer_than_the_incident_read_is_not_a_reopening():
    """The incident was read before the module's closure, its war room after: nothing can be told yet."""
    known = IncidentState(status=1, closed="", modified="2030-01-01T00:00:00Z", modified_at=1893456000.0)
    incident_read = Incident.of({"id": "1", "status": 1, "modified": "2030-01-01T00:00:01Z"})
    note = {"contents": closure_note("ALx", "Closed", "Resolved"), "created": "2030-01-01T00:00:02Z"}
    assert IncidentChanges._closed_meanwhile(incident_read, known, [note]) is known
    reopened_later = Incident.of(incident_read.raw | {"modified": "2030-01-01T00:00:03Z"})
    seen = IncidentChanges._closed_meanwhile(reopened_later, known, [note])
    assert seen is not None and seen.status == 2 and seen.closed == note["created"]


def test_the_war_rooms_of_all_open_incidents_are_read_in_turn(xsoar, client, tmp_path):
    """Five open incidents, two war rooms a poll: a note on any of them crosses within three polls."""
    targets = [incident(xsoar, f"AL{n}") for n in range(5)]
    changes = lister(client, tmp_path, watched=2)
    for _ in range(3):
        poll(changes)  # every incident seen once: notes from now on are new
    entries = {xsoar.note_as_person(target, f"note on {target}")["id"] for target in targets}
    noted = [item for _ in range(3) for item in changes.list_since(SINCE) if item]
    assert {item["event"]["note"]["id"] for item in noted} == entries


def test_each_change_carries_its_time(xsoar, client, tmp_path):
    target = incident(xsoar, "ALx")
    changes = lister(client, tmp_path)
    poll(changes)
    closed = xsoar.close_as_person(target, "Resolved", "done")["closed"]
    [item] = list(changes.list_since(SINCE))
    closed_at = xsoar_epoch(closed)
    assert closed_at is not None and item["event"]["updated_at"] == math.floor(closed_at)


def test_a_change_right_after_the_modules_in_the_same_second_says_it_follows_the_mirror(
    symphony, xsoar, client, tmp_path, data_path
):
    target = incident(xsoar, "ALx")
    changes = lister(client, tmp_path)
    poll(changes)
    xsoar.close_as_person(target, "Resolved", "done")
    [closure] = [item["event"] for item in changes.list_since(SINCE) if item]
    assert closure["follows_mirror"] is False  # no change of the module before it
    until(lambda: time.time() % 1 < 0.2, 3, "the start of a second")
    update_incident(symphony, xsoar, data_path, "Acknowledged")  # the module reopens it, with its reopen note
    closed = xsoar.close_as_person(target, "False Positive", "again")["closed"]
    [closure] = [item["event"] for item in changes.list_since(SINCE) if item]
    [note] = [e for e in xsoar.incident(target)["entries"] if is_reopen_note(e["contents"])]
    assert math.floor(xsoar_epoch(note["created"]) or 0) == math.floor(xsoar_epoch(closed) or 0), "over a second"
    assert closure["change"] == "closed" and closure["follows_mirror"] is True


def test_a_closure_emitted_just_before_a_kill_is_remembered_and_its_undoing_seen(xsoar, client, tmp_path):
    """The trigger saves the states after each poll; killed between a closure's run and that save, it used to
    restart from the incident's open state and miss the reopening that followed."""
    target = incident(xsoar, "ALx")
    states = IncidentStates(tmp_path / "state.json")
    changes = IncidentChanges(client, states, watched=100, log=lambda *_: None)
    assert poll(changes) == []
    states.save()  # the end of the first poll
    xsoar.close_as_person(target, "Resolved", "done")
    assert poll(changes) == [(target, "closed")]  # emitted; killed before the end of this poll: no save of its own
    xsoar.reopen_as_person(target, "bob")
    restarted = IncidentStates(tmp_path / "state.json")
    assert restarted.load() is None
    assert poll(IncidentChanges(client, restarted, watched=100, log=lambda *_: None)) == [(target, "reopened")]


def test_war_rooms_are_read_from_a_time_and_notes_come_oldest_first_whatever_xsoar_answers(xsoar, client, tmp_path):
    """The simulator answers newest first (the real order is unconfirmed): the notes still come in creation order,
    and each read asks only for the entries since what the poll compares them with (`fromTime`)."""
    target = incident(xsoar, "ALx")
    changes = lister(client, tmp_path)
    poll(changes)
    first, second = (xsoar.note_as_person(target, text) for text in ("first", "second"))
    noted = [item["event"]["note"]["id"] for item in changes.list_since(SINCE) if item]
    assert noted == [first["id"], second["id"]]
    reads = [json.loads(r["body"]) for r in xsoar.requests if "/investigation/" in r["path"]]
    assert all("fromTime" in body for body in reads)
    assert reads[-1]["fromTime"] <= first["created"]


def test_a_persons_closure_stays_a_change_when_the_module_appends_a_comment_to_the_incident(
    symphony, xsoar, client, tmp_path, data_path
):
    target = incident(xsoar, "ALx")
    changes = lister(client, tmp_path)
    poll(changes)
    xsoar.close_as_person(target, "Resolved", "done", "bob")
    config = {"api_key": "unused", "xsoar_url": xsoar.api_url_v8, "xsoar_api_key": XSOAR_API_KEY}
    comment = {"uuid": "c-1", "content": "from Sekoia.io", "author": "alice"}
    outcome = symphony.run_action(
        "UpdateIncident",
        config | {"xsoar_api_key_id": "17"},
        {"short_id": "ALx", "comment": comment},
        data_path=data_path,
        in_process=True,
    )
    assert outcome.results["action"] == "noted" and "from Sekoia.io" in xsoar.incident(target)["details"]
    assert poll(changes) == [(target, "closed")]


def test_the_modules_changes_are_told_without_knowing_which_user_its_key_acts_as(
    symphony, xsoar, client, tmp_path, data_path
):
    """Which user an API key's changes are recorded as is unconfirmed (DBot, the key's creator): here the module's key
    acts as the very person who also changes incidents, and only that person's own changes are emitted."""
    xsoar.add_api_key("key-as-bob", "bob")
    target = incident(xsoar, "ALx")
    changes = lister(client, tmp_path)
    poll(changes)
    config = {"api_key": "unused", "xsoar_url": xsoar.api_url_v6, "xsoar_api_key": "key-as-bob"}
    config |= {"xsoar_command_investigation_id": xsoar.playground_id}
    for status in ("Closed", "Acknowledged"):
        outcome = symphony.run_action(
            "UpdateIncident", config, {"short_id": "ALx", "status": status}, data_path=data_path, in_process=True
        )
        assert outcome.error is None, outcome.error
    assert [a["user"] for a in xsoar.incident(target)["activity"]] == ["bob", "bob"]
    assert poll(changes) == []
    xsoar.close_as_person(target, "Resolved", "done", "bob")
    assert poll(changes) == [(target, "closed")]


def test_the_modules_own_closure_and_reopening_are_counted_as_echoes(symphony, xsoar, client, tmp_path, data_path):
    target = incident(xsoar, "ALx")
    echoes: list[str] = []
    states = IncidentStates(tmp_path / "state.json")
    changes = IncidentChanges(client, states, watched=100, log=lambda *_: None, echo=lambda: echoes.append("echo"))
    assert poll(changes) == []
    update_incident(symphony, xsoar, data_path, "Closed")
    assert poll(changes) == [] and len(echoes) == 1  # its closure (its closure note belongs to it)
    update_incident(symphony, xsoar, data_path, "Acknowledged")
    assert poll(changes) == [] and len(echoes) == 2  # its reopening
    xsoar.close_as_person(target, "Resolved", "done", "bob")
    assert poll(changes) == [(target, "closed")] and len(echoes) == 2  # a person's change is no echo
    assert poll(changes) == [] and len(echoes) == 2  # each counted once


def test_more_incidents_than_the_states_kept_lose_and_repeat_nothing(xsoar, client, tmp_path):
    """Eight open incidents, a cap of three states, two war rooms a poll, and a checkpoint that moved past the notes
    (other incidents changed since): every note, closure and reopening is emitted once, across restarts that read the
    saved state back. Before: the least recently modified states were forgotten and their notes read only from the
    checkpoint, so lost."""
    moment = [time.time() - 3600]  # the simulator's clock, behind the real one (entries dated ahead are re-dated)
    xsoar.clock = lambda: moment[0]
    targets = [incident(xsoar, f"AL{n}") for n in range(8)]
    path = tmp_path / "state.json"

    def polls(count: int, since: int) -> list[tuple[str, str]]:
        """`count` polls by a trigger restarted from the saved state, which it saves after each poll."""
        states = IncidentStates(path, limit=3)
        assert states.load() is None
        changes = IncidentChanges(client, states, watched=2, log=lambda *_: None)
        seen = []
        for _ in range(count):
            seen += [(item["key"], item["event"]["change"]) for item in changes.list_since(since) if item]
            states.save()
        return seen

    assert polls(5, int(moment[0])) == []  # every incident seen once
    moment[0] += 10
    notes = {f"note:{xsoar.note_as_person(target, 'checked')['id']}" for target in targets}
    moment[0] += 10
    closed = [xsoar.close_as_person(target, "Resolved", "done")["closed"] for target in targets[:2]]
    since = int(moment[0])  # the checkpoint: at the closures, past the notes
    first = polls(3, since) + polls(3, since)
    closures = {f"closed:{target}@{at}" for target, at in zip(targets[:2], closed, strict=True)}
    assert sorted(key for key, _ in first) == sorted(notes | closures)
    moment[0] += 10
    xsoar.reopen_as_person(targets[0])
    since = int(moment[0])
    assert [change for _, change in polls(4, since)] == ["reopened"]
    assert polls(4, since) == []
