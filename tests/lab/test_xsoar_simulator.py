"""The XSOAR simulator answers as the project's XSOAR reference says: webhook, REST API (6 and 8), faults, records."""

import json
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from lab.faults import Fault
from lab.xsoar_simulator import AUTH_FAILED, BAD_JSON, XsoarSimulator

ROOT = Path(__file__).resolve().parent.parent.parent
TOKEN = "token-123"
KEY, KEY_ID = "key-abc", "42"
ALERT_BODY = {
    "name": "PowerShell Download Cradle",
    "occurred": "2025-11-28T08:00:00Z",
    "alertId": "ALz7Qm3KpW2x",
    "alertUrl": "https://app.sekoia.io/operations/alerts/ALz7Qm3KpW2x",
    "urgency": 3,
    "severity": 3,
    "events": [{"message": "a"}, {"message": "b"}],
}


@pytest.fixture(scope="module")
def running():
    with XsoarSimulator(webhook_token=TOKEN, api_key=KEY, api_key_id=KEY_ID) as simulator:
        yield simulator


@pytest.fixture
def simulator(running: XsoarSimulator):
    running.faults.clear()
    running.reset()
    running.create_status = 201
    yield running


def bearer(token: str = TOKEN) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def v6_headers() -> dict[str, str]:
    return {"Authorization": KEY}


def v8_headers() -> dict[str, str]:
    return {"Authorization": KEY, "x-xdr-auth-id": KEY_ID}


def create(base: str, headers: dict[str, str], **fields) -> requests.Response:
    return requests.post(f"{base}/incident", json={"name": "Alert"} | fields, headers=headers, timeout=5)


def search(base: str, headers: dict[str, str], query: str, **paging) -> requests.Response:
    body = {"filter": {"query": query, "page": 0, "size": 10} | paging}
    return requests.post(f"{base}/incidents/search", json=body, headers=headers, timeout=5)


# Generic Webhook


def test_webhook_with_header_token_creates_a_mapped_incident(simulator):
    response = requests.post(simulator.webhook_url, json=ALERT_BODY, headers=bearer(), timeout=5)
    assert response.status_code == 200
    [answer] = response.json()
    assert answer["id"] == "1" and answer["name"] == "PowerShell Download Cradle" and answer["type"] == "Unclassified"
    assert answer["occurred"] == "2025-11-28T08:00:00Z" and json.loads(answer["rawJSON"]) == ALERT_BODY
    [incident] = simulator.incidents
    assert incident["source"] == "webhook" and incident["severity"] == 3
    assert incident["CustomFields"] == {"alertid": "ALz7Qm3KpW2x"} and incident["dbotMirrorId"] == "ALz7Qm3KpW2x"


@pytest.mark.parametrize(
    "headers",
    [bearer("wrong"), {}, {"Authorization": TOKEN}, {"Authorization": f"bearer {TOKEN}"}],
    ids=["wrong-token", "no-header", "no-bearer", "lower-case-bearer"],
)
def test_webhook_refuses_other_credentials(simulator, headers):
    response = requests.post(simulator.webhook_url, json=ALERT_BODY, headers=headers, timeout=5)
    assert (response.status_code, response.text) == (401, AUTH_FAILED)
    assert simulator.incidents == []


@pytest.mark.parametrize(("password", "status"), [("secret", 200), ("wrong", 401)])
def test_webhook_with_basic_auth(password, status):
    with XsoarSimulator(webhook_basic=("sekoia", "secret")) as basic:
        response = requests.post(basic.webhook_url, json={"name": "x"}, auth=("sekoia", password), timeout=5)
        assert response.status_code == status
        assert len(basic.incidents) == (1 if status == 200 else 0)
        assert requests.post(basic.webhook_url, json={}, headers=bearer(), timeout=5).status_code == 401


def test_webhook_without_auth_accepts_anyone():
    with XsoarSimulator() as open_instance:
        assert requests.post(open_instance.webhook_url, json={}, timeout=5).status_code == 200
        assert len(open_instance.incidents) == 1


