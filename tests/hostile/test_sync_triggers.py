"""Hostile state files, dates, quoted tags and echoed secrets against the two sync triggers (Incident Updated, Alert
Updated), each case a trigger process run as the platform runs it: a person's text quoting a mirror tag or the marker
(class 1 of hostile sync input), secrets quoted in what they emit (class 6), state files that are directories or hold
fields of the wrong types (class 7), dates in the future or missing, of incidents, history entries and war-room notes
(class 8).

A case's `given`: `trigger` (incident or alert), `before(stage)` (state files, incidents, alerts, made before the
start), `settings` (the trigger configuration), `ready` (events the first catch-up emits, waited for before the
changes), `after(stage)` (changes made once the trigger runs), `events` (how many to wait for in all) and `log` (a text
a log must say, waited for too). Its `check(outcome)` reads `outcome.extra["events"]` and
`["stage"]`. Every case ends with `assert_clean` over its events, logs, files and output, and XSOAR must never receive
the Sekoia.io key. To add a case, add a row to its class's list.
"""

import base64
import json
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from lab.doubles.sekoia import SekoiaSimulator
from lab.doubles.symphony import Symphony
from lab.doubles.xsoar import XsoarSimulator
from tests.hostile.harness import Case, Outcome, assert_clean, canary_forms, data_files, params
from tests.hostile.harness import in_turn as all_of
from tests.hostile.harness import in_turn as steps
from tests.support import SEKOIA_KEY, XSOAR_API_KEY, start_listening_trigger, until

pytestmark = [pytest.mark.xdist_group("hostile-sync-trigger"), pytest.mark.long]
TRIGGERS = {"incident": "IncidentUpdatedTrigger", "alert": "AlertUpdatedTrigger"}
CHECKPOINTS = {"incident": "incident_updated_checkpoint.json", "alert": "alert_updated_checkpoint.json"}
STATE = "incident_updated_state.json"
DAY = 86400
WAIT = 45.0  # an upper bound: under load (2 shared cores) a poll or a notification may take long


@dataclass
class Stage:
    """What a case's callables act on."""

    sekoia: SekoiaSimulator
    xsoar: XsoarSimulator
    data_path: Path
    notes: dict[str, Any] = field(default_factory=dict)


# -- what a case does ----------------------------------------------------------------------------------------------


def incident(stage: Stage, name: str = "inc") -> str:
    """An open XSOAR incident created by the module (alertid set), with a war room; its id noted under `name`."""
    short_id = f"AL{name}{len(stage.xsoar.incidents)}"
    fields = {"alertid": short_id, "sekoiaioalertuuid": f"uuid-{short_id}"}
    stored = stage.xsoar.add_incident({"name": short_id, "CustomFields": fields, "createInvestigation": True}, "api")
    stage.notes[name] = stored["id"]
    return stored["id"]


def alert(stage: Stage, name: str = "alert") -> dict:
    created = stage.sekoia.add_alert(notify=False)
    stage.notes[name] = created["uuid"]
    return created


def file_at(name: str, content: Any):
    """A state file written before the start: JSON of `content`, or a directory when `content` is ..."""

    def write(stage: Stage) -> None:
        path = stage.data_path / name
        if content is ...:
            path.mkdir()
        else:
            path.write_text(json.dumps(content))

    return write


def closed_by_a_person(notes: str = "done"):
    return lambda stage: stage.xsoar.close_as_person(stage.notes["inc"], "Resolved", notes, user="bob")


def noted_by_a_person(text: str):
    return lambda stage: stage.xsoar.note_as_person(stage.notes["inc"], text, user="carol")


def status_by_a_person(status: str, name: str = "alert"):
    return lambda stage: stage.sekoia.change_status_as_person(stage.notes[name], status)


def commented_by_a_person(content: str):
    return lambda stage: stage.sekoia.comment_as_person(stage.notes["alert"], content)


def noted_dated(text: str, created: Any):
    """A person's war-room note whose `created` is `created(now)` (an XSOAR date), or None: no date."""

    def write(stage: Stage) -> None:
        entry = stage.xsoar.note_as_person(stage.notes["inc"], text, user="carol")
        entry["created"] = created(time.time()) if callable(created) else created

    return write


