"""Events indexed after their alert (SEKOIA.md section 9): Get Events and Create Incident's fetch_events search
again, within their bound, and say what was missing. Blocks run in process over HTTP against the simulators, on a
clock that moves only when the module waits: no real seconds are waited."""

import json
import math

import pytest
import requests

from lab.doubles.clock import ManualClock
from lab.tools.demo import late_events_line
from tests.support import SEKOIA_KEY, XSOAR_API_KEY, XSOAR_TOKEN, assert_no_secret
from xsoar_module.clients.sekoia import SekoiaClient
from xsoar_module.mapping.incident import missing_events_note, webhook_body
from xsoar_module.mapping.window import expected_events, is_alert_events_query
from xsoar_module.models.alert import Alert
from xsoar_module.timing import Clock

JOBS = "POST /v1/sic/conf/events/search/jobs"
SAMPLE = "ALz7Qm3KpW2x"  # the sample alert: its 3 events are searchable at once


@pytest.fixture
def clock(sekoia, monkeypatch) -> ManualClock:
    """The simulator's indexing and the module's waits for late events on one clock the module moves."""
    manual = ManualClock()
    monkeypatch.setattr(sekoia, "clock", manual.now)
    monkeypatch.setattr(SekoiaClient, "clock", Clock(now=manual.now, sleep=manual.sleep))
    return manual


def webhook_config(sekoia, xsoar) -> dict:
    return {"base_url": sekoia.url, "api_key": SEKOIA_KEY, "xsoar_url": xsoar.webhook_url, "xsoar_token": XSOAR_TOKEN}


def api_config(sekoia, xsoar) -> dict:
    return {
        "base_url": sekoia.url,
        "api_key": SEKOIA_KEY,
        "xsoar_mode": "api",
        "xsoar_url": xsoar.api_url_v6,
        "xsoar_api_key": XSOAR_API_KEY,
    }


def create_fetching(symphony, config: dict, short_id: str, data_path, **arguments):
    run = symphony.run_action(
        "CreateIncident",
        config,
        {"alert_uuid": short_id, "fetch_events": True} | arguments,
        data_path=data_path,
        in_process=True,
    )
    assert run.error is None, run.error
    assert_no_secret(run.results, run.logs)
    return run


def get_events(symphony, sekoia, short_id: str, data_path, **arguments):
    config = {"base_url": sekoia.url, "api_key": SEKOIA_KEY, "xsoar_url": "http://127.0.0.1:9/unused"}
    query = {"query": f'alert_short_ids:"{short_id}"', "earliest_time": "-30d", "latest_time": "now"}
    run = symphony.run_action("GetEvents", config, query | arguments, data_path=data_path, in_process=True)
    assert run.error is None, run.error
    return run


def test_events_searchable_20_s_after_the_alert_all_reach_the_incident(symphony, sekoia, xsoar, data_path, clock):
    alert = sekoia.add_alert(notify=False, events=3, indexing_delay=20)
    started = clock.now()
    run = create_fetching(symphony, webhook_config(sekoia, xsoar), alert["short_id"], data_path)
    body = json.loads(xsoar.requests[-1]["body"])
    expected_ids = {event["__event_id"] for event in sekoia.events_of(alert["short_id"])}
    assert {event["__event_id"] for event in body["events"]} == expected_ids
    assert "eventsNote" not in body and run.results["events_missing"] == 0 and run.results["events_sent"] == 3
    assert 20 <= clock.now() - started <= 60  # searched again until they came, within the bound
    assert sekoia.request_counts[JOBS] > 1
    assert "3 event(s) found (3 expected)" in run.logs and "indexed late" in run.logs


