"""The Sekoia.io simulator answers as the project's Sekoia reference says: alerts, search jobs, LiveAPI, faults."""

import base64
import json
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import pytest
import requests
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect

from lab.doubles.faults import Fault
from lab.doubles.sekoia import SekoiaSimulator
from lab.doubles.sekoia.records import urgency_display
from tests.support import until
from xsoar_module.mapping.window import events_window
from xsoar_module.models.alert import Alert

ROOT = Path(__file__).resolve().parent.parent.parent
KEY = "key-sekoia-42"
SAMPLE_UUID = "5f3c9a1e-8d2b-4c7a-9e41-0b6d2f8a7c13"
SAMPLE_SHORT_ID = "ALz7Qm3KpW2x"
NOTHING_YET = {"comments": [], "history": []}  # GET answers both, with no query flag, as the real sample
COMMUNITY = "0d5a7f2c-3b1e-4f6a-8c9d-2e4b6a8c0f13"
JOBS = "/v1/sic/conf/events/search/jobs"
ISO_Z = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z")


@pytest.fixture
def simulator():
    with SekoiaSimulator(api_key=KEY, indexing_delay=0) as running:  # the jobs' answers, not the late events
        yield running


def get(simulator: SekoiaSimulator, path: str, key: str = KEY, **params) -> requests.Response:
    return requests.get(simulator.url + path, params=params, headers={"Authorization": f"Bearer {key}"}, timeout=5)


def listing(simulator: SekoiaSimulator, **params) -> dict:
    response = get(simulator, "/v1/sic/alerts", **params)
    assert response.status_code == 200, response.text
    return response.json()


def create_job(
    simulator: SekoiaSimulator, term: str, earliest: str = "-30d", latest: str = "now", most: int = 10000
) -> requests.Response:
    body = {"term": term, "earliest_time": earliest, "latest_time": latest, "visible": False, "max_last_events": most}
    return requests.post(simulator.url + JOBS, json=body, headers={"Authorization": f"Bearer {KEY}"}, timeout=5)


def finished_job(simulator: SekoiaSimulator, term: str, **window) -> dict:
    job = create_job(simulator, term, **window).json()
    return get(simulator, f"{JOBS}/{job['uuid']}").json()


@contextmanager
def live(simulator: SekoiaSimulator, upgrade: bool = True) -> Iterator[ClientConnection]:
    """A LiveAPI client past its authentication message (and upgraded unless told otherwise)."""
    with connect(simulator.liveapi_url, additional_headers={"Cookie": f"access_token_cookie={KEY}"}) as socket:
        assert json.loads(socket.recv(timeout=5)) == {"authenticated": True}
        if upgrade:
            socket.send(json.dumps({"action": "upgrade"}))
        yield socket


def iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).isoformat().replace("+00:00", "Z")


def assert_silent(socket: ClientConnection) -> None:
    with pytest.raises(TimeoutError):
        socket.recv(timeout=0.2)


# HTTP API


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer wrong"}, {"Authorization": KEY}])
def test_requests_without_the_key_are_refused(simulator, headers):
    response = requests.get(f"{simulator.url}/v1/sic/alerts/{SAMPLE_UUID}", headers=headers, timeout=5)
    assert response.status_code == 401 and response.json() == {"message": "Unauthorized"}
    assert simulator.request_log == [("GET", f"/v1/sic/alerts/{SAMPLE_UUID}", 401)]


def test_both_prefixes_serve_the_api_and_are_counted_as_one_route(simulator):
    plain = get(simulator, f"/v1/sic/alerts/{SAMPLE_UUID}", stix="true", comments="true").json()
    prefixed = get(simulator, f"/api/v1/sic/alerts/{SAMPLE_UUID}").json()
    assert plain["comments"] == plain["history"] == [] and plain == prefixed and plain["short_id"] == SAMPLE_SHORT_ID
    assert get(simulator, "/api/v1/me").json()["type"] == "apikey"
    assert simulator.request_counts == {"GET /v1/sic/alerts/{id}": 2, "GET /v1/me": 1}
    assert simulator.total_requests == 3
    assert simulator.request_log[0] == ("GET", f"/v1/sic/alerts/{SAMPLE_UUID}?stix=true&comments=true", 200)
    simulator.reset_counts()
    assert simulator.total_requests == 0 and simulator.request_log == []