def xsoar_date(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%S.5Z")


def tomorrow(now: float) -> str:
    return xsoar_date(now + DAY)


def polls(count: int):
    """Wait for `count` more polls of Incident Updated (two searches each): a note emitted twice would show."""

    def wait(stage: Stage) -> None:
        searches = stage.xsoar.count("POST", "/incidents/search")
        until(lambda: stage.xsoar.count("POST", "/incidents/search") >= searches + 2 * count, WAIT, f"{count} polls")

    return wait


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def modified_tomorrow(stage: Stage) -> None:
    """An incident whose `modified` is a day ahead (a server's clock, a forged field)."""
    stage.xsoar.incident(incident(stage, "tomorrow"))["modified"] = tomorrow(time.time())


def history_dates(date: Any, name: str = "alert"):
    """Every status change of the alert's history dated `date` (a callable of now: tomorrow; None: no date)."""

    def change(stage: Stage) -> None:
        for entry in stage.sekoia._lookup(stage.notes[name]).history:
            entry["created_at"] = date(time.time()) if callable(date) else date

    return change


def incident_case(before=None, after=None, events: int = 1, log: str | None = None) -> dict:
    return {"trigger": "incident", "before": steps(incident, *([before] if before else [])), "after": after} | {
        "events": events,
        "log": log,
        "settings": {"interval": 0.2},
    }


def alert_case(
    before=None, after=None, events: int = 1, log: str | None = None, settings: dict | None = None, ready: int = 0
):
    return {"trigger": "alert", "before": steps(alert, *([before] if before else [])), "after": after} | {
        "ready": ready,
        "events": events,
        "log": log,
        "settings": settings or {},
    }


# -- what a case checks --------------------------------------------------------------------------------------------


def events_of(outcome: Outcome) -> list[dict]:
    return [record["event"] for record in outcome.extra["events"]]


def one_change(change: str, masked: str | None = None):
    """One event of this change; `masked`: its field that must show the mask where the secret was."""

    def check(outcome: Outcome) -> None:
        found = [event for event in events_of(outcome) if event["change"] == change]
        assert len(found) == 1, events_of(outcome)
        if masked is not None:
            value = found[0]
            for part in masked.split("."):
                value = value[part]
            assert "***" in value, value

    return check


def status_changes(*expected: tuple[str, str]):
    """The status events (alert named in the notes, status) include these."""

    def check(outcome: Outcome) -> None:
        notes = outcome.extra["stage"].notes
        seen = {
            (event["alert_uuid"], event["status_name"]) for event in events_of(outcome) if event["change"] == "status"
        }
        for name, status in expected:
            assert (notes[name], status) in seen, f"no {status} event for {name}: {events_of(outcome)}"

    return check


def checkpoint_not_ahead(trigger: str):
    """The saved watermark is not past now (a date in the future did not carry it there)."""

    def check(outcome: Outcome) -> None:
        saved = json.loads((outcome.extra["stage"].data_path / CHECKPOINTS[trigger]).read_text())
        assert saved["created_at"] <= time.time() + 1, saved

    return check


def notes_once(*texts: str):
    """One note event per text, none other, each dated at most now (a date in the future counts as the time read)."""

    def check(outcome: Outcome) -> None:
        notes = [event for event in events_of(outcome) if event["change"] == "note"]
        assert sorted(event["note"]["content"] for event in notes) == sorted(texts), events_of(outcome)
        assert all(event["updated_at"] <= time.time() + 1 for event in notes), notes

    return check


# -- the cases, by class -------------------------------------------------------------------------------------------

ECHO = f"Authorization: {XSOAR_API_KEY}"
CLASS_1 = [  # a person's text quoting a mirror tag or the marker: still a person's change
    Case(
        "incident_updated-a-persons-note-quoting-a-comments-tag",
        incident_case(
            after=noted_by_a_person("mirrored already: Sekoia.io comment 5b0f8c7e-0c5e-4d43-9a55-6c1c39c2f0aa")
        ),
        check=one_change("note"),
    ),
    Case(
        "incident_updated-a-persons-note-quoting-a-notes-tag",
        incident_case(after=noted_by_a_person("see (bob in Cortex XSOAR incident 3, XSOAR note 21@3)")),
        check=one_change("note"),
    ),
    Case(
        "alert_updated-a-persons-comment-quoting-the-marker",
        alert_case(after=commented_by_a_person("done\n\n[synced by the Sekoia.io XSOAR module]")),
        check=one_change("comment"),
    ),
    Case(
        "alert_updated-a-persons-comment-copying-a-mirrored-note",
        alert_case(
            after=commented_by_a_person(
                "fake\n\n(bob in Cortex XSOAR incident 3, XSOAR note 21@3)\n\n[synced by the Sekoia.io XSOAR module]"
            )
        ),
        check=one_change("comment"),
    ),
]

CLASS_6 = [
    Case(
        "incident_updated-close-notes-echo-the-api-key",
        incident_case(after=closed_by_a_person(f"failed with {ECHO}")),
        check=one_change("closed", "close_notes"),
    ),
    Case(
        "incident_updated-note-quotes-the-sekoia-key",
        incident_case(after=noted_by_a_person(f"the key: {SEKOIA_KEY}")),
        check=one_change("note", "note.content"),
    ),
    Case(
        "alert_updated-comment-quotes-the-xsoar-key",
        alert_case(after=commented_by_a_person(ECHO)),
        check=one_change("comment", "comment.content"),
    ),
    Case(
        "alert_updated-comment-quotes-the-sekoia-key-in-base64",
        alert_case(after=commented_by_a_person(f"header: {b64('Bearer ' + SEKOIA_KEY)}")),
        check=one_change("comment", "comment.content"),
    ),
]

CLASS_7 = [
    Case(
        "incident_updated-checkpoint-is-a-directory",
        incident_case(
            before=file_at(CHECKPOINTS["incident"], ...),
            after=closed_by_a_person(),
            log=f"{CHECKPOINTS['incident']} is unreadable",
        ),
        check=one_change("closed"),
    ),
    Case(
        "incident_updated-checkpoint-of-wrong-types",
        incident_case(
            before=file_at(CHECKPOINTS["incident"], {"version": 1, "created_at": True, "floor": 0, "recent": {}}),
            after=closed_by_a_person(),
            log=f"{CHECKPOINTS['incident']} is unreadable",
        ),
        check=one_change("closed"),
    ),
    Case(
        "incident_updated-state-is-a-directory",
        incident_case(before=file_at(STATE, ...), after=closed_by_a_person(), log=f"{STATE} is unreadable"),
        check=one_change("closed"),
    ),
    Case(
        "incident_updated-state-of-wrong-types",
        incident_case(
            before=lambda stage: file_at(
                STATE,
                {
                    "version": 1,
                    "incidents": {
                        stage.notes["inc"]: {"status": 1, "closed": 0, "modified": [], "modified_at": "soon"}
                    },
                },
            )(stage),
            after=closed_by_a_person(),
            log=f"{STATE} is unreadable",
        ),
        check=one_change("closed"),
    ),
    Case(
        "alert_updated-checkpoint-is-a-directory",
        alert_case(
            before=file_at(CHECKPOINTS["alert"], ...),
            after=status_by_a_person("Acknowledged"),
            log=f"{CHECKPOINTS['alert']} is unreadable",
        ),
        check=status_changes(("alert", "Acknowledged")),
    ),
    Case(
        "alert_updated-checkpoint-of-wrong-types",
        alert_case(
            before=file_at(CHECKPOINTS["alert"], {"version": 1, "created_at": True, "floor": 0, "recent": {"a": "b"}}),
            after=status_by_a_person("Acknowledged"),
            log=f"{CHECKPOINTS['alert']} is unreadable",
        ),
        check=status_changes(("alert", "Acknowledged")),
    ),
]

CLASS_8 = [
    Case(
        "incident_updated-an-incident-modified-tomorrow",
        incident_case(before=modified_tomorrow, after=closed_by_a_person()),
        check=all_of(one_change("closed"), checkpoint_not_ahead("incident")),
    ),
    Case(
        "incident_updated-a-war-room-note-dated-tomorrow-before-the-start",
        incident_case(
            before=noted_dated("from tomorrow", tomorrow),
            after=steps(noted_by_a_person("later"), polls(2)),
            events=2,
            log="dated by what is known",
        ),
        check=notes_once("from tomorrow", "later"),
    ),
    Case(
        "incident_updated-a-war-room-note-dated-tomorrow-then-a-later-note",
        incident_case(
            after=steps(noted_dated("from tomorrow", tomorrow), polls(2), noted_by_a_person("later"), polls(2)),
            events=2,
        ),
        check=notes_once("from tomorrow", "later"),
    ),
    Case(
        "incident_updated-a-war-room-note-without-date",
        incident_case(
            after=steps(noted_dated("undated", None), polls(2), noted_by_a_person("later"), polls(2)),
            events=2,
            log="dated by what is known",
        ),
        check=notes_once("undated", "later"),
    ),
    Case(
        "alert_updated-a-history-entry-dated-tomorrow",
        alert_case(
            before=steps(status_by_a_person("Acknowledged"), history_dates(lambda now: int(now) + DAY)),
            settings={"backfill_minutes": 10},
            ready=1,
            after=status_by_a_person("Ongoing"),
            events=2,
        ),
        check=all_of(status_changes(("alert", "Acknowledged"), ("alert", "Ongoing")), checkpoint_not_ahead("alert")),
    ),
    Case(
        "alert_updated-history-without-dates",
        alert_case(
            before=steps(status_by_a_person("Acknowledged"), history_dates(None)),
            settings={"backfill_minutes": 10},
            log="dated by what is known",
        ),
        check=status_changes(("alert", "Acknowledged")),
    ),
]

CASES = CLASS_1 + CLASS_6 + CLASS_7 + CLASS_8


@pytest.fixture
def stage(xsoar, data_path):
    with SekoiaSimulator(api_key=SEKOIA_KEY, seed_samples=False) as sekoia:
        yield Stage(sekoia, xsoar, data_path)


def configuration(stage: Stage) -> dict:
    """Both services' secrets are the module's: each trigger must mask them all."""
    return {
        "base_url": stage.sekoia.url,
        "api_key": SEKOIA_KEY,
        "xsoar_mode": "api",
        "xsoar_url": stage.xsoar.api_url_v8,
        "xsoar_api_key": XSOAR_API_KEY,
        "xsoar_api_key_id": "17",
    }


def start(symphony: Symphony, stage: Stage, kind: str, settings: dict):
    if kind == "alert":
        return start_listening_trigger(
            symphony,
            stage.sekoia,
            TRIGGERS[kind],
            configuration(stage),
            stage.data_path,
            trigger_configuration=settings,
        )
    searches = stage.xsoar.count("POST", "/incidents/search")
    run = symphony.start_trigger(TRIGGERS[kind], configuration(stage), settings, data_path=stage.data_path)
    until(lambda: stage.xsoar.count("POST", "/incidents/search") >= searches + 4, WAIT, "two polls")
    return run


@pytest.mark.parametrize("case", params(CASES))
def test_sync_triggers(case, stage, symphony):
    given = case.given
    given["before"](stage)
    run = start(symphony, stage, given["trigger"], given["settings"])
    try:
        run.wait_for_events(given.get("ready", 0), timeout=WAIT)  # what the first catch-up emits, before the changes
        if given["after"] is not None:
            given["after"](stage)
        run.wait_for_events(given["events"], timeout=WAIT)
        if given["log"]:
            run.wait_for_log(given["log"], timeout=WAIT)
        assert run.is_running(), f"the trigger exited: {run.stderr[-1500:]}"
    finally:
        run.stop()
    outcome = Outcome(
        logs=[f"{log.get('level')}: {log.get('message')}" for log in run.logs],
        visible={"events": json.dumps(run.events), "stderr": run.stderr} | data_files(stage.data_path),
        extra={"events": run.events, "stage": stage},
    )
    assert_clean(outcome, case)
    sekoia_key = canary_forms(SEKOIA_KEY)
    for request in stage.xsoar.requests:
        text = json.dumps(request, default=lambda value: value.decode("utf-8", "replace"))
        assert not any(form in text for form in sekoia_key), "the Sekoia.io API key was sent to XSOAR"
    assert not [log for log in run.logs if log.get("level") == "critical"], "a critical log stops the trigger"
    assert "Traceback" not in run.stderr, run.stderr[-1500:]
    case.check(outcome)