def test_webhook_array_body_makes_one_incident_per_object(simulator):
    body = [{"name": "first", "severity": 1}, {"name": "second", "type": "Sekoia"}]
    answer = requests.post(simulator.webhook_url, json=body, headers=bearer(), timeout=5).json()
    assert [(a["id"], a["name"], a["type"]) for a in answer] == [
        ("1", "first", "Unclassified"),
        ("2", "second", "Sekoia"),
    ]
    assert [i["severity"] for i in simulator.incidents] == [1, 0]


def test_webhook_defaults(simulator):
    requests.post(simulator.webhook_url, json={"severity": "high"}, headers=bearer(), timeout=5)
    [incident] = simulator.incidents
    assert incident["name"] == "Generic webhook triggered incident" and incident["type"] == "Unclassified"
    assert incident["occurred"].endswith("Z") and incident["severity"] == 0 and incident["CustomFields"] == {}


@pytest.mark.parametrize("key", ["rawJson", "raw_json"])
@pytest.mark.parametrize("as_text", [True, False], ids=["string", "object"])
def test_webhook_raw_json_replaces_the_other_keys(simulator, key, as_text):
    inner = {"alertId": "A1", "severity": 4}
    body = {"name": "with raw", "alertId": "ignored", key: json.dumps(inner) if as_text else inner}
    answer = requests.post(simulator.webhook_url, json=body, headers=bearer(), timeout=5).json()
    assert json.loads(answer[0]["rawJSON"]) == inner and answer[0]["name"] == "with raw"
    [incident] = simulator.incidents
    assert incident["CustomFields"] == {"alertid": "A1"} and incident["severity"] == 4


@pytest.mark.parametrize(
    "body",
    [b"{not json", b'{"rawJson": "not json"}', b'[{"name": "ok"}, {"raw_json": "{"}]', b"[1, 2]"],
    ids=["invalid-json", "invalid-rawJson", "one-bad-item", "not-objects"],
)
def test_webhook_refuses_what_is_not_json(simulator, body):
    response = requests.post(simulator.webhook_url, data=body, headers=bearer(), timeout=5)
    assert (response.status_code, response.text) == (400, BAD_JSON)
    assert simulator.incidents == []


def test_wrong_instance_name_answers_an_html_404(simulator):
    response = requests.post(simulator.url + "/instance/execute/nope", json={}, headers=bearer(), timeout=5)
    assert response.status_code == 404 and response.headers["Content-Type"].startswith("text/html")
    assert "<html>" in response.text and simulator.incidents == []


def test_webhook_on_the_xsoar_8_path_without_deduplication(simulator):
    assert simulator.webhook_url_v8 == simulator.url + "/xsoar/instance/execute/sekoia"
    for _ in range(2):
        assert requests.post(simulator.webhook_url_v8, json=ALERT_BODY, headers=bearer(), timeout=5).ok
    assert [i["id"] for i in simulator.incidents] == ["1", "2"]


# REST API


@pytest.mark.parametrize(
    ("base", "headers"),
    [("api_url_v6", v6_headers), ("api_url_v8", v8_headers), ("public_v1", v8_headers)],
    ids=["xsoar6", "xsoar8", "xsoar8-public-v1"],
)
def test_rest_create_then_search_by_mirror_id(simulator, base, headers):
    url = simulator.api_url_v8 + "/public/v1" if base == "public_v1" else getattr(simulator, base)
    raw = json.dumps({"alertId": "AL1"})
    first = create(url, headers(), severity=0.5, dbotMirrorId="AL1", rawJSON=raw, createInvestigation=True)
    assert first.status_code == 201
    assert create(url, headers(), dbotMirrorId="AL2", labels=[{"type": "t", "value": "v"}]).status_code == 201
    incident = first.json()
    assert (incident["id"], incident["version"], incident["severity"], incident["rawJSON"]) == ("1", 1, 0.5, raw)
    assert "source" not in incident and incident["status"] == 1
    found = search(url, headers(), 'dbotMirrorId:"AL1"').json()
    assert found["total"] == 1 and [i["id"] for i in found["data"]] == ["1"]
    assert search(url, headers(), 'dbotMirrorId:"nothing"').json() == {"total": 0, "data": []}
    assert [i["source"] for i in simulator.incidents_by_mirror_id("AL2")] == ["api"]


