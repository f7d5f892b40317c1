"""Every block on real-shaped Sekoia.io data (nulls, absent fields, big mixed events): the results validate
against the module's own manifests, and the events of an alert are found whatever its seen times."""

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from jsonschema import Draft7Validator

from lab.doubles.sekoia import SekoiaSimulator
from tests.support import SEKOIA_KEY, XSOAR_TOKEN, assert_no_secret
from xsoar_module.models.alert import Alert
from xsoar_module.models.trigger_event import AlertCreatedEvent

ROOT = Path(__file__).resolve().parent.parent
REAL_ALERTS = json.loads((ROOT / "lab" / "samples" / "real_alerts.json").read_text())
MESSY_ALERTS = 12
MINUTE = timedelta(minutes=1)


def results_schema(manifest: str) -> Draft7Validator:
    schema = json.loads((ROOT / manifest).read_text())["results"]
    Draft7Validator.check_schema(schema)
    return Draft7Validator(schema)


def assert_valid(validator: Draft7Validator, results: dict) -> None:
    errors = [
        f"{'.'.join(map(str, error.absolute_path))}: {error.message}" for error in validator.iter_errors(results)
    ]
    assert errors == []


@pytest.fixture(scope="module")
def real_sekoia():
    """The hand-written real-shaped alerts and generated messy ones, with their events."""
    with SekoiaSimulator(api_key=SEKOIA_KEY, seed_samples=False, seed=3) as simulator:
        simulator.add_real_alerts()
        for _ in range(MESSY_ALERTS):
            simulator.add_alert(notify=False, events=4)
        yield simulator


def alert_ids() -> list[str]:
    return [alert["short_id"] for alert in REAL_ALERTS] + [f"messy-{index}" for index in range(MESSY_ALERTS)]


def real_alert(simulator: SekoiaSimulator, alert_id: str) -> dict:
    if alert_id.startswith("messy-"):
        return simulator.alerts()[len(REAL_ALERTS) + int(alert_id.removeprefix("messy-"))]
    return next(alert for alert in simulator.alerts() if alert["short_id"] == alert_id)


def moment(value: str | datetime) -> datetime:
    return value if isinstance(value, datetime) else datetime.fromisoformat(value)


def config(sekoia: SekoiaSimulator, xsoar=None) -> dict:
    xsoar_url = xsoar.webhook_url if xsoar else "http://127.0.0.1:9/unused"
    return {"base_url": sekoia.url, "api_key": SEKOIA_KEY, "xsoar_url": xsoar_url, "xsoar_token": XSOAR_TOKEN}


def test_the_real_shaped_alerts_have_the_shapes_seen_in_real_answers(real_sekoia):
    alerts = [real_alert(real_sekoia, alert_id) for alert_id in alert_ids()]
    assert sum(1 for alert in alerts if alert.get("last_seen_at") is None) >= 6
    assert any("first_seen_at" not in alert for alert in alerts)


@pytest.mark.parametrize("alert_id", alert_ids())
def test_get_alert_results_validate_and_carry_a_never_null_window(symphony, real_sekoia, data_path, alert_id):
    alert = real_alert(real_sekoia, alert_id)
    run = symphony.run_action(
        "GetAlert", config(real_sekoia), {"uuid": alert["uuid"]}, data_path=data_path, in_process=True
    )
    assert run.error is None, run.error
    assert_valid(results_schema("action_get_alert.json"), run.results)
    earliest, latest = (moment(run.results[key]) for key in ("events_earliest_time", "events_latest_time"))
    assert earliest <= latest
    created = datetime.fromtimestamp(alert["created_at"], UTC)
    assert earliest == (moment(alert["first_seen_at"]) if alert.get("first_seen_at") else created - timedelta(days=1))
    assert (
        latest == moment(alert["last_seen_at"]) if alert.get("last_seen_at") else latest > datetime.now(UTC) - MINUTE
    )
    assert {key: run.results[key] for key in alert} == alert  # nothing lost, extra fields kept


@pytest.mark.parametrize("alert_id", alert_ids())
def test_trigger_results_validate(real_sekoia, alert_id):
    alert = real_alert(real_sekoia, alert_id)
    event = AlertCreatedEvent.of(Alert.model_validate(alert), "run/alert.json").model_dump()
    assert_valid(results_schema("trigger_alert_created.json"), event)