def test_alert_by_uuid_or_short_id_and_unknown_alerts(simulator):
    by_short_id = get(simulator, f"/v1/sic/alerts/{SAMPLE_SHORT_ID}").json()
    assert by_short_id["uuid"] == SAMPLE_UUID and by_short_id["urgency"]["current_value"] == 63
    missing = get(simulator, "/v1/sic/alerts/ALnope")
    assert missing.status_code == 404 and missing.json() == {"message": "Alert not found"}


def test_added_alerts_are_complete_and_fresh_unless_messy():
    with SekoiaSimulator(api_key=KEY, messy=False) as simulator:
        check_complete_and_fresh(simulator)


def check_complete_and_fresh(simulator: SekoiaSimulator) -> None:
    before = int(time.time())
    first, second = simulator.add_alert(notify=False), simulator.add_alert(notify=False, rule=None, urgency={"x": 1})
    assert first["uuid"] != second["uuid"] and first["short_id"] != second["short_id"]
    assert 6 <= len(first["short_id"]) <= 13 and first["short_id"].startswith("AL")
    assert isinstance(first["created_at"], int) and before <= first["created_at"] <= time.time()
    assert ISO_Z.fullmatch(first["first_seen_at"]) and ISO_Z.fullmatch(first["last_seen_at"])
    assert first["first_seen_at"] < first["last_seen_at"]
    assert first["urgency"]["display"] == "Major" and first["status"]["name"] == "Pending" and first["similar"] == 3
    assert first["rule"]["name"] and first["entity"]["uuid"] and first["alert_type"]["value"]
    assert second["rule"] is None and second["urgency"] == {"x": 1}
    assert get(simulator, f"/v1/sic/alerts/{second['short_id']}").json() == second | NOTHING_YET
    assert [alert["short_id"] for alert in simulator.alerts()] == [
        SAMPLE_SHORT_ID,
        first["short_id"],
        second["short_id"],
    ]


@pytest.mark.parametrize(
    ("value", "display"),
    [
        (0, "Low"),
        (19.9, "Low"),
        (20, "Moderate"),
        (40, "High"),
        (59, "High"),
        (60, "Major"),
        (80, "Urgent"),
        (100, "Urgent"),
    ],
)
def test_urgency_display_bands(value, display):
    assert urgency_display(value) == display


def test_removed_alerts_are_gone(simulator):
    alert = simulator.add_alert(notify=False)
    simulator.remove_alert(alert["uuid"])
    assert get(simulator, f"/v1/sic/alerts/{alert['uuid']}").status_code == 404
    assert listing(simulator, **{"match[uuid]": alert["uuid"]})["total"] == 0
    with pytest.raises(KeyError):
        simulator.remove_alert(alert["uuid"])


def test_listing_filters(simulator):
    entity = {"uuid": "entity-1", "name": "lab"}
    low = simulator.add_alert(notify=False, entity=entity, urgency={"current_value": 10})
    high = simulator.add_alert(notify=False, entity=entity, urgency={"current_value": 85})
    acknowledged = simulator.add_alert(notify=False, entity=entity, status={"name": "Acknowledged"})
    simulator.add_alert(notify=False, urgency={"current_value": 90})

    def short_ids(**params) -> set[str]:
        return {alert["short_id"] for alert in listing(simulator, **params)["items"]}

    assert short_ids(**{"match[entity_uuid]": "entity-1"}) == {
        low["short_id"],
        high["short_id"],
        acknowledged["short_id"],
    }
    assert short_ids(**{"match[entity_uuid]": "entity-1", "range[urgency]": "80,100"}) == {high["short_id"]}
    assert short_ids(**{"match[short_id]": f"{low['short_id']},{high['short_id']}"}) == {
        low["short_id"],
        high["short_id"],
    }
    assert short_ids(**{"match[status_name]": "Acknowledged"}) == {acknowledged["short_id"]}
    assert short_ids(**{"match[rule_name]": "PowerShell Download Cradle", "match[uuid]": SAMPLE_UUID}) == {
        SAMPLE_SHORT_ID
    }
    assert short_ids(**{"match[type_value]": "system-compromise", "range[urgency]": "0,19"}) == {low["short_id"]}


