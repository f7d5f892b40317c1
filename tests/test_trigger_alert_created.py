"""Alert Created end to end: the trigger process run as the platform does, against the Sekoia.io simulator."""

import json
import threading
import time
from collections import Counter
from dataclasses import replace
from pathlib import Path

import pytest
from sekoia_automation.exceptions import SendEventError

from lab.doubles.faults import Fault
from lab.doubles.sekoia import SekoiaSimulator
from lab.doubles.symphony import Symphony, TriggerRun
from tests.support import SAMPLES, SEKOIA_KEY, assert_no_secret, settled_events, start_listening_trigger, stays, until
from xsoar_module.clients.liveapi import AlertCreatedNotification
from xsoar_module.errors import UnavailableError
from xsoar_module.models.alert import Alert
from xsoar_module.timing import Backoff
from xsoar_module.triggers.alert_created import AlertCreatedConfiguration
from xsoar_module.triggers.alerts import AlertCreatedKind, AlertCreatedSource
from xsoar_module.triggers.core.checkpoint import Checkpoint, CheckpointStore, Ledger
from xsoar_module.triggers.core.counters import TriggerCounters
from xsoar_module.triggers.core.emitter import Emitter
from xsoar_module.triggers.core.session import LiveSession
from xsoar_module.triggers.core.waits import LiveTimings

TRIGGER = "AlertCreatedTrigger"
QUIET = 0.2  # the same, for a feed served in process


@pytest.fixture
def sekoia():
    """A fresh simulator per test (no seeded alert), so that each trigger sees only the alerts of its test."""
    with SekoiaSimulator(api_key=SEKOIA_KEY, seed_samples=False) as simulator:
        yield simulator


@pytest.fixture
def symphony(symphony: Symphony):
    yield symphony
    symphony.faults.clear()


def module_configuration(sekoia: SekoiaSimulator, api_key: str = SEKOIA_KEY) -> dict:
    return {"base_url": sekoia.url, "api_key": api_key, "xsoar_url": "http://127.0.0.1:9/unused"}


def start(symphony: Symphony, sekoia: SekoiaSimulator, data_path: Path, settings: dict | None = None, **kwargs):
    """Start the trigger; return once it listens and its first catch-up listed the alerts (none pending)."""
    config = module_configuration(sekoia)
    return start_listening_trigger(
        symphony, sekoia, TRIGGER, config, data_path, trigger_configuration=settings or {}, **kwargs
    )


def emitted(run: TriggerRun, expected: int, timeout: float = 20) -> Counter:
    """The alert uuids of the events, once `expected` arrived; fails as soon as one more comes within SETTLE."""
    return Counter(event["event"]["alert_uuid"] for event in settled_events(run, expected, timeout))


def stopped_logs(run: TriggerRun) -> list[dict]:
    """Stop gracefully (the SDK sends the pending logs on its way out) and return every log."""
    assert run.stop() == 0
    assert_no_secret(run.logs, run.stderr)
    return run.logs


def messages(logs: list[dict], level: str | None = None) -> str:
    return "\n".join(log["message"] for log in logs if level in (None, log["level"]))


def test_live_alerts_start_one_run_each_with_the_full_alert_file(symphony, sekoia, data_path):
    files: dict[str, dict] = {}

    def read_alert_file(event: dict) -> None:  # runs while the event POST is held: the directory still exists
        files[event["event"]["alert_uuid"]] = json.loads((data_path / event["event"]["file_path"]).read_text())

    symphony.faults.rate(1.0, Fault(delay_after=0.3), method="POST", path_contains="/callback/")
    run = start(symphony, sekoia, data_path, on_event=read_alert_file)
    alerts = [sekoia.add_alert(events=0) for _ in range(3)]
    assert emitted(run, 3) == Counter(alert["uuid"] for alert in alerts)

    first, event = alerts[0], run.events[0]
    assert event["event"] == {
        "file_path": f"{event['directory']}/alert.json",
        "event_type": "alert",
        "alert_uuid": first["uuid"],
        "short_id": first["short_id"],
        "status": {"uuid": first["status"]["uuid"], "name": "Pending"},
        "created_at": first["created_at"],
        "urgency": first["urgency"]["current_value"],
        "entity": first["entity"],
        "alert_type": first["alert_type"],
        "rule": {"name": first["rule"]["name"], "uuid": first["rule"]["uuid"]},
        "first_seen_at": first["first_seen_at"],
        "last_seen_at": first["last_seen_at"],
    }
    # the alert as Sekoia.io answers it: read alone, with its history and comments (no query flag needed, as the
    # real sample), or from a listing, without
    answered = {
        uuid: {k: v for k, v in file.items() if k not in ("comments", "history")} for uuid, file in files.items()
    }
    assert answered == {alert["uuid"]: alert for alert in alerts}
    assert all(file.get("history", []) == [] and file.get("comments", []) == [] for file in files.values())
    assert not (data_path / event["directory"]).exists()  # removed once the platform took the event
    logs = stopped_logs(run)
    assert f"Alert {first['short_id']} ({first['uuid']}) started a run" in messages(logs, "info")