def test_rest_search_by_id_any_query_and_pages(simulator):
    for name in ("a", "b", "c"):
        create(simulator.api_url_v6, v6_headers(), name=name)
    assert [i["name"] for i in search(simulator.url, v6_headers(), 'id:"2"').json()["data"]] == ["b"]
    assert [i["name"] for i in search(simulator.url, v6_headers(), "id:3").json()["data"]] == ["c"]
    second_page = search(simulator.url, v6_headers(), "status:Active", page=1, size=2).json()
    assert second_page["total"] == 3 and [i["name"] for i in second_page["data"]] == ["c"]


@pytest.mark.parametrize(
    ("path", "headers"),
    [
        ("", {"Authorization": "wrong"}),
        ("", {}),
        ("/xsoar", {"Authorization": KEY}),
        ("/xsoar", {"Authorization": KEY, "x-xdr-auth-id": "1"}),
        ("/xsoar/public/v1", {"Authorization": KEY}),
        ("/xsoar", {"Authorization": "wrong", "x-xdr-auth-id": KEY_ID}),
    ],
    ids=["v6-wrong-key", "v6-no-key", "v8-no-key-id", "v8-wrong-key-id", "public-v1-no-key-id", "v8-wrong-key"],
)
def test_rest_refuses_wrong_credentials(simulator, path, headers):
    response = create(simulator.url + path, headers)
    assert response.status_code == 401 and "error" in response.json()
    assert simulator.incidents == []


def test_rest_xsoar_6_ignores_a_key_id(simulator):
    assert create(simulator.api_url_v6, v8_headers()).status_code == 201


@pytest.mark.parametrize(
    "body",
    [
        {"name": "x", "severity": 7},
        {"name": "x", "severity": "high"},
        {"name": "x", "severity": True},
        {"severity": 1},
        {"name": 5},
        {"name": "x", "rawJSON": {"not": "a string"}},
        {"name": "x", "CustomFields": []},
        ["not", "an", "object"],
    ],
    ids=["severity-7", "severity-text", "severity-bool", "no-name", "name-number", "rawJSON-object", "fields", "list"],
)
def test_rest_create_refuses_bad_bodies(simulator, body):
    response = requests.post(simulator.url + "/incident", json=body, headers=v6_headers(), timeout=5)
    assert response.status_code == 400 and response.json()["error"]
    assert simulator.incidents == []


def test_rest_invalid_json_is_400(simulator):
    response = requests.post(simulator.url + "/incident", data=b"{", headers=v6_headers(), timeout=5)
    assert response.status_code == 400 and simulator.incidents == []


def test_create_status_can_be_switched(simulator):
    simulator.create_status = 200
    response = create(simulator.api_url_v8, v8_headers())
    assert response.status_code == 200 and response.json()["id"] == "1"


def test_batch_close_and_entry(simulator):
    create(simulator.url, v6_headers(), CustomFields={"alertid": "A"})
    close = {"ids": ["1", "99"], "closeReason": "Resolved", "closeNotes": "done", "CustomFields": {"note": "n"}}
    closed = requests.post(simulator.url + "/incident/batchClose", json=close, headers=v6_headers(), timeout=5)
    assert closed.status_code == 200 and closed.json()["total"] == 1
    [incident] = simulator.incidents
    assert (incident["status"], incident["closeReason"], incident["version"]) == (2, "Resolved", 2)
    assert incident["CustomFields"] == {"alertid": "A", "note": "n"}
    entry = {"investigationId": "1", "data": "**hello**", "markdown": True}
    answer = requests.post(simulator.url + "/entry", json=entry, headers=v6_headers(), timeout=5)
    assert answer.status_code == 200 and answer.json()["format"] == "markdown"
    assert [e["contents"] for e in incident["entries"]] == ["**hello**"]
    missing = requests.post(
        simulator.url + "/entry", json=entry | {"investigationId": "9"}, headers=v6_headers(), timeout=5
    )
    assert missing.status_code == 404