def test_listing_sorts_and_pages(simulator):
    added = [simulator.add_alert(notify=False, created_at=stamp) for stamp in (1800000003, 1800000001, 1800000002)]
    ascending = listing(simulator, sort="created_at", direction="asc")
    assert [alert["created_at"] for alert in ascending["items"]] == [1764316800, 1800000001, 1800000002, 1800000003]
    first = listing(simulator, limit=2)
    assert (first["total"], first["has_more"]) == (4, True)
    assert [alert["uuid"] for alert in first["items"]] == [added[0]["uuid"], added[2]["uuid"]]
    last = listing(simulator, limit=2, offset=2)
    assert last["has_more"] is False and [alert["uuid"] for alert in last["items"]] == [added[1]["uuid"], SAMPLE_UUID]
    too_big = get(simulator, "/v1/sic/alerts", limit=101)
    assert too_big.status_code == 400 and "limit" in too_big.json()["message"]


def test_listing_date_range_is_inclusive_and_accepts_now(simulator):
    future = simulator.add_alert(notify=False, created_at=4000000000)

    def uuids(window: str) -> list[str]:
        return [alert["uuid"] for alert in listing(simulator, **{"date[created_at]": window})["items"]]

    assert uuids(f"{iso(1764316800)},{iso(4000000000)}") == [future["uuid"], SAMPLE_UUID]
    assert uuids(f"{iso(1764316800.5)},now") == []
    fresh = simulator.add_alert(notify=False)
    assert uuids(f"{iso(time.time() - 60)},now") == [fresh["uuid"]]
    assert get(simulator, "/v1/sic/alerts", **{"date[created_at]": "yesterday,now"}).status_code == 400


# Real-shaped data


def added(seed: int, count: int, **options) -> list[dict]:
    with SekoiaSimulator(api_key=KEY, seed_samples=False, seed=seed, **options) as simulator:
        return [simulator.add_alert(notify=False) for _ in range(count)]


def shape(alert: dict) -> tuple:
    """What the seed decides about an alert (not its fresh uuid and times)."""
    return (
        alert["short_id"],
        "last_seen_at" in alert and alert["last_seen_at"] is None,
        "title" in alert,
        alert["target"],
        alert["rule"]["type"],
        alert["detection_type"],
    )


def test_messy_alerts_are_real_shaped_and_the_same_for_a_seed():
    alerts = added(7, 60)
    assert [shape(alert) for alert in alerts] == [shape(alert) for alert in added(7, 60)]
    assert [shape(alert) for alert in alerts] != [shape(alert) for alert in added(8, 60)]
    null_last_seen = sum(1 for alert in alerts if "last_seen_at" in alert and alert["last_seen_at"] is None)
    old = [alert for alert in alerts if "first_seen_at" not in alert]
    assert 10 <= null_last_seen <= 30 and 3 <= len(old) <= 20
    assert all("title" not in alert and "last_seen_at" not in alert for alert in old)
    assert {len(alert["short_id"]) for alert in alerts} <= set(range(6, 14))
    assert len({len(alert["short_id"]) for alert in alerts}) >= 5
    assert any(alert["rule"]["type"] is None for alert in alerts) and any(alert["target"] is None for alert in alerts)
    assert any(alert.get("stix") == {} for alert in alerts)
    for key in (
        "created_by",
        "created_by_type",
        "updated_by",
        "intake_uuids",
        "similarity_strategy",
        "detection_type",
    ):
        assert all(key in alert for alert in alerts), key


def test_overrides_win_over_the_mess():
    with SekoiaSimulator(api_key=KEY, seed_samples=False) as simulator:
        kept = [simulator.add_alert(notify=False, last_seen_at="2025-11-28T08:00:00Z", title="t") for _ in range(20)]
    assert {(alert["last_seen_at"], alert["title"]) for alert in kept} == {("2025-11-28T08:00:00Z", "t")}


