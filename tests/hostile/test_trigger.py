"""Hostile LiveAPI frames, Sekoia.io answers and configurations, against the Alert Created trigger run as a process.

Frames and answers share one trigger (starting a process per case would cost seconds each): the session plays every
case in order, each followed by a probe alert whose event proves the trigger still works; the logs between two
probes belong to the case. Configuration cases each start their own trigger, all at once.
"""

import base64
import contextlib
import json
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from lab.doubles.faults import Fault
from lab.doubles.sekoia import SekoiaSimulator
from lab.doubles.symphony import TriggerRun
from tests.hostile.harness import Case, Outcome, RecordingHost, assert_clean, data_files, params
from tests.hostile.harness import in_turn as all_of
from tests.hostile.live import LiveStub
from tests.support import SEKOIA_KEY, came_true

# one worker plays the shared trigger session and the configuration cases (started together): not once per worker
pytestmark = [pytest.mark.xdist_group("hostile-trigger"), pytest.mark.long]
TRIGGER = "AlertCreatedTrigger"
ROOT = Path(__file__).resolve().parents[2]
SAMPLE = json.loads((ROOT / "lab" / "samples" / "alert.json").read_text())
MIB = 1024 * 1024
PROBE_TIMEOUT = 45.0  # an upper bound: under load (2 shared cores) a probe may take long


def notification(alert_uuid: Any, kind: str = "alert", action: str = "created", **attributes: Any) -> str:
    return json.dumps(
        {
            "metadata": {"version": 2, "uuid": str(uuid.uuid4()), "community_uuid": SAMPLE["community_uuid"]},
            "type": kind,
            "action": action,
            "attributes": {"uuid": alert_uuid, **attributes},
        }
    )


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


@dataclass
class World:
    sekoia: SekoiaSimulator
    live: LiveStub
    foreign: RecordingHost
    stub: RecordingHost
    data_path: Path
    run: TriggerRun | None = None
    notes: dict[str, Any] = field(default_factory=dict)


@dataclass
class Played:
    """What one case produced in the shared session."""

    events: list[dict] = field(default_factory=list)
    logs: list[dict] = field(default_factory=list)
    alive: bool = True
    failure: str = ""
    notes: dict[str, Any] = field(default_factory=dict)


def stored(world: World, **overrides: Any) -> dict:
    return world.sekoia.add_alert(notify=False, events=1, **overrides)


def answered(world: World, body: str, status: int = 200, alert_uuid: str | None = None) -> list[str]:
    """A notification for a new uuid whose GET the simulator answers with `body` (once)."""
    alert_uuid = alert_uuid or str(uuid.uuid4())
    world.sekoia.faults.script(Fault(status=status, raw_body=body), path_contains=f"/v1/sic/alerts/{alert_uuid}")
    world.notes["uuid"] = alert_uuid
    return [notification(alert_uuid)]


def shaped(drop: tuple[str, ...] = (), **overrides: Any):
    """A notification whose alert comes back with these fields changed or left out (a real alert's shape)."""

    def frames(world: World) -> list[str]:
        alert = SAMPLE | {"uuid": str(uuid.uuid4()), "created_at": int(time.time())} | overrides
        alert = {key: value for key, value in alert.items() if key not in drop}
        return answered(world, json.dumps(alert), alert_uuid=alert["uuid"])

    return frames


def of_stored(kind: str = "alert", action: str = "created", times: int = 1, age: int = 0):
    """Notifications about an alert the simulator has; `age` seconds old, no catch-up lists it."""

    def frames(world: World) -> list[str]:
        alert = stored(world, created_at=int(time.time()) - age) if age else stored(world)
        world.notes |= {"uuid": alert["uuid"], "ignored": action != "created" or kind != "alert"}
        return [notification(alert["uuid"], kind, action, short_id=alert["short_id"])] * times

    return frames


def event_uuids(played: Played) -> list[str]:
    return [event["event"]["alert_uuid"] for event in played.events]


def one_event(played: Played) -> None:
    assert event_uuids(played).count(played.notes["uuid"]) == 1, f"events: {event_uuids(played)}"