def test_alerts_created_while_stopped_or_after_a_crash_start_runs_after_restart_once(symphony, sekoia, data_path):
    run = start(symphony, sekoia, data_path)
    before = sekoia.add_alert(events=0)
    assert emitted(run, 1) == Counter([before["uuid"]])
    assert run.stop() == 0

    while_stopped = [sekoia.add_alert(events=0) for _ in range(3)]
    run = start(symphony, sekoia, data_path)
    assert emitted(run, 3) == Counter(alert["uuid"] for alert in while_stopped)  # `before` is not repeated

    run.kill()  # SIGKILL: nothing flushed on the way out
    while_dead = sekoia.add_alert(events=0)
    run = start(symphony, sekoia, data_path)
    live = sekoia.add_alert(events=0)
    assert emitted(run, 2) == Counter([while_dead["uuid"], live["uuid"]])
    assert "Resuming after the alerts created until" in messages(stopped_logs(run))


@pytest.mark.long
def test_alerts_created_while_stopped_start_runs_although_the_first_catch_ups_fail(symphony, sekoia, data_path):
    now = int(time.time())
    CheckpointStore(data_path / "alert_created_checkpoint.json").save(Checkpoint(now - 1800, now - 1800))
    while_stopped = [sekoia.add_alert(notify=False, events=0, created_at=now - 1200 + index) for index in range(2)]
    sekoia.faults.script(*[Fault()] * 5, method="GET", path_contains="/sic/alerts/")  # fetching one alert works
    sekoia.faults.script(*[Fault(status=500)] * 4, method="GET", path_contains="/sic/alerts")  # listing fails
    run = symphony.start_trigger(TRIGGER, module_configuration(sekoia), {}, data_path=data_path)
    sekoia.wait_for_clients(1, timeout=20)
    until(lambda: sekoia.request_counts["GET /v1/sic/alerts"] >= 4)
    live = sekoia.add_alert(events=0)  # sent while the catch-up waits for its retry
    assert emitted(run, 3, timeout=30) == Counter(alert["uuid"] for alert in [*while_stopped, live])
    assert "Catch-up of the alerts created since" in messages(stopped_logs(run), "warning")


def test_an_alert_that_cannot_be_sent_is_given_up_without_blocking_the_next(symphony, sekoia, data_path):
    run = start(symphony, sekoia, data_path)
    bad = sekoia.add_alert(events=[], first_seen_at=12345)
    good = sekoia.add_alert(events=0)
    assert emitted(run, 1) == Counter([good["uuid"]])
    logs = messages(stopped_logs(run), "error")
    assert (
        f"Alert {bad['short_id']} ({bad['uuid']}) cannot be sent to the playbook (ValueError: Invalid alert: "
        "first_seen_at: Input should be a valid string): given up, it started no run"
    ) in logs
    assert [path.name for path in data_path.iterdir()] == ["alert_created_checkpoint.json"]  # no directory left


def test_a_connection_drop_during_a_burst_loses_and_repeats_nothing(symphony, sekoia, data_path):
    run = start(symphony, sekoia, data_path)
    created = []
    for index in range(200):
        created.append(sekoia.add_alert(events=0)["uuid"])
        if index == 100:
            sekoia.drop_connections()
    assert emitted(run, 200, timeout=40) == Counter(created)
    assert sekoia.liveapi_connections_total == 2
    assert sekoia.request_counts["GET /v1/sic/alerts/{id}"] < 40  # a burst is fetched in listings, not one by one
    logs = stopped_logs(run)
    assert "reconnecting" in messages(logs, "warning")