def test_events_that_never_come_end_the_block_within_its_bound_and_the_incident_says_so(
    symphony, sekoia, xsoar, data_path, clock
):
    alert = sekoia.add_alert(notify=False, events=4, indexing_delay=math.inf)
    started = clock.now()
    run = create_fetching(symphony, api_config(sekoia, xsoar), alert["short_id"], data_path)
    assert clock.now() - started <= 60  # the default indexing_wait, the last search starting at the bound
    incident = xsoar.incidents_by_alert_id(alert["short_id"])[0]
    raw = json.loads(incident["rawJSON"])
    assert raw["events"] == [] and "eventsTruncated" not in raw
    assert raw["eventsNote"].startswith("No events found: Sekoia.io had not indexed any of the alert's 4 event(s)")
    assert incident["CustomFields"]["sekoiaioeventsnote"] == raw["eventsNote"]  # the pack's field, in API mode
    assert run.results["events_missing"] == 4 and run.results["events_sent"] == 0
    assert "0 of the 4 expected event(s) found" in run.logs and "going on without them" in run.logs


def test_the_wait_is_an_argument(symphony, sekoia, xsoar, data_path, clock):
    alert = sekoia.add_alert(notify=False, events=2, indexing_delay=math.inf)
    started = clock.now()
    run = create_fetching(symphony, webhook_config(sekoia, xsoar), alert["short_id"], data_path, indexing_wait=0)
    assert clock.now() == started and sekoia.request_counts[JOBS] == 1  # searched once
    assert run.results["events_missing"] == 2
    refused = symphony.run_action(
        "CreateIncident",
        webhook_config(sekoia, xsoar),
        {"alert_uuid": alert["short_id"], "fetch_events": True, "indexing_wait": 601},
        data_path=data_path,
        in_process=True,
    )
    assert "indexing_wait: Input should be less than or equal to 600" in refused.error


def test_events_already_there_cost_no_extra_request(symphony, sekoia, xsoar, data_path, clock):
    create_fetching(symphony, webhook_config(sekoia, xsoar), SAMPLE, data_path)
    assert sekoia.request_counts[JOBS] == 1
    run = get_events(symphony, sekoia, SAMPLE, data_path, expected_events=3)
    assert len(run.results["events"]) == 3 and run.results["events_missing"] == 0
    assert run.results["indexing_waited"] == 0 and sekoia.request_counts[JOBS] == 2
    assert "indexed late" not in run.logs


def test_get_events_waits_for_the_expected_count_given_by_get_alert(symphony, sekoia, data_path, clock):
    alert = sekoia.add_alert(notify=False, events=3, indexing_delay=[0, 20, 20])  # one at once, two late
    run = get_events(symphony, sekoia, alert["short_id"], data_path, expected_events=str(alert["similar"]))
    assert len(run.results["events"]) == 3 and run.results["events_missing"] == 0
    assert 20 <= run.results["indexing_waited"] <= 60


def test_get_events_of_an_alert_waits_for_one_event_at_least(symphony, sekoia, data_path, clock):
    alert = sekoia.add_alert(notify=False, events=1, indexing_delay=math.inf)
    started = clock.now()
    run = get_events(symphony, sekoia, alert["short_id"], data_path, expected_events="None", indexing_wait=5)
    assert run.results["events"] == [] and run.results["events_missing"] == 1
    assert clock.now() - started <= 5
    assert "0 of the 1 expected event(s) found" in run.logs


def test_get_events_of_another_query_does_not_wait(symphony, sekoia, data_path, clock):
    config = {"base_url": sekoia.url, "api_key": SEKOIA_KEY, "xsoar_url": "http://127.0.0.1:9/unused"}
    arguments = {"query": 'source.ip:"203.0.113.9" AND alert_short_ids:"nope"', "earliest_time": "-1d"}
    run = symphony.run_action("GetEvents", config, arguments, data_path=data_path, in_process=True)
    assert run.error is None and sekoia.request_counts[JOBS] == 1 and run.results["events_missing"] == 0


def test_four_blocks_create_incident_says_what_get_events_missed(symphony, sekoia, xsoar, data_path):
    alert = sekoia.alerts()[0]
    events = sekoia.events_of(SAMPLE)[:1]
    arguments = {"alert": alert, "events": events, "events_missing": 2}
    run = symphony.run_action(
        "CreateIncident", webhook_config(sekoia, xsoar), arguments, data_path=data_path, in_process=True
    )
    assert run.error is None, run.error
    body = json.loads(xsoar.requests[-1]["body"])
    assert body["eventsNote"] == (
        "1 of the alert's 3 events found: Sekoia.io had not indexed the others when Get Events searched"
    )
    assert run.results["events_missing"] == 2