def no_event(played: Played) -> None:
    assert played.notes.get("uuid") not in event_uuids(played), "a run started for it"


def log_says(pattern: str):
    import re

    def check(played: Played) -> None:
        text = "\n".join(str(log.get("message")) for log in played.logs)
        assert re.search(pattern, text, re.IGNORECASE), f"no log matching {pattern!r} in: {text[:800]}"

    return check


def single_line_logs(played: Played) -> None:
    broken = [
        log["message"] for log in played.logs if "\n" in str(log.get("message")) or "\r" in str(log.get("message"))
    ]
    assert not broken, f"log lines with line breaks: {broken[:2]}"


FRAMES = [
    Case("frame-not-json", {"frames": ["hello"]}),
    Case("frame-empty", {"frames": [""]}),
    Case("frame-truncated-json", {"frames": ['{"type": "alert", "action": "crea']}),
    Case("frame-null", {"frames": ["null"]}),
    Case("frame-list", {"frames": ["[]"]}),
    Case("frame-number", {"frames": ["42"]}),
    Case("frame-string", {"frames": ['"created"']}),
    Case("frame-binary-garbage", {"frames": [b"\x00\xff\xfe\x80"]}),
    Case(
        "frame-binary-notification",
        {"frames": lambda world: [frame.encode() for frame in of_stored()(world)]},
        check=one_event,
    ),
    Case("frame-deep-nesting", {"frames": ["[" * 100_000]}),
    Case("frame-900KiB-json", {"frames": [json.dumps({"type": "noise", "junk": "j" * (900 * 1024)})]}),
    Case("frame-authenticated-true-again", {"frames": ['{"authenticated": true}']}),
    Case("frame-authenticated-text-false", {"frames": ['{"authenticated": "false"}']}),
    Case("frame-metadata-not-object", {"frames": ['{"metadata": "v2", "type": "alert", "action": "created"}']}),
    Case("frame-version-1", {"frames": ['{"metadata": {"version": 1}, "type": "alert", "action": "created"}']}),
    Case("frame-unknown-type", {"frames": [notification("x", kind="case")]}),
    Case("frame-unknown-type-1MiB", {"frames": [notification("x", kind="t" * (MIB - 200))]}),
    Case("frame-type-echoes-the-key", {"frames": [notification("x", kind=SEKOIA_KEY)]}),
    Case("frame-alert-updated", {"frames": of_stored(action="updated", age=86400)}, check=no_event),
    Case("frame-comment-created", {"frames": of_stored(kind="alert-comment", age=86400)}, check=no_event),
    Case("frame-case-updated", {"frames": of_stored(kind="case", action="updated", age=86400)}, check=no_event),
    Case("frame-attributes-null", {"frames": ['{"metadata": {"version": 2}, "type": "alert", "action": "created"}']}),
    Case("frame-uuid-number", {"frames": [notification(12345)]}),
    Case("frame-uuid-empty", {"frames": [notification("  ")]}),
    Case(
        "frame-uuid-missing",
        {"frames": ['{"metadata": {"version": 2}, "type": "alert", "action": "created", "attributes": {}}']},
    ),
    Case(
        "frame-uuid-traversal-crlf",
        {"frames": [notification("../../v1/me\r\nX: y")]},
        check=single_line_logs,
    ),
    Case("frame-uuid-unknown", {"frames": [notification(str(uuid.uuid4()))]}),
    Case("frame-uuid-is-the-key", {"frames": [notification(SEKOIA_KEY)]}),
    Case("frame-duplicate-notification", {"frames": of_stored(times=3)}, check=one_event),
    # the alert the notification names comes back in a real-world or hostile shape
    Case(
        "answer-nulls-of-real-alerts",
        {"frames": shaped(last_seen_at=None, rule=SAMPLE["rule"] | {"type": None}, target=None, detection_type=None)},
        check=one_event,
    ),
    Case(
        "answer-old-alert-absent-fields",
        {"frames": shaped(drop=("title", "first_seen_at", "last_seen_at"))},
        check=one_event,
    ),
    Case(
        "answer-rule-entity-null-urgency-display",
        {"frames": shaped(rule=None, entity=None, urgency={"display": "High"})},
        check=one_event,
    ),
    Case("answer-10MiB-details", {"frames": shaped(details="d" * (10 * MIB))}, check=one_event),
    Case(
        "answer-200-html",
        {"frames": lambda world: answered(world, "<html>maintenance</html>")},
        check=all_of(no_event, log_says(r"not JSON")),
    ),
    Case(
        "answer-json-list",
        {"frames": lambda world: answered(world, "[]")},
        check=all_of(no_event, log_says(r"not an object")),
    ),
    Case(
        "answer-404-echoes-the-key",
        {"frames": lambda world: answered(world, json.dumps({"message": f"no alert, Bearer {SEKOIA_KEY}"}), 404)},
        check=no_event,
    ),
    Case(
        "answer-400-echoes-the-key-base64",
        {"frames": lambda world: answered(world, json.dumps({"message": b64(f"Bearer {SEKOIA_KEY}")}), 400)},
        check=no_event,
    ),
    Case(
        "answer-short_id-wrong-type",
        {"frames": shaped(short_id=123)},
        check=log_says(r"cannot be sent|given up"),
    ),
    # last: its retries log again later
    Case(
        "frame-uuid-512KiB",
        {"frames": [notification("u" * (512 * 1024))]},
    ),
]