def test_a_notification_received_twice_starts_one_run(symphony, sekoia, data_path):
    run = start(symphony, sekoia, data_path)
    sekoia.duplicate_notifications = True
    alerts = [sekoia.add_alert(events=0) for _ in range(3)]
    sekoia.notify(alerts[0])  # and once more, later
    assert emitted(run, 3) == Counter(alert["uuid"] for alert in alerts)
    assert len(run.events) == 3


def test_filters_select_the_alerts_that_start_a_run(symphony, sekoia, data_path):
    settings = {
        "rule_names_filter": ["PowerShell Download Cradle", "Other rule"],
        "min_urgency": 50,
        "entity_filter": ["hq workstations"],
        "alert_type_filter": ["intrusions"],
    }
    run = start(symphony, sekoia, data_path, settings)
    wanted = sekoia.add_alert(events=0)
    sekoia.add_alert(events=0, urgency=wanted["urgency"] | {"current_value": 20})
    sekoia.add_alert(events=0, rule=wanted["rule"] | {"name": "Unwanted rule", "uuid": "r-2"})
    sekoia.add_alert(events=0, entity={"uuid": "e-2", "name": "Elsewhere"})
    sekoia.add_alert(events=0, alert_type={"category": "malicious-code", "value": "ransomware"})
    also_wanted = sekoia.add_alert(events=0, rule=wanted["rule"] | {"name": "Other rule"})
    assert emitted(run, 2) == Counter([wanted["uuid"], also_wanted["uuid"]])
    assert "filters: rules" in messages(stopped_logs(run), "info")


def test_rule_filter_matches_a_rule_uuid(symphony, sekoia, data_path):
    rule_uuid = json.loads((SAMPLES / "alert.json").read_text())["rule"]["uuid"]
    run = start(symphony, sekoia, data_path, {"rule_filter": rule_uuid})
    kept = sekoia.add_alert(events=0, rule={"uuid": rule_uuid, "name": "Renamed"})
    sekoia.add_alert(events=0, rule={"uuid": "other", "name": "Other"})
    assert emitted(run, 1) == Counter([kept["uuid"]])


def test_a_bad_api_key_is_a_critical_log_naming_the_setting(symphony, sekoia, data_path):
    run = symphony.start_trigger(TRIGGER, module_configuration(sekoia, api_key="wrong-key"), {}, data_path=data_path)
    log = run.wait_for_log("api_key", level="critical", timeout=20)
    assert "rejected the API key (401)" in log["message"]
    assert sekoia.connected_clients == 0 and run.events == []
    run.stop()


def test_bad_frames_are_ignored_logged_and_the_trigger_keeps_running(symphony, sekoia, data_path):
    run = start(symphony, sekoia, data_path)
    for frame in [
        "not json {",
        json.dumps({"type": "alert", "action": "created", "attributes": {"uuid": "v1-style"}}),
        json.dumps({"metadata": {"version": 2}, "type": "weather", "action": "created", "attributes": {}}),
        json.dumps({"metadata": {"version": 2}, "type": "alert", "action": "created", "attributes": {}}),
    ] * 3:
        sekoia.send_raw(frame)
    alert = sekoia.add_alert(events=0)
    assert emitted(run, 1) == Counter([alert["uuid"]])
    logs = messages(stopped_logs(run))
    assert logs.count("Ignored a LiveAPI message that is not JSON") == 1  # once, not per frame
    assert logs.count("Ignored an alert creation notification without an alert uuid") == 1
    assert "unknown type 'weather'" in logs


def test_updates_comments_and_cases_start_no_run_and_the_next_alert_arrives(symphony, sekoia, data_path):
    run = start(symphony, sekoia, data_path)
    first = sekoia.add_alert(events=0)
    assert emitted(run, 1) == Counter([first["uuid"]])
    for alert in (first, *sekoia.add_real_alerts()):
        sekoia.notify_activity(alert)  # alert updated (status, urgency), comment created, case created and updated
    following = sekoia.add_alert(events=0)
    assert emitted(run, 2) == Counter([first["uuid"], following["uuid"]])
    logs = stopped_logs(run)
    assert not [log for log in logs if log["level"] in ("warning", "error", "critical")]


