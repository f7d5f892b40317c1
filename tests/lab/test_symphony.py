"""The Symphony stand-in runs items as the platform does: secrets only through the callbacks, events, logs, faults."""

import json
import signal
import threading
from pathlib import Path

import pytest
import requests
from aiohttp import web

from lab.doubles.faults import Fault
from lab.doubles.server import BackgroundServer
from lab.doubles.symphony import PLACEHOLDER, ActionResult, Symphony
from lab.doubles.symphony.records import RunRecord

API_KEY = "k-secret-123"
ALERT = {"uuid": "7a1c2b3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d", "short_id": "ALtiny1", "title": "Tiny alert"}
TINY_MODULE = Path(__file__).resolve().parent / "fixtures" / "tiny_module"
TINY_SECRET = "tiny-secret-456"


class AlertStub:
    """`GET /v1/sic/alerts/{id}` of Sekoia.io for one API key; the alert `missing` does not exist."""

    def __init__(self):
        self.authorizations: list[str | None] = []
        app = web.Application()
        app.router.add_get("/v1/sic/alerts/{alert_id}", self._alert)
        self.server = BackgroundServer(app, name="alert-stub")

    async def _alert(self, request: web.Request) -> web.Response:
        self.authorizations.append(request.headers.get("Authorization"))
        if request.headers.get("Authorization") != f"Bearer {API_KEY}":
            return web.json_response({"message": "invalid key"}, status=401)
        if request.match_info["alert_id"] != ALERT["uuid"]:
            return web.json_response({"message": "Alert not found"}, status=404)
        return web.json_response(ALERT)


@pytest.fixture(scope="module")
def stub():
    stub = AlertStub()
    with stub.server:
        yield stub


@pytest.fixture(scope="module")
def stand_in():
    with Symphony() as symphony:
        yield symphony


@pytest.fixture(scope="module")
def tiny():
    with Symphony(module_dir=TINY_MODULE) as symphony:
        yield symphony


@pytest.fixture(autouse=True)
def _fresh(request):
    for name in ("stub", "stand_in", "tiny"):
        if name in request.fixturenames:
            target = request.getfixturevalue(name)
            target.authorizations.clear() if name == "stub" else target.faults.clear()


@pytest.fixture
def data_path(tmp_path: Path) -> Path:
    return tmp_path / "data"


def module_configuration(stub: AlertStub) -> dict:
    return {"base_url": stub.server.url, "api_key": API_KEY, "xsoar_url": "http://127.0.0.1:9/hook"}


@pytest.mark.parametrize("in_process", [False, True], ids=["process", "in-process"])
def test_get_alert_receives_its_api_key_only_through_the_callback(stand_in, stub, data_path, in_process):
    result = stand_in.run_action(
        "GetAlert", module_configuration(stub), {"uuid": ALERT["uuid"]}, data_path=data_path, in_process=in_process
    )
    assert result.status == "finished" and result.error is None, result.error or result.stderr
    assert result.results["short_id"] == "ALtiny1"
    assert "Alert ALtiny1" in result.logs
    assert stub.authorizations == [f"Bearer {API_KEY}"]
    run = stand_in.runs[result.run_id]
    assert run.secret_requests == 1
    assert run.item_configuration["api_key"] == PLACEHOLDER and API_KEY not in json.dumps(run.item_configuration)
    assert 0 < result.duration < 30


def test_an_action_error_finishes_with_a_clean_message(stand_in, stub, data_path):
    result = stand_in.run_action("GetAlert", module_configuration(stub), {"uuid": "missing"}, data_path=data_path)
    assert result.status == "finished" and result.results is None
    assert "found no alert missing (404)" in result.error
    assert "Traceback" not in result.error


@pytest.mark.parametrize("in_process", [False, True], ids=["process", "in-process"])
def test_an_unknown_command_crashes_without_a_finished_callback(stand_in, stub, data_path, in_process):
    result = stand_in.run_action(
        "NoSuchAction", module_configuration(stub), {}, data_path=data_path, in_process=in_process
    )
    assert result.status == "crashed" and result.results is None
    assert "Could not find any Action or Trigger matching command 'NoSuchAction'" in result.error
    assert stand_in.runs[result.run_id].finished is None


@pytest.mark.parametrize("in_process", [False, True], ids=["process", "in-process"])
def test_the_item_gets_the_placeholder_and_then_the_secret_and_uses_the_data_path(tiny, data_path, in_process):
    configuration = {"api_key": TINY_SECRET, "label": "lab"}
    result = tiny.run_action("Probe", configuration, {"tag": "a"}, data_path=data_path, in_process=in_process)
    assert result.status == "finished" and result.error is None, result.error or result.stderr
    assert result.results["given"] == {"api_key": PLACEHOLDER, "label": "lab"}
    assert result.results["api_key"] == TINY_SECRET
    assert (data_path / "a.txt").read_text() == "a"