LISTING = [
    ("listing-without-uuid", {"short_id": "ALnouuid0001"}, log_says(r"unusable|uuid")),
    ("listing-not-an-object", "garbage", log_says(r"unusable")),
    ("listing-without-rule", {"rule": None}, one_event),
    ("listing-entity-null", {"entity": None}, one_event),
    ("listing-urgency-display-only", {"urgency": {"display": "High"}}, one_event),
    ("listing-nulls-of-real-alerts", {"last_seen_at": None, "target": None, "detection_type": None}, one_event),
    ("listing-created_at-null", {"created_at": None}, one_event),
    ("listing-old-alert-absent-fields", {"title": ..., "first_seen_at": ..., "last_seen_at": ...}, one_event),
]
LISTING_CASES = [Case(name, {"item": item}, check=check) for name, item, check in LISTING]


def listing_item(item: Any, now: int) -> Any:
    if not isinstance(item, dict):
        return item
    if "short_id" in item:  # no uuid at all
        return {key: value for key, value in (SAMPLE | item).items() if key != "uuid"} | {"created_at": now}
    alert = SAMPLE | {"uuid": str(uuid.uuid4()), "short_id": "AL" + uuid.uuid4().hex[:10], "created_at": now} | item
    return {key: value for key, value in alert.items() if value is not ...}


def start(symphony, world: World, configuration: dict | None = None, secrets: dict | None = None) -> TriggerRun:
    config = {
        "base_url": world.sekoia.url,
        "api_key": SEKOIA_KEY,
        "liveapi_url": world.live.url,
        "xsoar_url": "http://127.0.0.1:9/unused",
    } | (configuration or {})
    return symphony.start_trigger(TRIGGER, config, {}, secrets=secrets, data_path=world.data_path)


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    with (
        SekoiaSimulator(api_key=SEKOIA_KEY, seed_samples=False) as sekoia,
        LiveStub(SEKOIA_KEY) as live,
        RecordingHost("foreign-trigger") as foreign,
        RecordingHost("stub-trigger") as stub,
    ):
        yield World(sekoia, live, foreign, stub, tmp_path_factory.mktemp("trigger") / "data")