def test_reduced_listing_items_are_caught_up_as_whole_alerts(symphony, data_path):
    with SekoiaSimulator(api_key=SEKOIA_KEY, seed_samples=False, reduced_listing=True) as sekoia:
        now = int(time.time())
        while_stopped = [sekoia.add_alert(notify=False, events=0, created_at=now - 60 + index) for index in range(8)]
        run = start(symphony, sekoia, data_path, {"backfill_minutes": 10})
        assert emitted(run, 8) == Counter(alert["uuid"] for alert in while_stopped)
        assert sekoia.request_counts["GET /v1/sic/alerts/{id}"] >= 1  # the reduced items were fetched whole
        for event in run.events:
            alert = next(alert for alert in while_stopped if alert["uuid"] == event["event"]["alert_uuid"])
            assert event["event"]["rule"] == {"name": alert["rule"]["name"], "uuid": alert["rule"]["uuid"]}
            assert event["event"]["urgency"] == alert["urgency"]["current_value"]
        stopped_logs(run)


def test_failed_fetches_are_kept_pending_then_caught_up(symphony, sekoia, data_path):
    run = start(symphony, sekoia, data_path)
    sekoia.faults.script(*[Fault(status=503)] * 4, method="GET", path_contains="/sic/alerts/")
    alert = sekoia.add_alert(events=0)
    assert emitted(run, 1, timeout=30) == Counter([alert["uuid"]])
    logs = stopped_logs(run)
    assert f"Alert {alert['uuid']} could not be fetched (attempt 1/5" in messages(logs, "warning")


def test_an_alert_deleted_before_its_fetch_is_skipped_with_one_log(symphony, sekoia, data_path):
    run = start(symphony, sekoia, data_path)
    gone = sekoia.add_alert(notify=False, events=0)
    sekoia.remove_alert(gone["uuid"])
    sekoia.notify(gone)
    kept = sekoia.add_alert(events=0)
    assert emitted(run, 1) == Counter([kept["uuid"]])
    until(lambda: sekoia.request_log.count(("GET", f"/v1/sic/alerts/{gone['uuid']}", 404)) == 2)  # asked twice
    logs = messages(stopped_logs(run), "info")
    assert logs.count(f"Alert {gone['uuid']} was notified but Sekoia.io no longer has it (deleted): skipped") == 1
    assert len(run.events) == 1


def test_an_event_the_platform_refuses_is_sent_again(symphony, sekoia, data_path):
    run = start(symphony, sekoia, data_path)
    symphony.faults.script(Fault(status=429), method="POST", path_contains="/callback/")
    alert = sekoia.add_alert(events=0)
    assert emitted(run, 1, timeout=20) == Counter([alert["uuid"]])
    logs = stopped_logs(run)
    assert f"({alert['uuid']}) could not be sent to the playbook" in messages(logs, "error")


def test_an_invalid_setting_is_reported_once_and_ignored(symphony, sekoia, data_path):
    run = start(symphony, sekoia, data_path, {"min_urgency": 500, "entity_filter": "HQ workstations"})
    low = sekoia.add_alert(events=0, urgency={"current_value": 5})
    assert emitted(run, 1) == Counter([low["uuid"]])  # min_urgency ignored, entity_filter kept
    logs = stopped_logs(run)
    assert "min_urgency: Input should be less than or equal to 100" in messages(logs, "error")
    assert "filters: entities ['HQ workstations']" in messages(logs, "info")


def test_backfill_reaches_back_on_the_first_start_only(symphony, sekoia, data_path):
    now = int(time.time())
    recent = sekoia.add_alert(notify=False, events=0, created_at=now - 600)
    sekoia.add_alert(notify=False, events=0, created_at=now - 1800)
    run = start(symphony, sekoia, data_path, {"backfill_minutes": 15})
    assert emitted(run, 1) == Counter([recent["uuid"]])
    assert run.stop() == 0
    run = start(symphony, sekoia, data_path, {"backfill_minutes": 60})  # not a first start any more
    live = sekoia.add_alert(events=0)
    assert emitted(run, 1) == Counter([live["uuid"]])
    run.stop()