@pytest.mark.parametrize("alert_id", alert_ids())
def test_create_incident_fetches_the_events_of_any_alert(symphony, real_sekoia, xsoar, data_path, alert_id):
    alert = real_alert(real_sekoia, alert_id)
    arguments = {"alert": alert, "fetch_events": True, "events_timeout": 30}
    run = symphony.run_action(
        "CreateIncident", config(real_sekoia, xsoar), arguments, data_path=data_path, in_process=True
    )
    assert run.error is None, run.error
    assert_valid(results_schema("action_create_incident.json"), run.results)
    assert run.results["events_sent"] == min(10, alert["similar"]) > 0
    [incident] = [line for line in xsoar.summary() if line["alertId"] == alert["short_id"]][-1:]
    assert incident["events"] == run.results["events_sent"]
    assert_no_secret(run.results, run.logs)


def test_get_events_results_of_real_sized_events_validate(symphony, real_sekoia, data_path):
    alert = real_alert(real_sekoia, "ALkP0wX9")
    arguments = {"query": f'alert_short_ids:"{alert["short_id"]}"', "earliest_time": alert["first_seen_at"]}
    run = symphony.run_action("GetEvents", config(real_sekoia), arguments, data_path=data_path, in_process=True)
    assert run.error is None, run.error
    assert_valid(results_schema("action_get_events.json"), run.results)
    assert len(run.results["events"]) == alert["similar"] and all(40 <= len(e) <= 80 for e in run.results["events"])


@pytest.mark.parametrize("latest_time", [None, "", "None", "null", "  "])
def test_get_events_takes_a_null_latest_time_as_now(symphony, real_sekoia, data_path, latest_time):
    alert = real_alert(real_sekoia, "ALq3Tz")  # last_seen_at null
    arguments = {
        "query": f'alert_short_ids:"{alert["short_id"]}"',
        "earliest_time": alert["first_seen_at"],
        "latest_time": latest_time,
    }
    run = symphony.run_action("GetEvents", config(real_sekoia), arguments, data_path=data_path, in_process=True)
    assert run.error is None, run.error
    assert len(run.results["events"]) == alert["similar"]
    assert f"({alert['first_seen_at']} .. now)" in run.logs


@pytest.mark.parametrize(
    ("arguments", "expected"),
    [
        (
            {"earliest_time": "2025-11-28T09:00:00Z", "latest_time": "2025-11-28T08:00:00Z"},
            "Invalid arguments: earliest_time '2025-11-28T09:00:00Z' is after latest_time '2025-11-28T08:00:00Z'",
        ),
        ({"earliest_time": "now", "latest_time": "-1d"}, "earliest_time 'now' is after latest_time '-1d'"),
        ({"earliest_time": "None"}, "earliest_time: Value error, 'None' is no time"),
        ({"earliest_time": "-1d", "timeout": 0}, "timeout: Input should be greater than or equal to 1"),
    ],
)
def test_get_events_refuses_an_unusable_window_in_one_line(symphony, real_sekoia, data_path, arguments, expected):
    arguments = {"query": 'alert_short_ids:"ALq3Tz"'} | arguments
    real_sekoia.reset_counts()
    run = symphony.run_action("GetEvents", config(real_sekoia), arguments, data_path=data_path, in_process=True)
    assert run.results is None and expected in run.error and "\n" not in run.error.strip()
    assert real_sekoia.request_counts["POST /v1/sic/conf/events/search/jobs"] == 0


def test_create_incident_waits_for_the_search_no_longer_than_events_timeout(symphony, real_sekoia, xsoar, data_path):
    real_sekoia.job_duration = 30.0
    try:
        alert = real_alert(real_sekoia, "ALq3Tz")
        arguments = {"alert": alert, "fetch_events": True, "events_timeout": 1}
        run = symphony.run_action(
            "CreateIncident", config(real_sekoia, xsoar), arguments, data_path=data_path, in_process=True
        )
    finally:
        real_sekoia.job_duration = 0.0
    assert run.results is None and "did not finish within 1 s" in run.error