@pytest.fixture(scope="module")
def session(started_trigger_configurations, world, symphony) -> dict[str, Played]:
    """Play every listing and frame case on one trigger; what each produced, by case id.

    The trigger configuration cases start first: they wait for their outcome meanwhile."""
    now = int(time.time())
    items = {case.id: listing_item(case.given["item"], now) for case in LISTING_CASES}
    for item in items.values():  # a reduced listing item makes the trigger read the whole alert: the world has it
        if isinstance(item, dict) and item.get("uuid") and isinstance(item.get("urgency"), dict):
            world.sekoia.add_alert(notify=False, **(item | {"urgency": SAMPLE["urgency"]}))
    page = {"total": len(items), "has_more": False, "items": list(items.values())}
    world.sekoia.faults.script(
        Fault(status=200, raw_body=json.dumps(page)),
        method="GET",
        path_contains="sort=created_at",  # the catch-up listing, not a fetch
    )
    run = world.run = start(symphony, world)
    played: dict[str, Played] = {}
    try:
        world.live.wait_for_upgrades(1, timeout=90)
        markers = [probe(world, run)]
        for case in FRAMES:
            world.notes = {}
            frames = case.given["frames"]
            for frame in frames(world) if callable(frames) else frames:
                world.live.send(frame)
            if (notified := world.notes.get("uuid")) and not world.notes.get("ignored"):
                # its outcome before the probe: both could be fetched together
                came_true(lambda: outcome_seen(run, notified), timeout=2)
            played[case.id] = Played(notes=dict(world.notes))
            marker = probe(world, run)
            markers.append(marker)
            if marker is None:
                played[case.id].alive, played[case.id].failure = False, "no probe event: the trigger stopped working"
                break
    finally:
        code = run.stop(timeout=15)
    logs, events = run.logs, run.events
    startup = Played(events=events, logs=_between(logs, None, markers[0]))
    for case in LISTING_CASES:
        played[case.id] = Played(
            events=events,
            logs=startup.logs,
            notes={"uuid": (items[case.id] or {}).get("uuid") if isinstance(items[case.id], dict) else None},
        )
    previous = markers[0]
    for case, marker in zip(FRAMES, markers[1:], strict=False):  # fewer markers when the trigger stopped
        played[case.id].logs = _between(logs, previous, marker)
        played[case.id].events = events
        previous = marker
    files = data_files(world.data_path) | data_files(world.data_path.with_name("data_runs"))  # read once: all cases'
    world.notes = {"exit": code, "stderr": run.stderr, "files": files}
    return played


def outcome_seen(run: TriggerRun, alert_uuid: str) -> bool:
    """The alert's run started (its event came) or a log line named it (logs come in batches: later)."""
    return any(event["event"]["alert_uuid"] == alert_uuid for event in run.events) or any(
        alert_uuid in str(log.get("message")) for log in run.logs
    )


def probe(world: World, run: TriggerRun) -> str | None:
    """A fresh alert notified through the LiveAPI; its short id once its event came, None if it never did."""
    alert = stored(world)
    with contextlib.suppress(Exception):  # a closed connection: the catch-up after reconnecting must find the alert
        world.live.send(notification(alert["uuid"], short_id=alert["short_id"]))
    came = came_true(
        lambda: any(event["event"]["alert_uuid"] == alert["uuid"] for event in run.events) or not run.is_running(),
        PROBE_TIMEOUT,
    )
    return alert["short_id"] if came and run.is_running() else None


def _between(logs: list[dict], after: str | None, upto: str | None) -> list[dict]:
    def index(short_id: str | None, default: int) -> int:
        if short_id is None:
            return default
        return next(
            (
                n
                for n, log in enumerate(logs)
                if short_id in str(log.get("message")) and "started a run" in str(log.get("message"))
            ),
            default,
        )

    start = index(after, -1) + 1
    return logs[start : index(upto, len(logs) - 1) + 1]


def outcome_of(played: Played, world: World) -> Outcome:
    return Outcome(
        logs=[str(log.get("message")) for log in played.logs],
        results=[event["event"] for event in played.events],
        visible=world.notes["files"],
        foreign=list(world.foreign.requests),
    )


@pytest.mark.parametrize("case", params(LISTING_CASES + FRAMES))
def test_frames_and_answers(case, session, world):
    played = session[case.id]
    assert played.alive, played.failure
    assert_clean(outcome_of(played, world), case)
    if case.check is not None:
        case.check(played)


def test_the_trigger_output_is_clean_and_it_stopped_cleanly(session, world):
    assert world.notes["exit"] == 0
    stderr = world.notes["stderr"]
    assert "Traceback" not in stderr, stderr[-2000:]
    assert_clean(Outcome(visible={"stderr": stderr}), Case("stderr"))