def test_sigterm_stops_promptly_and_keeps_the_checkpoint(symphony, sekoia, data_path):
    run = start(symphony, sekoia, data_path)
    sekoia.add_alert(events=0)
    run.wait_for_events(1)
    started = time.monotonic()
    assert run.stop() == 0
    assert time.monotonic() - started < 5
    checkpoint = json.loads((data_path / "alert_created_checkpoint.json").read_text())
    assert checkpoint["version"] == 1 and len(checkpoint["recent"]) == 1


# -- the configuration model, without a process ------------------------------------------------------------------


ALERT = json.loads((SAMPLES / "alert.json").read_text())


@pytest.mark.parametrize(
    ("settings", "reason"),
    [
        ({}, None),
        ({"rule_filter": "powershell download cradle"}, None),
        ({"rule_filter": ALERT["rule"]["uuid"]}, None),
        ({"rule_filter": "Other"}, "rule"),
        ({"rule_names_filter": ["Other", "PowerShell Download Cradle"]}, None),
        ({"min_urgency": 63}, None),
        ({"min_urgency": 64}, "urgency 63 is below min_urgency 64"),
        ({"entity_filter": [ALERT["entity"]["uuid"]]}, None),
        ({"entity_filter": ["Other"]}, "entity"),
        ({"alert_type_filter": ["system-compromise"]}, None),
        ({"alert_type_filter": ["ransomware"]}, "alert type"),
    ],
)
def test_filters(settings: dict, reason: str | None):
    outcome = AlertCreatedConfiguration.model_validate(settings).filtered_out_because(Alert.model_validate(ALERT))
    assert outcome is None if reason is None else reason in outcome


def test_an_alert_without_urgency_is_not_filtered_out_by_min_urgency():
    assert AlertCreatedConfiguration(min_urgency=90).filtered_out_because(Alert(uuid="u")) is None


def test_invalid_settings_are_dropped_with_the_reason():
    settings = AlertCreatedConfiguration.model_validate({"min_urgency": "high", "backfill_minutes": -1, "x": 1})
    assert (settings.min_urgency, settings.backfill_minutes) == (0, 0)
    assert "min_urgency" in settings.ignored and "backfill_minutes" in settings.ignored
    assert AlertCreatedConfiguration.model_validate(None).ignored is None
    assert AlertCreatedConfiguration.model_validate([1]).ignored == "the trigger configuration is not a JSON object"


def test_a_wrong_base_url_is_a_critical_log_naming_the_setting(symphony, sekoia, data_path):
    configuration = module_configuration(sekoia) | {"base_url": f"{sekoia.url}/api/elsewhere"}
    run = symphony.start_trigger(TRIGGER, configuration, {}, data_path=data_path)
    run.wait_for_log("base_url must be the Sekoia.io API base", level="critical", timeout=20)
    run.stop()


# -- the feed, in process, with a scripted Sekoia.io -------------------------------------------------------------


class ScriptedSekoia:
    """Alerts by uuid; `failing` uuids cannot be fetched, `unlisted` ones are missing from the listings.

    `fetched` counts the requests for one alert (`get_alert`); while `listing_down`, every catch-up fails.
    """

    def __init__(self, alerts: list[dict], failing: set[str] = frozenset(), unlisted: set[str] = frozenset()):
        self.alerts = {alert["uuid"]: alert for alert in alerts}
        self.failing, self.unlisted = failing, unlisted
        self.fetched: Counter = Counter()
        self.listing_down = False

    def get_alert(self, uuid: str) -> dict:
        self.fetched[uuid] += 1
        if uuid in self.failing:
            raise UnavailableError("Sekoia.io could not be reached")
        return dict(self.alerts[uuid])

    def get_alerts(self, uuids: list[str]) -> dict[str, dict]:
        return {uuid: dict(self.alerts[uuid]) for uuid in uuids if uuid not in self.unlisted | self.failing}

    def iter_alerts_created_since(self, since: int):
        if self.listing_down:
            raise UnavailableError("Sekoia.io answered HTTP 500")
        listed = [a for a in list(self.alerts.values()) if a["created_at"] >= since and a["uuid"] not in self.unlisted]
        yield from sorted(listed, key=lambda alert: alert["created_at"])

    def close(self) -> None:
        pass


UNREACHABLE_LIVEAPI = LiveTimings(reconnect=Backoff(first=30.0))
QUICK_RETRIES = Backoff(first=0.05, factor=1.0, longest=0.05)


