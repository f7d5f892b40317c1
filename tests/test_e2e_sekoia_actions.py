"""Get Alert and Get Events run as the platform runs them (python main.py ...) against the Sekoia.io simulator."""

import pytest

from lab.doubles.faults import Fault
from tests.support import SEKOIA_KEY, assert_no_secret

SAMPLE_UUID = "5f3c9a1e-8d2b-4c7a-9e41-0b6d2f8a7c13"


@pytest.fixture
def config(sekoia) -> dict:
    return {"base_url": sekoia.url, "api_key": SEKOIA_KEY, "xsoar_url": "http://127.0.0.1:9/unused"}


@pytest.mark.parametrize(
    ("alert_id", "in_process"),
    [(SAMPLE_UUID, False), (SAMPLE_UUID, True), ("ALz7Qm3KpW2x", True)],  # a short ID is resolved in the action
    ids=["uuid-process", "uuid-in-process", "short-id-in-process"],
)
def test_get_alert(symphony, config, data_path, alert_id, in_process):
    run = symphony.run_action("GetAlert", config, {"uuid": alert_id}, data_path=data_path, in_process=in_process)
    assert run.error is None, run.error
    assert run.results["uuid"] == SAMPLE_UUID and run.results["short_id"] == "ALz7Qm3KpW2x"
    assert run.results["rule"]["name"] == "PowerShell Download Cradle"
    assert run.results["urgency"]["current_value"] == 63
    assert "Alert ALz7Qm3KpW2x" in run.logs
    assert_no_secret(run.results, run.logs)


def test_get_alert_with_the_api_prefix_in_base_url(symphony, sekoia, config, data_path):
    config["base_url"] = sekoia.url + "/api"
    run = symphony.run_action("GetAlert", config, {"uuid": SAMPLE_UUID}, data_path=data_path)
    assert run.error is None and run.results["uuid"] == SAMPLE_UUID


@pytest.mark.parametrize(
    ("arguments", "configuration", "expected"),
    [
        ({"uuid": "AL-does-not-exist"}, {}, "Sekoia.io found no alert AL-does-not-exist (404)"),
        ({"uuid": SAMPLE_UUID}, {"api_key": "wrong-key-canary-5b1f0e"}, "rejected the API key (401)"),
        ({}, {}, "Invalid arguments: uuid: Field required"),
        ({"uuid": "  "}, {}, "Invalid arguments: uuid: String should have at least 1 character"),
        ({"uuid": SAMPLE_UUID}, {"base_url": "ftp://nowhere"}, "Invalid module configuration: base_url"),
        ({"uuid": SAMPLE_UUID}, {"api_key": None}, "api_key is empty"),
    ],
)
def test_get_alert_errors_are_clear(symphony, config, data_path, arguments, configuration, expected):
    config.update(configuration)
    run = symphony.run_action("GetAlert", config, arguments, data_path=data_path, in_process=True)
    assert run.results is None
    assert expected in run.error
    assert "Traceback" not in run.error
    assert_no_secret(run.error, run.logs)
    assert "wrong-key-canary" not in run.error


def test_malformed_json_from_the_server(symphony, sekoia, config, data_path):
    sekoia.faults.script(Fault(status=200, raw_body="<html>maintenance</html>"), path_contains="/sic/alerts/")
    run = symphony.run_action("GetAlert", config, {"uuid": SAMPLE_UUID}, data_path=data_path, in_process=True)
    assert "not JSON" in run.error and "maintenance" in run.error


def test_get_alert_retries_5xx_and_429_and_says_so(symphony, sekoia, config, data_path):
    sekoia.faults.script(Fault(status=503), Fault(status=429, retry_after=0.1), path_contains="/sic/alerts/")
    run = symphony.run_action("GetAlert", config, {"uuid": SAMPLE_UUID}, data_path=data_path, in_process=True)
    assert run.error is None and run.results["uuid"] == SAMPLE_UUID
    assert "answered 503" in run.logs and "answered 429" in run.logs


def events_arguments(**overrides) -> dict:
    return {
        "query": 'alert_short_ids:"ALz7Qm3KpW2x"',
        "earliest_time": "2025-11-28T07:58:00Z",
        "latest_time": "2025-11-28T08:00:00Z",
    } | overrides


@pytest.mark.parametrize("in_process", [False, True], ids=["process", "in-process"])
def test_get_events_of_an_instant_job(symphony, sekoia, config, data_path, in_process):
    run = symphony.run_action("GetEvents", config, events_arguments(), data_path=data_path, in_process=in_process)
    assert run.error is None, run.error
    assert len(run.results["events"]) == 3
    assert {event["alert_short_ids"][0] for event in run.results["events"]} == {"ALz7Qm3KpW2x"}
    assert sekoia.request_counts["GET /v1/sic/conf/events/search/jobs/{job}"] == 1  # checked at once, no sleep
    assert "finished after 1 status poll(s)" in run.logs


def test_get_events_polls_a_slow_job_with_growing_intervals(symphony, sekoia, config, data_path):
    sekoia.job_duration = 0.4
    try:
        run = symphony.run_action("GetEvents", config, events_arguments(), data_path=data_path, in_process=True)
    finally:
        sekoia.job_duration = 0.0
    assert run.error is None and len(run.results["events"]) == 3
    polls = sekoia.request_counts["GET /v1/sic/conf/events/search/jobs/{job}"]
    assert 2 <= polls <= 8


def test_get_events_pages_up_to_the_limit(symphony, sekoia, config, data_path):
    alert = sekoia.add_alert(notify=False, events=1500)
    arguments = {"query": f'alert_short_ids:"{alert["short_id"]}"', "earliest_time": "-30d", "latest_time": "now"}
    run = symphony.run_action("GetEvents", config, arguments | {"limit": 1000}, data_path=data_path, in_process=True)
    assert run.error is None and len(run.results["events"]) == 1000
    small = symphony.run_action("GetEvents", config, arguments | {"limit": 7}, data_path=data_path, in_process=True)
    assert len(small.results["events"]) == 7


@pytest.mark.parametrize(("status", "word"), [(3, "was canceled"), (4, "failed")])
def test_get_events_fails_clearly_on_canceled_or_failed_jobs(symphony, sekoia, config, data_path, status, word):
    sekoia.job_final_status = status
    try:
        run = symphony.run_action("GetEvents", config, events_arguments(), data_path=data_path, in_process=True)
    finally:
        sekoia.job_final_status = 2
    assert run.results is None and "job" in run.error and word in run.error


def test_get_events_times_out_on_a_job_that_never_ends(symphony, sekoia, config, data_path):
    sekoia.job_duration = 3600
    try:
        run = symphony.run_action(
            "GetEvents", config, events_arguments(timeout=1), data_path=data_path, in_process=True
        )
    finally:
        sekoia.job_duration = 0.0
    assert "did not finish within 1 s" in run.error


@pytest.mark.parametrize(
    ("arguments", "expected"),
    [
        (events_arguments(query='alert_short_ids:"unbalanced'), "Sekoia.io rejected the events search: 400"),
        (events_arguments(limit=5000), "Invalid arguments: limit: Input should be less than or equal to 1000"),
        ({"query": "x"}, "earliest_time: Field required"),
    ],
)
def test_get_events_bad_input(symphony, config, data_path, arguments, expected):
    run = symphony.run_action("GetEvents", config, arguments, data_path=data_path, in_process=True)
    assert expected in run.error and "Traceback" not in run.error
