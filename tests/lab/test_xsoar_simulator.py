"""The XSOAR simulator answers as the project's XSOAR reference says: webhook, REST API (6 and 8), faults, records."""

import json
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from lab.doubles.faults import Fault
from lab.doubles.xsoar import XsoarSimulator
from lab.doubles.xsoar.mapper import map_raw_json
from lab.doubles.xsoar.records import AUTH_FAILED

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
    running.create_status = 200
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
    raw = json.loads(answer["rawJSON"])
    assert answer["occurred"] == "2025-11-28T08:00:00Z" and raw == ALERT_BODY | {"headers": raw["headers"]}
    assert "authorization" not in raw["headers"] and raw["headers"]["content-type"] == "application/json"
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
        if status == 200:
            assert "authorization" not in json.loads(basic.incidents[0]["rawJSON"])["headers"]


def test_webhook_instance_has_one_credentials_scheme():
    with pytest.raises(ValueError, match="one credentials setting"):
        XsoarSimulator(webhook_token=TOKEN, webhook_basic=("sekoia", "secret"))


def test_webhook_without_auth_accepts_anyone():
    with XsoarSimulator(webhook_incident_type="Sekoia alert") as open_instance:
        assert requests.post(open_instance.webhook_url, json={}, timeout=5).status_code == 200
        [incident] = open_instance.incidents
        assert incident["type"] == "Sekoia alert"


def test_webhook_defaults(simulator):
    requests.post(simulator.webhook_url, json={"severity": "high"}, headers=bearer(), timeout=5)
    [incident] = simulator.incidents
    assert incident["name"] == "Generic webhook triggered incident" and incident["type"] == "Unclassified"
    assert incident["occurred"] is None and incident["severity"] == 0 and incident["CustomFields"] == {}


def test_webhook_raw_json_replaces_the_body_and_rawJson_does_not(simulator):
    inner = {"alertId": "A1", "severity": 4}
    body = {"name": "with raw", "alertId": "ignored", "raw_json": inner}
    answer = requests.post(simulator.webhook_url, json=body, headers=bearer(), timeout=5).json()
    raw = json.loads(answer[0]["rawJSON"])
    assert raw == inner | {"headers": raw["headers"]} and answer[0]["name"] == "with raw"
    assert simulator.incidents[0]["CustomFields"] == {"alertid": "A1"} and simulator.incidents[0]["severity"] == 4
    other = {"alertId": "B", "rawJson": {"alertId": "C"}}
    requests.post(simulator.webhook_url, json=other, headers=bearer(), timeout=5)
    assert simulator.incidents[1]["CustomFields"] == {"alertid": "B"}


@pytest.mark.parametrize(
    "body",
    [
        b"{not json",
        b"[1, 2]",
        b'[{"name": "ok"}]',
        b'{"name": 5}',
        b'{"type": ["a"]}',
        b'{"occurred": 1764316800}',
        b'{"raw_json": "{}"}',
    ],
    ids=["invalid-json", "array", "array-of-objects", "name-number", "type-list", "occurred-epoch", "raw_json-text"],
)
@pytest.mark.parametrize("headers", [bearer(), bearer("wrong")], ids=["right-token", "wrong-token"])
def test_webhook_checks_the_body_before_the_credentials(simulator, body, headers):
    response = requests.post(simulator.webhook_url, data=body, headers=headers, timeout=5)
    assert response.status_code == 422 and response.json()["detail"]
    assert simulator.incidents == []


def test_webhook_mapper_is_a_seam(simulator):
    simulator.mapper = lambda raw, _type: {"severity": 1, "CustomFields": {"seen": sorted(raw)}}
    try:
        requests.post(simulator.webhook_url, json={"a": 1}, headers=bearer(), timeout=5)
    finally:
        simulator.mapper = map_raw_json
    assert simulator.incidents[0]["CustomFields"] == {"seen": ["a", "headers"]}


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
def test_rest_create_then_search_by_custom_field(simulator, base, headers):
    url = simulator.api_url_v8 + "/public/v1" if base == "public_v1" else getattr(simulator, base)
    raw = json.dumps({"alertId": "AL1"})
    first = create(
        url, headers(), severity=0.5, CustomFields={"alertid": "AL1"}, rawJSON=raw, createInvestigation=True
    )
    assert first.status_code == 200
    assert create(url, headers(), CustomFields={"alertid": "AL2"}, labels=[{"type": "t", "value": "v"}]).ok
    incident = first.json()
    assert (incident["id"], incident["version"], incident["severity"], incident["rawJSON"]) == ("1", 1, 0.5, raw)
    assert incident["CustomFields"] == {"alertid": "AL1"} and incident["created"] == incident["modified"]
    assert "source" not in incident and incident["status"] == 1
    found = search(url, headers(), 'alertid:"AL1"').json()
    assert found["total"] == 1 and [i["id"] for i in found["data"]] == ["1"]
    assert search(url, headers(), 'alertid:"nothing"').json() == {"total": 0, "data": []}
    assert [i["source"] for i in simulator.incidents_by_alert_id("AL2")] == ["api"]


def test_strict_create_drops_what_the_create_request_does_not_have(simulator):
    body = {"dbotMirrorId": "AL1", "alertId": "AL1", "version": 5, "CustomFields": {"alertid": "AL1"}}
    incident = create(simulator.url, v6_headers(), **body).json()
    assert incident["id"] == "1" and incident["version"] == 1 and incident["dbotMirrorId"] == ""
    assert "alertId" not in incident and incident["CustomFields"] == {"alertid": "AL1"}
    assert search(simulator.url, v6_headers(), 'dbotMirrorId:"AL1"').json()["total"] == 0