def test_messy_events_are_real_sized_and_inside_the_alert_window(simulator):
    for _ in range(12):
        alert = simulator.add_alert(notify=False, events=4)
        earliest, latest = events_window(Alert.model_validate(alert), datetime.now(UTC))
        for event in simulator.events_of(alert["short_id"]):
            assert 40 <= len(event) <= 80
            assert earliest <= event["timestamp"] <= latest, (alert, event["timestamp"])
            assert isinstance(event["sekoiaio.matches"], list) and isinstance(event["sekoiaio.matches"][0], dict)
            assert isinstance(event["source.port"], int) and isinstance(event["related.ip"], list)
            assert all(isinstance(item, list) for item in event["winlog.event_data.PrivilegeList"])
            assert len(base64.b64decode(event["__event_id"], validate=True)) == 24
    events = [event for alert in simulator.alerts()[1:] for event in simulator.events_of(alert["uuid"])]
    assert 0 < sum("alert_short_ids" not in event for event in events) < len(events)


def test_real_fixtures_are_served(simulator):
    real = simulator.add_real_alerts()
    assert len(real) == 8
    assert sum(alert.get("last_seen_at") is None for alert in real) >= 3
    assert sum("first_seen_at" not in alert and "title" not in alert for alert in real) == 2
    assert {len(alert["short_id"]) for alert in real} >= {6, 13}
    for alert in real:
        assert get(simulator, f"/v1/sic/alerts/{alert['short_id']}").json() == alert | NOTHING_YET
        assert len(simulator.events_of(alert["uuid"])) == alert["similar"]


def test_reduced_listing_items():
    with SekoiaSimulator(api_key=KEY, seed_samples=False, reduced_listing=True) as simulator:
        alerts = {alert["short_id"]: alert for alert in (simulator.add_alert(notify=False) for _ in range(20))}
        items = listing(simulator, limit=100)["items"]
    reduced = [item for item in items if "rule" not in item]
    assert 0 < len(reduced) < len(items) and any("uuid" not in item for item in reduced)
    for item in reduced:
        alert = alerts[item["short_id"]]
        assert "entity" not in item and item["urgency"] == {"display": alert["urgency"]["display"]}
        assert item["status"] == {"name": alert["status"]["name"]}
    assert all(item == alerts[item["short_id"]] for item in items if "rule" in item)


def test_job_answers_carry_the_real_fields(simulator):
    alert = simulator.add_alert(notify=False, events=30)
    term = f'alert_short_ids:"{alert["short_id"]}"'
    jobs = [
        finished_job(simulator, term, earliest="2025-11-28T09:00:00+02:00", latest="now", most=5) for _ in range(6)
    ]
    for job in jobs:
        assert (job["total"], job["results_ttl"]) == (30, 3600)
        assert (job["earliest_time"], job["latest_time"]) == ("2025-11-28T07:00:00", "now")
        assert len(get(simulator, f"{JOBS}/{job['uuid']}/events", limit=100).json()["items"]) == 5
    assert {job["expired"] for job in jobs} == {True, False}
    assert finished_job(simulator, term, earliest="-1d")["earliest_time"] == "-1d"


# Events search jobs


def test_job_of_one_alert_then_its_events(simulator):
    simulator.add_alert(notify=False, events=4)
    created = create_job(simulator, f'alert_short_ids:  "{SAMPLE_SHORT_ID}"')
    assert created.status_code == 200 and created.json()["status"] in (0, 1)
    job = get(simulator, f"{JOBS}/{created.json()['uuid']}").json()
    assert (job["status"], job["total"], job["results_ttl"]) == (2, 3, 3600)
    events = get(simulator, f"{JOBS}/{job['uuid']}/events", limit=10).json()
    assert events["total"] == 3 and {e["alert_short_ids"][0] for e in events["items"]} == {SAMPLE_SHORT_ID}
    assert finished_job(simulator, "source.ip:10.20.30.42")["total"] == 7  # any other term: every event


def test_iso_window_filters_events(simulator):
    job = finished_job(
        simulator, f'alert_short_ids:"{SAMPLE_SHORT_ID}"', earliest="2025-11-28T07:59:00Z", latest="2025-11-28T08:00Z"
    )
    assert job["total"] == 2


def test_max_last_events_keeps_the_latest(simulator):
    job = finished_job(simulator, f'alert_short_ids:"{SAMPLE_SHORT_ID}"', most=1)
    [event] = get(simulator, f"{JOBS}/{job['uuid']}/events").json()["items"]
    assert event["timestamp"] == "2025-11-28T07:59:58.904000Z"