def test_secrets_given_apart_are_served_and_never_configured(tiny, data_path):
    result = tiny.run_action(
        "Probe", {"label": "lab"}, {"tag": "b"}, secrets={"api_key": TINY_SECRET}, data_path=data_path, in_process=True
    )
    assert result.results["given"] == {"label": "lab"} and result.results["api_key"] == TINY_SECRET


def test_concurrent_in_process_runs_keep_their_logs_apart(tiny, data_path):
    results: dict[str, ActionResult] = {}

    def probe(tag: str) -> None:
        arguments = {"tag": tag, "pause": 0.4}
        results[tag] = tiny.run_action(
            "Probe", {"api_key": TINY_SECRET}, arguments, data_path=data_path, in_process=True
        )

    probe("warm-up")
    threads = [threading.Thread(target=probe, args=(tag,)) for tag in ("a", "b")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    a, b = results["a"].results, results["b"].results
    assert a["started"] < b["ended"] and b["started"] < a["ended"], "the runs did not overlap"
    assert "probe a started" in results["a"].logs and "probe a ended" in results["a"].logs
    assert "probe b" not in results["a"].logs
    assert "probe b ended" in results["b"].logs and "probe a" not in results["b"].logs


def test_callbacks_need_the_run_token_and_a_run_finishes_once(tiny, data_path):
    result = tiny.run_action("Probe", {}, {"tag": "c"}, data_path=data_path, in_process=True)
    run = tiny.runs[result.run_id]
    url = f"{tiny.url}/callback/{run.run_id}"
    finished = {"status": "finished", "results": {}}
    assert requests.patch(url, json=finished, headers={"Authorization": "Bearer wrong"}).status_code == 401
    assert requests.get(f"{tiny.url}/secrets/{run.run_id}").status_code == 401
    assert requests.patch(url, json=finished, headers={"Authorization": f"Bearer {run.token}"}).status_code == 409
    assert requests.post(f"{tiny.url}/callback/unknown", json={}).status_code == 404


def test_trigger_events_and_logs_arrive_and_sigterm_stops_it_cleanly(tiny, data_path):
    received: list[dict] = []
    three_received = threading.Event()

    def on_event(record: dict) -> None:
        received.append(record)
        if len(received) == 3:
            three_received.set()

    trigger = tiny.start_trigger(
        "Ticker", {"api_key": TINY_SECRET}, {"count": 3}, data_path=data_path, on_event=on_event
    )
    events = trigger.wait_for_events(3, timeout=15)
    assert [(event["name"], event["event"]["n"], event["directory"]) for event in events] == [
        ("tick", n, f"tick-{n}") for n in range(3)
    ]
    assert all(event["event"]["api_key"] == TINY_SECRET for event in events)
    assert len({event["request_id"] for event in events}) == 3
    assert (data_path / "tick-2" / "tick.json").is_file()
    assert trigger.record.item_configuration == {"api_key": PLACEHOLDER} and trigger.record.secret_requests == 1
    assert trigger.wait_for_log("all ticks sent", level="info", timeout=10)["level"] == "info"
    assert three_received.wait(5) and received == events
    with pytest.raises(TimeoutError, match="4 events expected"):
        trigger.wait_for_events(4, timeout=0.3)
    assert trigger.is_running()
    assert trigger.stop(timeout=10) == 0
    assert not trigger.is_running()


def test_failed_event_posts_are_retried_or_reported_by_the_trigger_and_kill_is_a_crash(tiny, data_path):
    tiny.faults.script(Fault(status=500), Fault(status=400), method="POST", path_contains="/callback/")
    trigger = tiny.start_trigger("Ticker", {"api_key": TINY_SECRET}, {"count": 3}, data_path=data_path)
    events = trigger.wait_for_events(3, timeout=15)
    assert [event["event"]["n"] for event in events] == [0, 1, 2]
    assert tiny.faults.injected == 2
    assert "500 Server Error" in trigger.wait_for_log("500 Server Error", level="error")["message"]
    trigger.wait_for_log("Impossible to send event", level="error")
    trigger.kill()
    assert not trigger.is_running()
    assert trigger.stop() == -signal.SIGKILL


def test_an_event_directory_is_kept_for_the_playbook_runs(tmp_path: Path):
    trigger_data, run_data = tmp_path / "trigger", tmp_path / "runs"
    (trigger_data / "evt-1").mkdir(parents=True)
    (trigger_data / "evt-1" / "alert.json").write_text('{"uuid": "u"}')
    record = RunRecord(run_id="r", token="t", secrets={}, item_configuration={})
    record.data_path, record.event_data_path = trigger_data, run_data
    record.keep_event_directory("evt-1")
    assert (run_data / "evt-1" / "alert.json").read_text() == '{"uuid": "u"}'
    with pytest.raises(FileNotFoundError):
        record.keep_event_directory("../outside")