class Feed:
    """A LiveSession of Alert Created served in a thread; its LiveAPI is unreachable, notifications are handed to it
    directly.

    `failures`: uuid -> the exceptions its sends raise, in order, before one succeeds; `attempts` counts the sends.
    """

    def __init__(
        self,
        sekoia: ScriptedSekoia,
        tmp_path: Path,
        floor: int,
        failures: dict | None = None,
        timings: LiveTimings = UNREACHABLE_LIVEAPI,
    ):
        self.sent: list[str] = []
        self.attempts: Counter = Counter()
        self.failures = failures or {}
        self.logs: list[tuple[str, str]] = []
        self.stop = threading.Event()
        self.counters = TriggerCounters("Alert Created (in process)")
        # the scripted alerts are dated up to 1000 s ahead: the ledger's clock runs that far ahead for them
        self.ledger = Ledger(
            CheckpointStore(tmp_path / "checkpoint.json"), Checkpoint(floor, floor), clock=lambda: time.time() + 3600
        )
        source = AlertCreatedSource(
            lambda: sekoia,
            liveapi_url="ws://127.0.0.1:9/live/",
            api_key="unused",
            is_done=self.ledger.is_done,
            timings=timings,
        )
        log = lambda message, level: self.logs.append((level, message))  # noqa: E731
        emitter = Emitter(
            AlertCreatedKind(),
            self.ledger,
            select=lambda _alert: None,
            emit=self.emit,
            log=log,
            stop=self.stop,
            retry=timings.send_retry,
            counters=self.counters,
        )
        self.feed = LiveSession(
            source, emitter, self.ledger, log=log, heartbeat=lambda: None, stop=self.stop, timings=timings
        )
        self.thread = threading.Thread(target=self.feed.serve, daemon=True)

    def emit(self, alert: Alert) -> None:
        self.attempts[alert.uuid] += 1
        if self.failures.get(alert.uuid):
            raise self.failures[alert.uuid].pop(0)
        self.sent.append(alert.uuid)

    def __enter__(self) -> "Feed":
        self.thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stop.set()
        self.thread.join(timeout=10)

    def messages(self, level: str) -> str:
        return "\n".join(message for logged, message in list(self.logs) if logged == level)