# Faults, records, summary, command line


def test_faults_apply_to_the_webhook_and_the_api(simulator):
    simulator.faults.script(Fault(status=503), Fault(status=429, retry_after=2))
    assert requests.post(simulator.webhook_url, json={}, headers=bearer(), timeout=5).status_code == 503
    limited = create(simulator.url, v6_headers())
    assert limited.status_code == 429 and limited.headers["Retry-After"] == "2"
    assert simulator.incidents == [] and create(simulator.url, v6_headers()).status_code == 201
    assert [r["status"] for r in simulator.requests] == [503, 429, 201]


def test_reset_fault_drops_the_connection(simulator):
    simulator.faults.script(Fault(reset=True), method="POST", path_contains="/instance/execute/")
    with pytest.raises(requests.ConnectionError):
        requests.post(simulator.webhook_url, json={}, headers=bearer(), timeout=5)
    assert simulator.incidents == [] and simulator.requests[0]["status"] is None


def test_delay_after_creates_the_incident_although_the_client_times_out(simulator):
    simulator.faults.script(Fault(delay_after=0.6), path_contains="/incident")
    with pytest.raises(requests.ReadTimeout):
        requests.post(simulator.url + "/incident", json={"name": "late"}, headers=v6_headers(), timeout=0.2)
    assert [i["name"] for i in simulator.incidents] == ["late"]


def test_requests_are_recorded_counted_and_reset(simulator):
    requests.post(simulator.webhook_url, json={"a": 1}, headers=bearer(), timeout=5)
    search(simulator.url, v6_headers(), "")
    create(simulator.url, v6_headers())
    requests.get(simulator.url + "/unknown", timeout=5)
    first = simulator.requests[0]
    assert (first["method"], first["path"], first["status"]) == ("POST", "/instance/execute/sekoia", 200)
    assert first["headers"]["Authorization"] == f"Bearer {TOKEN}" and json.loads(first["body"]) == {"a": 1}
    assert simulator.requests[-1]["status"] == 404
    assert (simulator.count("post", "/incident"), simulator.count("POST", "/incidents/search")) == (2, 1)
    simulator.reset()
    assert simulator.requests == [] and simulator.incidents == [] and simulator.count("POST", "") == 0
    assert create(simulator.url, v6_headers()).json()["id"] == "1"


def test_summary(simulator):
    requests.post(simulator.webhook_url, json=ALERT_BODY, headers=bearer(), timeout=5)
    create(simulator.url, v6_headers(), rawJSON=json.dumps({"alertId": "B", "events": [1]}), severity=2)
    assert simulator.summary() == [
        {
            "id": "1",
            "source": "webhook",
            "name": "PowerShell Download Cradle",
            "severity": 3,
            "alertId": "ALz7Qm3KpW2x",
            "alertUrl": ALERT_BODY["alertUrl"],
            "events": 2,
            "type": "Unclassified",
            "urgency": None,
            "status": None,
            "fields": 1,
        },
        {
            "id": "2",
            "source": "api",
            "name": "Alert",
            "severity": 2,
            "alertId": "B",
            "alertUrl": None,
            "events": 1,
            "type": "Unclassified",
            "urgency": None,
            "status": None,
            "fields": 0,
        },
    ]


def test_command_line_prints_the_urls_and_serves_until_interrupted():
    command = [sys.executable, "-m", "lab.xsoar_simulator", "--port", "0", "--token", "T", "--instance", "demo"]
    with subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, text=True) as process:
        try:
            webhook_url = process.stdout.readline().split()[-1]
            assert webhook_url.endswith("/instance/execute/demo")
            assert requests.post(webhook_url, json={"name": "cli"}, headers=bearer("T"), timeout=5).status_code == 200
        finally:
            process.send_signal(signal.SIGINT)
        output, _ = process.communicate(timeout=10)
    assert process.returncode == 0 and "'name': 'cli'" in output
