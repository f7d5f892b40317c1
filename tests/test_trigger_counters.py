"""What a SOC reads of the triggers: counters that move as the events do, a summary line at a fixed interval, the
metrics endpoint the platform scrapes, `lab runs`; and each action's outcome class in its logs."""

import threading
import time
from typing import Any

import pytest
import requests
from sekoia_automation.exceptions import SendEventError

from lab.doubles.sekoia import SekoiaSimulator
from lab.doubles.symphony import Symphony, TriggerRun
from lab.tools.history import BlockRun, History, Run
from lab.tools.views import counters_table, runs_table
from tests.support import SEKOIA_KEY, settled_events, start_listening_trigger, until
from xsoar_module.clients.liveapi import AlertCreatedNotification
from xsoar_module.sync.marker import marked
from xsoar_module.timing import Backoff
from xsoar_module.triggers.core.checkpoint import Checkpoint, CheckpointStore, Ledger
from xsoar_module.triggers.core.counters import TriggerCounters
from xsoar_module.triggers.core.emitter import Echo, Emitter, JsonObject
from xsoar_module.triggers.core.session import LiveSession
from xsoar_module.triggers.core.waits import LiveTimings

URGENT = {"current_value": 80, "value": 80, "display": "High"}
LOW = {"current_value": 10, "value": 10, "display": "Low"}


@pytest.fixture
def sekoia():
    """A fresh simulator per test, so that each trigger counts only the changes of its test."""
    with SekoiaSimulator(api_key=SEKOIA_KEY, seed_samples=False) as simulator:
        yield simulator


def start(symphony: Symphony, sekoia: SekoiaSimulator, trigger: str, data_path, settings: dict) -> TriggerRun:
    config = {"base_url": sekoia.url, "api_key": SEKOIA_KEY, "xsoar_url": "http://127.0.0.1:9/unused"}
    return start_listening_trigger(symphony, sekoia, trigger, config, data_path, trigger_configuration=settings)


def counted(run: TriggerRun, **expected: float) -> dict[str, float]:
    """The counters the trigger's metrics endpoint serves, once they hold `expected`."""
    until(
        lambda: all((run.counters() or {}).get(name) == value for name, value in expected.items()),
        what=f"counters {expected} (served: {run.counters()})",
    )
    return run.counters() or {}


def summaries(run: TriggerRun) -> list[str]:
    return [log["message"] for log in run.logs if "counters since start" in log["message"]]


def test_alert_created_counts_what_it_emits_and_filters_and_serves_it(symphony, sekoia, data_path):
    run = start(symphony, sekoia, "AlertCreatedTrigger", data_path, {"min_urgency": 50, "summary_interval": 1})
    for urgency in (URGENT, LOW, URGENT):
        sekoia.add_alert(events=0, urgency=urgency)
    settled_events(run, 2)
    counters = counted(run, emitted=2, filtered=1)
    assert counters | {"delay_mean": 0} == {
        "emitted": 2,
        "filtered": 1,
        "echoes_suppressed": 0,
        "superseded": 0,
        "retried": 0,
        "failed": 0,
        "delays": 2,
        "delay_mean": 0,
    }
    assert 0 <= counters["delay_mean"] < 60  # whole seconds from the alert's creation to its run
    line = "Alert Created counters since start: 2 emitted, 1 filtered, 0 echoes suppressed, 0 superseded, 0 retried"
    run.wait_for_log(line, "info")  # the summary line of the interval, before any stop
    assert run.stop() == 0
    assert summaries(run)[-1].startswith(line + ", 0 failed; delay from change to emission: mean ")  # at the stop


def test_alert_updated_counts_the_modules_own_changes_as_echoes(symphony, sekoia, data_path):
    alert = sekoia.add_alert(events=0)
    run = start(symphony, sekoia, "AlertUpdatedTrigger", data_path, {})
    sekoia.comment_as_person(alert["uuid"], "a person's comment")
    answer = requests.post(  # what Update Alert writes: with the module's key, marked
        f"{sekoia.url}/v1/sic/alerts/{alert['uuid']}/comments",
        json={"content": marked("mirrored from XSOAR"), "author": "bot"},
        headers={"Authorization": f"Bearer {SEKOIA_KEY}"},
        timeout=5,
    )
    assert answer.ok, answer.text
    settled_events(run, 1)
    counters = counted(run, emitted=1, echoes_suppressed=1)
    assert (counters["filtered"], counters["failed"]) == (0, 0)
    assert run.stop() == 0
    assert "1 emitted, 0 filtered, 1 echoes suppressed" in summaries(run)[-1]


class Kind:
    """Items `{"key", "at"}` as they come."""

    def key(self, received: JsonObject) -> str | None:
        return received["key"]

    def time_of(self, received: JsonObject) -> float | None:
        return received["at"]

    def label(self, received: JsonObject) -> str:
        return f"Item {received['key']}"

    def parse(self, received: JsonObject) -> JsonObject:
        return received

    def summary(self, item: JsonObject) -> str:
        return ""