def test_job_lifecycle_with_a_duration(simulator):
    simulator.job_duration = 0.3
    job = create_job(simulator, f'alert_short_ids:"{SAMPLE_SHORT_ID}"').json()
    running = get(simulator, f"{JOBS}/{job['uuid']}").json()
    assert (running["status"], running["total"]) == (1, 0)
    assert get(simulator, f"{JOBS}/{job['uuid']}/events").status_code == 409
    until(lambda: get(simulator, f"{JOBS}/{job['uuid']}").json()["status"] == 2, timeout=5, what="the job's end")


@pytest.mark.parametrize("status", [3, 4])
def test_jobs_can_end_canceled_or_failed(simulator, status):
    simulator.job_final_status = status
    assert finished_job(simulator, f'alert_short_ids:"{SAMPLE_SHORT_ID}"')["status"] == status


def test_unknown_job_and_bad_query(simulator):
    assert get(simulator, f"{JOBS}/no-such-job").status_code == 404
    refused = create_job(simulator, 'alert_short_ids:"ALz7')
    assert refused.status_code == 400 and refused.json()["message"].startswith("Invalid query:")


def test_events_pages_up_to_1000(simulator):
    alert = simulator.add_alert(notify=False, events=1500)
    job = finished_job(simulator, f'alert_short_ids:"{alert["short_id"]}"')
    assert job["total"] == 1500
    first = get(simulator, f"{JOBS}/{job['uuid']}/events", limit=1000).json()
    rest = get(simulator, f"{JOBS}/{job['uuid']}/events", limit=1000, offset=1000).json()
    assert (len(first["items"]), len(rest["items"]), rest["total"]) == (1000, 500, 1500)
    timestamps = [event["timestamp"] for event in first["items"] + rest["items"]]
    assert timestamps == sorted(timestamps) and alert["first_seen_at"] <= timestamps[0] <= alert["last_seen_at"]
    assert get(simulator, f"{JOBS}/{job['uuid']}/events", limit=1001).status_code == 400


def test_given_events_are_attached_as_is(simulator):
    alert = simulator.add_alert(notify=False, events=[{"timestamp": "2025-01-01T00:00:00Z", "message": "m"}])
    job = finished_job(simulator, f'alert_short_ids:"{alert["short_id"]}"')
    items = get(simulator, f"{JOBS}/{job['uuid']}/events").json()["items"]
    assert items == [{"timestamp": "2025-01-01T00:00:00Z", "message": "m"}] and alert["similar"] == 1


# Faults


def test_scripted_503_then_success(simulator):
    simulator.faults.script(Fault(status=503, retry_after=1), path_contains="/sic/alerts/")
    failed = get(simulator, f"/api/v1/sic/alerts/{SAMPLE_UUID}")
    assert failed.status_code == 503 and failed.headers["Retry-After"] == "1"
    assert get(simulator, f"/api/v1/sic/alerts/{SAMPLE_UUID}").status_code == 200
    assert [status for *_, status in simulator.request_log] == [503, 200]
    assert simulator.request_counts["GET /v1/sic/alerts/{id}"] == 2


def test_raw_body_fault(simulator):
    simulator.faults.script(Fault(status=200, raw_body="<html>maintenance</html>"))
    response = get(simulator, "/v1/me")
    assert response.status_code == 200 and response.text == "<html>maintenance</html>"


def test_faults_spare_the_liveapi(simulator):
    simulator.faults.rate(1.0, Fault(status=503))
    with live(simulator):
        simulator.wait_for_clients(1, timeout=5)
    assert get(simulator, "/v1/me").status_code == 503
    assert simulator.total_requests == 1


# LiveAPI


@pytest.mark.parametrize("cookie", ["access_token_cookie=wrong", "other=1"])
def test_liveapi_refuses_a_bad_cookie_with_4401(simulator, cookie):
    with connect(simulator.liveapi_url, additional_headers={"Cookie": cookie}) as socket:
        answer = json.loads(socket.recv(timeout=5))
        assert answer["authenticated"] is False and answer["message"]
        with pytest.raises(ConnectionClosed):
            socket.recv(timeout=5)
        assert socket.close_code == 4401
    assert simulator.liveapi_connections_total == 0 and simulator.connected_clients == 0