def test_lenient_create_keeps_every_key():
    with XsoarSimulator(api_key=KEY, strict=False) as lenient:
        incident = create(lenient.url, v6_headers(), dbotMirrorId="AL1", alertId="AL1").json()
        assert incident["dbotMirrorId"] == "AL1" and incident["alertId"] == "AL1"
        assert search(lenient.url, v6_headers(), 'dbotMirrorId:"AL1"').json()["total"] == 1


@pytest.mark.parametrize(
    ("query", "names"),
    [
        ('alertid:"A" and dbotMirrorId:"M"', ["both"]),
        ('alertid:"A" dbotMirrorId:"M"', ["both"]),
        ('alertid:"A" or dbotMirrorId:"M"', ["both", "custom", "mirror"]),
        ('alertid:"B" OR name:custom', ["custom", "other"]),
        ('ALERTID:"B" and severity:2', ["other"]),
        ('name:"with \\"quote\\""', ['with "quote"']),
        ("alertid:*", ["both", "custom", "other"]),
        ('alertid:* and name:"other" or dbotMirrorId:*', ["both", "mirror", "other"]),
        ('alertid:"*"', []),
        ("", ["both", "custom", "mirror", "other", 'with "quote"']),
    ],
)
def test_search_queries_with_and_or(query, names):
    with XsoarSimulator(api_key=KEY, strict=False, query_or=True) as lenient:
        create(lenient.url, v6_headers(), name="both", CustomFields={"alertid": "A"}, dbotMirrorId="M")
        create(lenient.url, v6_headers(), name="custom", CustomFields={"alertid": "A"})
        create(lenient.url, v6_headers(), name="mirror", dbotMirrorId="M")
        create(lenient.url, v6_headers(), name="other", CustomFields={"alertid": "B"}, severity=2)
        create(lenient.url, v6_headers(), name='with "quote"')
        found = search(lenient.url, v6_headers(), query).json()
        assert sorted(i["name"] for i in found["data"]) == names


@pytest.mark.parametrize(
    "query", ["status:Active and", "free text", 'alertid:"unclosed', "or alertid:A", 'alertid:"A" or alertid:"B"']
)
def test_unsupported_queries_are_refused_not_matching_everything(simulator, query):
    create(simulator.url, v6_headers())
    response = search(simulator.url, v6_headers(), query)
    assert response.status_code == 400 and "query" in response.json()["error"]


def test_rest_search_by_id_and_pages(simulator):
    for name in ("a", "b", "c"):
        create(simulator.api_url_v6, v6_headers(), name=name)
    assert [i["name"] for i in search(simulator.url, v6_headers(), 'id:"2"').json()["data"]] == ["b"]
    assert [i["name"] for i in search(simulator.url, v6_headers(), "id:3").json()["data"]] == ["c"]
    second_page = search(simulator.url, v6_headers(), "", page=1, size=2).json()
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
    assert create(simulator.api_url_v6, v8_headers()).status_code == 200


@pytest.mark.parametrize(
    "body",
    [
        {"name": "x", "severity": 7},
        {"name": "x", "severity": -1},
        {"name": "x", "severity": "high"},
        {"name": "x", "severity": True},
        {"severity": 1},
        {"name": 5},
        {"name": "x", "rawJSON": {"not": "a string"}},
        {"name": "x", "CustomFields": []},
        ["not", "an", "object"],
    ],
    ids=[
        "severity-7",
        "severity-negative",
        "severity-text",
        "severity-bool",
        "no-name",
        "name-number",
        "rawJSON-object",
        "fields",
        "list",
    ],
)
def test_rest_create_refuses_bad_bodies(simulator, body):
    response = requests.post(simulator.url + "/incident", json=body, headers=v6_headers(), timeout=5)
    assert response.status_code == 400 and response.json()["error"]
    assert simulator.incidents == []


def test_rest_invalid_json_is_400(simulator):
    response = requests.post(simulator.url + "/incident", data=b"{", headers=v6_headers(), timeout=5)
    assert response.status_code == 400 and simulator.incidents == []


def test_create_status_can_be_switched(simulator):
    simulator.create_status = 201
    response = create(simulator.api_url_v8, v8_headers())
    assert response.status_code == 201 and response.json()["id"] == "1"


# Faults, records, summary, command line


def test_faults_apply_to_the_webhook_and_the_api(simulator):
    simulator.faults.script(Fault(status=503), Fault(status=429, retry_after=2))
    assert requests.post(simulator.webhook_url, json={}, headers=bearer(), timeout=5).status_code == 503
    limited = create(simulator.url, v6_headers())
    assert limited.status_code == 429 and limited.headers["Retry-After"] == "2"
    assert simulator.incidents == [] and create(simulator.url, v6_headers()).status_code == 200
    assert [r["status"] for r in simulator.requests] == [503, 429, 200]


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
            "closeReason": None,
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
            "closeReason": None,
            "fields": 0,
        },
    ]


def test_command_line_prints_the_urls_and_serves_until_interrupted():
    command = [
        sys.executable,
        "-m",
        "lab.doubles.xsoar",
        "--port",
        "0",
        "--token",
        "T",
        "--instance",
        "demo",
    ]
    with subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, text=True) as process:
        try:
            webhook_url = process.stdout.readline().split()[-1]
            assert webhook_url.endswith("/instance/execute/demo")
            assert requests.post(webhook_url, json={"name": "cli"}, headers=bearer("T"), timeout=5).status_code == 200
        finally:
            process.send_signal(signal.SIGINT)
        output, _ = process.communicate(timeout=10)
    assert process.returncode == 0 and "'name': 'cli'" in output