def test_the_simulator_indexes_a_new_alert_s_events_after_its_delay(sekoia, clock):
    alert = sekoia.add_alert(notify=False, events=2, indexing_delay=[1, 3])
    headers = {"Authorization": f"Bearer {SEKOIA_KEY}"}

    def searched() -> int:
        term = {"term": f'alert_short_ids:"{alert["short_id"]}"', "earliest_time": "-1d", "latest_time": "now"}
        job = requests.post(f"{sekoia.url}/v1/sic/conf/events/search/jobs", json=term, headers=headers, timeout=5)
        events = requests.get(
            f"{sekoia.url}/v1/sic/conf/events/search/jobs/{job.json()['uuid']}/events", headers=headers, timeout=5
        )
        return len(events.json()["items"])

    found = [searched()]
    for step in (1, 2):
        clock.sleep(step)
        found.append(searched())
    assert found == [0, 1, 2] and len(sekoia.events_of(alert["short_id"])) == 2


@pytest.mark.parametrize(("similar", "expected"), [(None, 1), (0, 1), (1, 1), (11, 11)])
def test_an_alert_has_as_many_events_as_its_occurrences_and_one_at_least(similar, expected):
    assert expected_events(similar) == expected


@pytest.mark.parametrize(
    ("query", "is_alert"),
    [
        ('alert_short_ids:"ALz7Qm3KpW2x"', True),
        (' alert_short_ids: "ALz7Qm3KpW2x" ', True),
        ("alert_short_ids:ALz7Qm3KpW2x", True),
        ('alert_short_ids:"A" AND source.ip:"1.2.3.4"', False),
        ('source.ip:"1.2.3.4"', False),
    ],
)
def test_an_alert_events_query_is_told_from_others(query, is_alert):
    assert is_alert_events_query(query) is is_alert


def test_the_note_says_both_missing_and_left_out_events():
    alert = Alert(short_id="ALx", similar=30)
    events = [{"timestamp": f"2025-11-28T08:00:{second:02d}Z"} for second in range(20)]
    body = webhook_body(
        alert, events, app_url="https://app.sekoia.io", max_events=5, events_missing=10, indexing_waited=60.2
    )
    assert body["eventsNote"] == (
        "20 of the alert's 30 events found: Sekoia.io had not indexed the others after 60 s of searching; "
        "5 of 20 events included (max_events=5, body limit 524288 bytes)"
    )
    assert body["eventsTruncated"] is True
    assert missing_events_note(0, 3) == (
        "No events found: Sekoia.io had not indexed any of the alert's 3 event(s) when Get Events searched"
    )


@pytest.mark.parametrize("count", [2, 13, 14, 997])
def test_an_alert_s_events_all_lie_within_its_seen_times(sekoia, count):
    """Else a search of its window finds fewer than it has, and the blocks wait for events that never come."""
    alert = sekoia.add_alert(notify=False, events=count, first_seen_at="2025-11-28T08:00:00.000001Z")
    stamps = [event["timestamp"] for event in sekoia.events_of(alert["short_id"])]
    assert alert["first_seen_at"] <= min(stamps) and max(stamps) <= (alert.get("last_seen_at") or "9")  # absent: null


def test_the_demo_tells_how_the_alerts_with_late_events_fared():
    alerts = [{"short_id": f"AL{index}", "similar": 3 + index} for index in range(5)]
    incidents = [{"alertId": f"AL{index}", "events": 3 + index - (index == 1)} for index in range(5)]
    assert late_events_line(alerts, incidents, 2) == (
        "5 alert(s) whose events Sekoia.io indexed 2 s after the alert (6 s for AL4: 7 of 7 events in its "
        "incident), 4 of their incidents with all their events"
    )
    assert late_events_line(alerts[:2], incidents, 2).endswith(
        "after the alert, 1 of their incidents with all their events"
    )