def test_upgraded_clients_receive_the_created_notification(simulator):
    with live(simulator) as socket:
        simulator.wait_for_clients(1, timeout=5)
        alert = simulator.add_alert()
        message = json.loads(socket.recv(timeout=5))
        assert set(message) == {"metadata", "type", "action", "attributes"}
        assert (message["type"], message["action"]) == ("alert", "created")
        assert message["attributes"] == {"uuid": alert["uuid"], "short_id": alert["short_id"]}
        metadata = message["metadata"]
        assert (metadata["version"], metadata["community_uuid"]) == (2, COMMUNITY)
        assert metadata["uuid"] != alert["uuid"] and metadata["created_at"].endswith("+00:00")
        assert abs(datetime.fromisoformat(metadata["created_at"]).timestamp() - time.time()) < 5
        simulator.add_alert(notify=False)
        assert_silent(socket)
        assert socket.ping().wait(5)


def test_clients_that_do_not_upgrade_miss_notifications(simulator):
    with live(simulator, upgrade=False) as socket:
        simulator.wait_for_clients(1, timeout=5, upgraded=False)
        assert simulator.connected_clients == 1
        with pytest.raises(TimeoutError):
            simulator.wait_for_clients(1, timeout=0.1)
        simulator.add_alert()
        assert_silent(socket)


def test_duplicate_notifications(simulator):
    simulator.duplicate_notifications = True
    with live(simulator) as socket:
        simulator.wait_for_clients(1, timeout=5)
        simulator.notify(simulator.alerts()[0])
        first, second = json.loads(socket.recv(timeout=5)), json.loads(socket.recv(timeout=5))
        assert first == second and first["attributes"]["short_id"] == SAMPLE_SHORT_ID


def test_drop_connections_forces_a_reconnect(simulator):
    with live(simulator) as socket:
        simulator.wait_for_clients(1, timeout=5)
        simulator.drop_connections()
        assert simulator.connected_clients == 0
        with pytest.raises(ConnectionClosed):
            socket.recv(timeout=5)
    with live(simulator) as again:
        simulator.wait_for_clients(1, timeout=5)
        alert = simulator.add_alert()
        assert json.loads(again.recv(timeout=5))["attributes"]["uuid"] == alert["uuid"]
    assert simulator.liveapi_connections_total == 2


def test_activity_notifications_beside_created(simulator):
    alert = simulator.alerts()[0]
    with live(simulator) as socket:
        simulator.wait_for_clients(1, timeout=5)
        simulator.notify_activity(alert)
        messages = [json.loads(socket.recv(timeout=5)) for _ in range(5)]
    assert [(m["type"], m["action"]) for m in messages] == [
        ("alert", "updated"),
        ("alert", "updated"),
        ("alert-comment", "created"),
        ("case", "created"),
        ("case", "updated"),
    ]
    assert messages[0]["attributes"]["updated"]["status_name"] == "Acknowledged"
    assert "dynamic_urgency_value" in messages[1]["attributes"]["updated"]
    assert messages[2]["attributes"]["alert_short_id"] == SAMPLE_SHORT_ID
    assert all(m["metadata"]["version"] == 2 for m in messages)


def test_send_raw_reaches_every_client(simulator):
    with live(simulator, upgrade=False) as plain, live(simulator) as upgraded:
        simulator.wait_for_clients(1, timeout=5)
        simulator.send_raw("not json {")
        assert plain.recv(timeout=5) == "not json {" and upgraded.recv(timeout=5) == "not json {"


def test_command_line_serves_seeded_alerts():
    command = [sys.executable, "-m", "lab.doubles.sekoia", "--port", "0", "--api-key", "K", "--alerts", "2"]
    with subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, text=True) as process:
        try:
            lines = [process.stdout.readline() for _ in range(5)]  # API, LiveAPI, 2 alerts, "Serving"
            assert lines[-1] == "Serving until Ctrl-C\n"
            api_url, liveapi_url = lines[0].split()[1], lines[1].split()[1]
            assert liveapi_url == api_url.replace("http://", "ws://") + "/live/"
            assert sum(line.startswith("Alert AL") for line in lines) == 2
            headers = {"Authorization": "Bearer K"}
            page = requests.get(f"{api_url}/v1/sic/alerts", headers=headers, timeout=5).json()
            assert page["total"] == 3
        finally:
            process.send_signal(signal.SIGINT)
        process.communicate(timeout=10)
    assert process.returncode == 0