def test_the_emitter_counts_each_outcome_once(tmp_path):
    counters = TriggerCounters("unit")
    attempts: dict[str, int] = {}

    def emit(item: JsonObject) -> None:
        attempts[item["key"]] = attempts.get(item["key"], 0) + 1
        if item["key"] == "flaky" and attempts["flaky"] == 1:
            raise SendEventError("the platform is busy")  # retried
        if item["key"] == "broken":
            raise ValueError("a field of the wrong type")  # given up

    def select(item: JsonObject) -> str | None:
        return {"own": Echo("made by this module"), "skipped": "below min_urgency"}.get(item["key"])

    emitter = Emitter(
        Kind(),
        Ledger(CheckpointStore(tmp_path / "checkpoint.json"), Checkpoint(0, 0)),
        select=select,
        emit=emit,
        log=lambda *_: None,
        stop=threading.Event(),
        retry=Backoff(first=0.0),
        counters=counters,
    )
    changed = time.time() - 30
    for key in ("ok", "flaky", "broken", "own", "skipped", "ok"):
        emitter.handle({"key": key, "at": changed})
    snapshot = counters.snapshot()
    assert {name: snapshot[name] for name in ("emitted", "filtered", "echoes_suppressed", "retried", "failed")} == {
        "emitted": 2,
        "filtered": 1,
        "echoes_suppressed": 1,
        "retried": 1,
        "failed": 1,
    }
    assert snapshot["delays"] == 2 and 30 <= snapshot["delay_mean"] < 90


class Listener:
    """Notifies alert A's change, then, once it started a run, A again: read back as the same (later) change."""

    def __init__(self, handler: Any, emitted: list[JsonObject]):
        self._handler = handler
        self._emitted = emitted
        self._closed = threading.Event()

    def run(self) -> None:
        self._handler.connected()
        self._handler.notified(AlertCreatedNotification("A"))
        until(lambda: len(self._emitted) == 1, what="the first notification's run")
        self._handler.notified(AlertCreatedNotification("A"))
        self._closed.wait()

    def close(self) -> None:
        self._closed.set()


class Source:
    """A LiveAPI source whose every read of alert A gives its latest change (`A@100:Closed`)."""

    what = "the changes"

    def __init__(self, emitted: list[JsonObject]):
        self._emitted = emitted

    def listener(self, handler: Any) -> Listener:
        return Listener(handler, self._emitted)

    def fetch_one(self, key: str) -> JsonObject:
        return {"key": f"{key}@100:Closed", "at": time.time()}

    def fetch_many(self, keys: list[str]) -> dict[str, JsonObject]:
        return {}

    def list_since(self, since: int) -> list[JsonObject | None]:
        return []

    def close(self) -> None:
        pass


def test_a_notified_change_read_back_as_one_already_emitted_is_counted_superseded(tmp_path):
    counters, emitted, stop = TriggerCounters("unit"), [], threading.Event()
    ledger = Ledger(CheckpointStore(tmp_path / "checkpoint.json"), Checkpoint(0, 0))
    timings = LiveTimings(idle_wait=0.05, startup_grace=0.0)
    emitter = Emitter(
        Kind(),
        ledger,
        select=lambda _item: None,
        emit=emitted.append,
        log=lambda *_: None,
        stop=stop,
        retry=timings.send_retry,
        counters=counters,
    )
    session = LiveSession(
        Source(emitted), emitter, ledger, log=lambda *_: None, heartbeat=lambda: None, stop=stop, timings=timings
    )
    serving = threading.Thread(target=session.serve, daemon=True)
    serving.start()
    try:
        until(lambda: counters.snapshot()["superseded"] == 1, what="the second notification counted superseded")
    finally:
        stop.set()
        session.wake()
        serving.join(timeout=10)
    assert (counters.snapshot()["emitted"], len(emitted)) == (1, 1)


def block(node_id: str, logs: Any) -> BlockRun:
    return BlockRun(node_id, "Update Incident", "succeeded", None, None, logs, None, "", 0.1)


def test_lab_runs_shows_each_blocks_outcome_class_and_the_triggers_counters(tmp_path):
    run = Run(1, "sync", "uuid", "ALx status Closed", "succeeded", "2026-01-01T00:00:00.000", None, None)
    run.blocks.append(block("1", [{"level": "info", "message": "Outcome: superseded"}]))
    with History(tmp_path / "runs.sqlite3") as history:
        history.record_counters("sync", "Alert Updated", {"emitted": 3, "echoes_suppressed": 2, "delays": 3})
        counts = history.recent_counters()
    assert [(count.trigger, count.counters["echoes_suppressed"]) for count in counts] == [("Alert Updated", 2)]
    assert "1:succeeded (superseded)" in text_of(runs_table([run]))
    shown = text_of(counters_table(counts))
    assert "Alert Updated" in shown and "echoes" in shown


def text_of(table: Any) -> str:
    from rich.console import Console

    console = Console(width=250, record=True)
    console.print(table)
    return console.export_text()