def fresh_alerts(count: int, start: int) -> list[dict]:
    return [
        {"uuid": f"alert-{index:03d}", "short_id": f"AL{index:03d}", "created_at": start + index // 3}
        for index in range(count)
    ]


def test_a_full_queue_falls_back_on_the_listing_without_loss_nor_repeat(tmp_path: Path):
    now = int(time.time())
    alerts = fresh_alerts(20, now)
    with Feed(ScriptedSekoia(alerts), tmp_path, now) as feed:
        feed.feed._intake.capacity = 5
        for alert in alerts:
            feed.feed.notified(AlertCreatedNotification(alert["uuid"]))
        until(lambda: len(feed.sent) == 20)
        stays(lambda: len(feed.sent) == 20, QUIET, what="20 alerts sent")
    assert feed.sent[:5] == [alert["uuid"] for alert in alerts[:5]]  # the queued ones, in order
    assert sorted(feed.sent) == [alert["uuid"] for alert in alerts] and len(set(feed.sent)) == 20
    assert "The queue of notified alerts is full (5)" in feed.messages("warning")
    assert feed.ledger.watermark == alerts[-1]["created_at"]  # the gap was filled by the catch-up


def test_an_alert_that_cannot_be_fetched_holds_the_checkpoint_until_given_up(tmp_path: Path):
    timings = replace(UNREACHABLE_LIVEAPI, fetch_retry=QUICK_RETRIES, catch_up_retry=QUICK_RETRIES)
    now = int(time.time())
    alerts = fresh_alerts(4, now)
    broken = alerts[0]["uuid"]
    sekoia = ScriptedSekoia(alerts, failing={broken}, unlisted={broken})
    with Feed(sekoia, tmp_path, now, timings=timings) as feed:
        for alert in alerts:
            feed.feed.notified(AlertCreatedNotification(alert["uuid"]))
        until(lambda: len(feed.sent) == 3)
        assert feed.ledger.watermark <= now  # held by the pending alert, although later ones were sent
        until(lambda: "could not be fetched after 5 attempts" in feed.messages("error"))
        until(lambda: feed.ledger.watermark == alerts[-1]["created_at"])
    assert sekoia.fetched[broken] == 5 and broken not in feed.sent


def test_an_alert_that_can_never_be_sent_is_given_up_and_the_next_ones_go_on(tmp_path: Path):
    timings = replace(UNREACHABLE_LIVEAPI, send_retry=Backoff(first=0.01, factor=1.0, longest=0.01))
    now = int(time.time())
    alerts = fresh_alerts(3, now)
    bad, refused, fine = (alert["uuid"] for alert in alerts)
    failures = {bad: [KeyError("uuid")], refused: [SendEventError("Impossible to send"), OSError("disk full")]}
    with Feed(ScriptedSekoia(alerts), tmp_path, now, failures, timings) as feed:
        for alert in alerts:
            feed.feed.notified(AlertCreatedNotification(alert["uuid"]))
        until(lambda: len(feed.sent) == 2)
        stays(lambda: len(feed.sent) == 2, QUIET, what="2 alerts sent")
    assert feed.sent == [refused, fine] and feed.attempts == Counter({bad: 1, refused: 3, fine: 1})
    assert feed.ledger.is_done(bad) and feed.ledger.watermark == alerts[-1]["created_at"]
    errors = feed.messages("error")
    assert f"Alert AL000 ({bad}) cannot be sent to the playbook (KeyError: 'uuid'): given up" in errors
    assert f"Alert AL001 ({refused}) could not be sent to the playbook (OSError: disk full): retrying" in errors


def test_at_start_the_checkpoint_waits_for_a_catch_up_that_completes(tmp_path: Path):
    timings = replace(UNREACHABLE_LIVEAPI, startup_grace=0.0, fetch_retry=QUICK_RETRIES, catch_up_retry=QUICK_RETRIES)
    now = int(time.time())
    stopped_at = now - 1800
    while_stopped = [{"uuid": f"old-{index}", "created_at": now - 1200 + index} for index in range(2)]
    live = {"uuid": "live", "created_at": now}
    sekoia = ScriptedSekoia([*while_stopped, live])
    sekoia.listing_down = True
    with Feed(sekoia, tmp_path, stopped_at, timings=timings) as feed:
        feed.feed.notified(AlertCreatedNotification("live"))
        until(lambda: feed.sent == ["live"] and "Catch-up of the alerts" in feed.messages("warning"))
        assert feed.ledger.watermark == stopped_at  # the live alert does not move it past the unlisted ones
        sekoia.listing_down = False
        until(lambda: len(feed.sent) == 3)
        stays(lambda: len(feed.sent) == 3, QUIET, what="3 alerts sent")
    assert sorted(feed.sent) == ["live", "old-0", "old-1"] and feed.ledger.watermark == now


def test_after_a_reconnection_the_checkpoint_waits_for_a_catch_up_that_completes(tmp_path: Path):
    timings = replace(
        UNREACHABLE_LIVEAPI,
        startup_grace=0.0,
        poll_while_disconnected=0.05,
        fetch_retry=QUICK_RETRIES,
        catch_up_retry=QUICK_RETRIES,
    )
    now = int(time.time())
    sekoia = ScriptedSekoia([])
    with Feed(sekoia, tmp_path, now - 60, timings=timings) as feed:
        feed.feed.disconnected()
        until(lambda: "(the LiveAPI is disconnected)" in feed.messages("debug"))  # a catch-up closed that gap
        sekoia.listing_down = True
        sekoia.alerts["missed"] = {"uuid": "missed", "created_at": now + 500}  # after that catch-up, before connecting
        sekoia.alerts["live"] = {"uuid": "live", "created_at": now + 1000}
        feed.feed.connected()
        feed.feed.notified(AlertCreatedNotification("live"))
        until(lambda: feed.sent == ["live"] and "Catch-up of the alerts" in feed.messages("warning"))
        assert feed.ledger.watermark <= now + 1  # at most when the connection was last known alive
        sekoia.listing_down = False
        until(lambda: len(feed.sent) == 2)
        stays(lambda: len(feed.sent) == 2, QUIET, what="2 alerts sent")
    assert sorted(feed.sent) == ["live", "missed"] and feed.ledger.watermark == now + 1000
