"""Create Incident run as the platform runs it, against the XSOAR and Sekoia.io simulators."""

import json
import math
import socket
import ssl
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import trustme

from lab.doubles.faults import Fault
from lab.doubles.xsoar import XsoarSimulator
from tests.support import SEKOIA_KEY, XSOAR_API_KEY, XSOAR_PASSWORD, XSOAR_TOKEN, assert_no_secret, until
from xsoar_module.clients.retry import RetryPolicy
from xsoar_module.sync.marker import is_marked

SAMPLES = Path(__file__).resolve().parent.parent / "lab" / "samples"
ALERT = json.loads((SAMPLES / "alert.json").read_text())
EVENTS = json.loads((SAMPLES / "alert_events.json").read_text())["items"]


def webhook_config(sekoia, xsoar, **overrides) -> dict:
    return {
        "base_url": sekoia.url,
        "api_key": SEKOIA_KEY,
        "xsoar_url": xsoar.webhook_url,
        "xsoar_token": XSOAR_TOKEN,
    } | overrides


def api_config(sekoia, xsoar, version: int, **overrides) -> dict:
    config = {
        "base_url": sekoia.url,
        "api_key": SEKOIA_KEY,
        "xsoar_mode": "api",
        "xsoar_url": xsoar.api_url_v6 if version == 6 else xsoar.api_url_v8,
        "xsoar_api_key": XSOAR_API_KEY,
    }
    if version == 8:
        config["xsoar_api_key_id"] = "17"
    return config | overrides


def create(symphony, config: dict, data_path: Path, in_process: bool = True, **arguments):
    run = symphony.run_action(
        "CreateIncident",
        config,
        {"alert": ALERT, "events": EVENTS} | arguments,
        data_path=data_path,
        in_process=in_process,
    )
    assert_no_secret(run.results, run.error, run.logs, getattr(run, "stderr", ""))
    return run


@pytest.mark.parametrize("in_process", [False, True], ids=["process", "in-process"])
def test_webhook_with_header_auth(symphony, sekoia, xsoar, data_path, in_process):
    run = create(symphony, webhook_config(sekoia, xsoar), data_path, in_process=in_process)
    assert run.error is None, run.error
    assert run.results["mode"] == "webhook" and run.results["deduplicated"] is False
    assert run.results["incident_id"] == xsoar.incidents[0]["id"]
    assert (run.results["alertId"], run.results["severity"], run.results["events_sent"]) == ("ALz7Qm3KpW2x", 3, 3)
    [request] = [r for r in xsoar.requests if "/instance/execute/" in r["path"]]
    assert request["headers"]["Authorization"] == f"Bearer {XSOAR_TOKEN}"
    body = json.loads(request["body"])
    assert body["name"] == "PowerShell Download Cradle" and body["occurred"] == "2025-11-28T08:00:00Z"
    assert body["alertUrl"] == f"{sekoia.url}/operations/alerts/ALz7Qm3KpW2x"
    assert body["urgency"] == 3 and len(body["events"]) == 3
    assert "incident" in run.logs and xsoar.webhook_url in run.logs
    raw = json.loads(xsoar.incidents[0]["rawJSON"])  # what the Generic Webhook keeps: body + headers but the auth one
    assert raw["alertId"] == "ALz7Qm3KpW2x" and "authorization" not in raw["headers"]
    assert_no_secret(xsoar.incidents[0])


def test_webhook_with_basic_auth(symphony, sekoia, data_path):
    with XsoarSimulator(webhook_basic=("sekoia", XSOAR_PASSWORD)) as basic:
        config = webhook_config(
            sekoia, basic, xsoar_token=None, xsoar_username="sekoia", xsoar_password=XSOAR_PASSWORD
        )
        run = create(symphony, config, data_path)
        assert run.error is None, run.error
        assert len(basic.incidents) == 1 and basic.requests[0]["headers"]["Authorization"].startswith("Basic ")


def test_webhook_on_the_xsoar_8_external_path_and_type(symphony, sekoia, xsoar, data_path):
    run = create(
        symphony, webhook_config(sekoia, xsoar, xsoar_url=xsoar.webhook_url_v8), data_path, incident_type="Sekoia"
    )
    assert run.error is None and xsoar.incidents[0]["type"] == "Sekoia"


@pytest.mark.parametrize("version", [6, 8])
def test_api_mode_creates_once_and_deduplicates(symphony, sekoia, xsoar, data_path, version):
    config = api_config(sekoia, xsoar, version)
    first = create(symphony, config, data_path, playbook_id="pb-7")
    assert first.error is None, first.error
    assert first.results["deduplicated"] is False and first.results["mode"] == "api"
    [incident] = xsoar.incidents_by_alert_id("ALz7Qm3KpW2x")
    assert incident["severity"] == 3 and incident["playbookId"] == "pb-7" and incident["createInvestigation"] is True
    assert json.loads(incident["rawJSON"])["alertUrl"].endswith("/operations/alerts/ALz7Qm3KpW2x")
    assert incident["dbotMirrorId"] == ""  # the strict simulator drops what the swagger's create request lacks
    assert "3 request(s)" in first.logs  # one search, one create, one search for a concurrent run's incident
    second = create(symphony, config, data_path)
    assert second.results["deduplicated"] is True and second.results["incident_id"] == first.results["incident_id"]
    assert len(xsoar.incidents) == 1 and "already existed" in second.logs and "1 request(s)" in second.logs
    headers = [r["headers"] for r in xsoar.requests]
    assert all(h["Authorization"] == XSOAR_API_KEY for h in headers)
    assert all(h.get("x-xdr-auth-id") == ("17" if version == 8 else None) for h in headers)


def test_two_runs_of_one_alert_at_the_same_time_leave_it_one_open_incident(symphony, sekoia, xsoar, data_path):
    """A trigger killed as it emitted an alert emits it again: the second run searches before the first's create is
    done. Both create; the later closes its own as Duplicate of the first, with the marker (no sync echo)."""
    config = api_config(sekoia, xsoar, 6)
    xsoar.faults.script(Fault(), Fault(delay=1.5), method="POST", path_contains="/incident")  # the first run's create
    with ThreadPoolExecutor(1) as pool:
        slow = pool.submit(create, symphony, config, data_path)
        until(lambda: any(r["path"] == "/incident" for r in xsoar.requests), 10, "the first run's create")
        fast = create(symphony, config, data_path)
        later = slow.result()
    assert fast.error is None and later.error is None, (fast.error, later.error)
    first, duplicate = xsoar.incidents_by_alert_id("ALz7Qm3KpW2x")
    assert fast.results["incident_id"] == first["id"] and fast.results["deduplicated"] is False
    assert (later.results["incident_id"], later.results["duplicate_closed"]) == (first["id"], duplicate["id"])
    assert later.results["deduplicated"] is True and first["status"] != 2
    assert (duplicate["status"], duplicate["closeReason"]) == (2, "Duplicate") and is_marked(duplicate["closeNotes"])
    assert f"Duplicate of incident {first['id']}" in duplicate["closeNotes"]
    assert f"incident {duplicate['id']} is closed as Duplicate" in later.logs and "4 request(s)" in later.logs


def test_api_mode_accepts_the_xsoar_8_url_with_or_without_its_suffix(symphony, sekoia, xsoar, data_path):
    run = create(symphony, api_config(sekoia, xsoar, 8, xsoar_url=xsoar.url), data_path)
    assert run.error is None and all(r["path"].startswith("/xsoar/") for r in xsoar.requests)


def test_api_mode_deduplicates_by_alertid_in_one_single_term_search(symphony, sekoia, data_path):
    """One term per query (`or` is unconfirmed); `dbotMirrorId` alone (incidents of the first versions, on
    an XSOAR that stores it) is searched by Update Incident only, not before each creation."""
    with XsoarSimulator(api_key=XSOAR_API_KEY, strict=False) as lenient:
        config = api_config(sekoia, lenient, 6)
        first = create(symphony, config, data_path)
        second = create(symphony, config, data_path)
        queries = [json.loads(r["body"])["filter"]["query"] for r in lenient.requests if "/search" in r["path"]]
    assert first.error is None and second.results["deduplicated"] is True and len(lenient.incidents) == 1
    assert set(queries) == {'alertid:"ALz7Qm3KpW2x"'}


def test_api_mode_fields_go_top_level_or_under_custom_fields(symphony, sekoia, xsoar, data_path):
    fields = {"Owner": "soc", "Sekoia Tenant": "acme", "CustomFields": {"team": "blue"}, "severity": 4}
    run = create(symphony, api_config(sekoia, xsoar, 6), data_path, fields=fields)
    assert run.error is None, run.error
    [incident] = xsoar.incidents
    assert incident["owner"] == "soc" and incident["severity"] == 4 and run.results["severity"] == 4
    custom = {key: incident["CustomFields"][key] for key in ("alertid", "sekoiatenant", "team")}
    assert custom == {"alertid": "ALz7Qm3KpW2x", "sekoiatenant": "acme", "team": "blue"}
    assert incident["CustomFields"]["sekoiaioalerturl"].endswith("/operations/alerts/ALz7Qm3KpW2x")


def test_api_mode_any_2xx_is_a_success(symphony, sekoia, xsoar, data_path):
    xsoar.create_status = 201
    try:
        run = create(symphony, api_config(sekoia, xsoar, 6), data_path)
    finally:
        xsoar.create_status = 200
    assert run.error is None and run.results["incident_id"] == xsoar.incidents[0]["id"]


@pytest.mark.usefixtures("quick_xsoar_retries")
@pytest.mark.parametrize("mode", ["webhook", "api"])
def test_503_and_429_are_retried(symphony, sekoia, xsoar, data_path, mode):
    xsoar.faults.script(Fault(status=503), Fault(status=429, retry_after=0.2), Fault(status=504))
    config = webhook_config(sekoia, xsoar) if mode == "webhook" else api_config(sekoia, xsoar, 6)
    run = create(symphony, config, data_path)
    assert run.error is None, run.error
    assert len(xsoar.incidents) == 1
    assert "answered 503" in run.logs and "answered 429" in run.logs and "retry 1/" in run.logs


@pytest.fixture
def impatient_xsoar_client(monkeypatch):
    """In-process runs: a short read timeout, quick retries and settle searches, to exercise unknown outcomes fast."""
    monkeypatch.setattr("xsoar_module.clients.xsoar.connection.XSOAR_TIMEOUT", (2.0, 0.5))
    monkeypatch.setattr(
        "xsoar_module.clients.xsoar.connection.XSOAR_POLICY", RetryPolicy(attempts=3, initial_wait=0.01)
    )
    monkeypatch.setattr("xsoar_module.clients.xsoar.connection.SETTLE_WAITS", (0.0, 0.2, 0.4))


@pytest.mark.parametrize(
    ("settle_waits", "incidents"), [((0.0, 0.5, 1.0, 2.0), 1), ((0.0,), 2)], ids=["settle", "none"]
)
def test_api_mode_xsoar_committing_seconds_after_the_read_timeout(
    symphony, sekoia, xsoar, data_path, monkeypatch, settle_waits, incidents
):
    """XSOAR commits the create 3 s after receiving it, the client gives up after 0.5 s: the searches spread over
    the settle period (3.5 s here, 30 s by default) find it; a single search (what the module did before) does not.
    The default timings halved (6 s, 1 s, 7 s before) keep the same order of events in half the time."""
    monkeypatch.setattr("xsoar_module.clients.xsoar.connection.XSOAR_TIMEOUT", (2.0, 0.5))
    monkeypatch.setattr(
        "xsoar_module.clients.xsoar.connection.XSOAR_POLICY", RetryPolicy(attempts=3, initial_wait=0.01)
    )
    monkeypatch.setattr("xsoar_module.clients.xsoar.connection.SETTLE_WAITS", settle_waits)
    # the dedupe search first (answered at once), then the create, handled 3 s late
    xsoar.faults.script(Fault(), Fault(delay=3.0), method="POST", path_contains="/incident")
    run = create(symphony, api_config(sekoia, xsoar, 6), data_path)
    assert run.error is None, run.error
    until(lambda: len(xsoar.incidents) >= incidents, what=f"{incidents} incident(s)")
    assert len(xsoar.incidents) == incidents
    creates = xsoar.count("POST", "/incident") - xsoar.count("POST", "/incidents/search")
    assert creates == incidents and "searching for it" in run.logs
    if incidents == 1:
        assert run.results["incident_id"] == xsoar.incidents[0]["id"] and run.results["deduplicated"] is False


@pytest.mark.usefixtures("impatient_xsoar_client")
def test_api_mode_timeout_with_unknown_outcome_searches_before_retrying(symphony, sekoia, xsoar, data_path):
    # the dedupe search first (answered normally), then the create, processed but answered too late
    xsoar.faults.script(Fault(), Fault(delay_after=2.0), method="POST", path_contains="/incident")
    run = create(symphony, api_config(sekoia, xsoar, 6), data_path)
    assert run.error is None, run.error
    assert len(xsoar.incidents) == 1 and run.results["incident_id"] == xsoar.incidents[0]["id"]
    assert xsoar.count("POST", "/incident") - xsoar.count("POST", "/incidents/search") == 1  # no second create


@pytest.mark.usefixtures("impatient_xsoar_client")
def test_webhook_timeout_is_retried_and_warns_of_a_possible_duplicate(symphony, sekoia, xsoar, data_path):
    xsoar.faults.script(Fault(delay_after=2.0), method="POST")
    run = create(symphony, webhook_config(sekoia, xsoar), data_path)
    assert run.error is None, run.error
    assert len(xsoar.incidents) == 2 and "may be created twice" in run.logs


@pytest.mark.parametrize(
    ("fault", "mode", "expected"),
    [
        (Fault(status=400, body="Invalid incident: severity"), "api", "rejected the incident (400): Invalid incident"),
        (Fault(status=401, body="Issue with CSRF code"), "api", "xsoar_api_key"),
        (Fault(status=403), "webhook", "xsoar_token"),
    ],
)
def test_xsoar_refusals_say_what_to_fix(symphony, sekoia, xsoar, data_path, fault, mode, expected):
    faults = (Fault(), fault) if mode == "api" else (fault,)  # in API mode, the dedupe search comes first
    xsoar.faults.script(*faults, method="POST")
    config = webhook_config(sekoia, xsoar) if mode == "webhook" else api_config(sekoia, xsoar, 6)
    run = create(symphony, config, data_path)
    assert run.results is None and expected in run.error and "Traceback" not in run.error


def test_wrong_webhook_token(symphony, sekoia, xsoar, data_path):
    run = create(symphony, webhook_config(sekoia, xsoar, xsoar_token="not-the-token"), data_path)
    assert "refused the webhook (401" in run.error and "_header:Authorization" in run.error
    assert xsoar.incidents == []


def test_wrong_instance_name(symphony, sekoia, xsoar, data_path):
    config = webhook_config(sekoia, xsoar, xsoar_url=xsoar.url + "/instance/execute/nope")
    run = create(symphony, config, data_path)
    assert "404" in run.error and "instance.execute.external" in run.error


def test_tls_failure_names_the_settings(symphony, sekoia, xsoar, data_path):
    config = webhook_config(sekoia, xsoar, xsoar_url=xsoar.webhook_url.replace("http://", "https://"))
    run = create(symphony, config, data_path)
    assert "TLS verification" in run.error and "ca_certificate" in run.error and "verify_certificate" in run.error


@pytest.mark.usefixtures("impatient_xsoar_client")
def test_unreachable_xsoar(symphony, sekoia, data_path):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    config = {"base_url": sekoia.url, "api_key": SEKOIA_KEY, "xsoar_url": f"http://127.0.0.1:{port}/x"}
    run = create(symphony, config | {"xsoar_token": XSOAR_TOKEN}, data_path)
    assert "could not be reached" in run.error and "after 3 attempt(s)" in run.error


def test_api_mode_without_api_key(symphony, sekoia, xsoar, data_path):
    run = create(symphony, api_config(sekoia, xsoar, 6, xsoar_api_key=None), data_path)
    assert "xsoar_mode is 'api' but xsoar_api_key is empty" in run.error


def test_alert_by_uuid_with_fetched_events(symphony, sekoia, xsoar, data_path):
    run = symphony.run_action(
        "CreateIncident",
        webhook_config(sekoia, xsoar),
        {"alert_uuid": "ALz7Qm3KpW2x", "fetch_events": True, "max_events": 2},
        data_path=data_path,
        in_process=True,
    )
    assert run.error is None, run.error
    body = json.loads(xsoar.requests[-1]["body"])
    assert len(body["events"]) == 2 and body["eventsTruncated"] is True
    assert run.results["events_sent"] == 2


def test_alert_path_and_events_path_from_the_data_storage(symphony, sekoia, xsoar, data_path):
    (data_path / "event-dir").mkdir()
    (data_path / "event-dir" / "alert.json").write_text(json.dumps(ALERT))
    (data_path / "event-dir" / "events.json").write_text(json.dumps(EVENTS[:2]))
    arguments = {"alert_path": "event-dir/alert.json", "events_path": "event-dir/events.json"}
    run = symphony.run_action("CreateIncident", webhook_config(sekoia, xsoar), arguments, data_path=data_path)
    assert run.error is None, run.error
    assert run.results["alertId"] == "ALz7Qm3KpW2x" and run.results["events_sent"] == 2


@pytest.mark.parametrize(
    ("arguments", "expected"),
    [
        ({"alert": None}, "give the alert"),
        ({"events": {"not": "a list"}}, "events"),
        ({"events": [1, 2]}, "events"),
        ({"alert": {"title": "no ids"}}, "neither short_id nor uuid"),
        ({"alert_path": "missing.json", "alert": None}, "alert_path 'missing.json': no such file in the run's data"),
        ({"max_events": -1}, "max_events"),
        ({"fields": {"alertId": "other", "events": []}}, "alertId, events identify the alert"),
        ({"fields": {"Alert ID": "other"}}, "Alert ID identify the alert"),
        ({"fields": {"CustomFields": {"alertid": "other"}}}, "alertid identify the alert"),
        ({"fields": {"severity": "high"}}, "fields.severity must be a number from 0 to 4"),
        ({"fields": {"severity": 99}}, "fields.severity must be a number from 0 to 4"),
        ({"fields": {"severity": "NaN"}}, "fields.severity must be a number from 0 to 4"),
        ({"fields": {"Severity": "-Infinity"}}, "fields.severity must be a number from 0 to 4"),
        ({"fields": {"severity": True}}, "fields.severity must be a number from 0 to 4"),
        ({"fields": {"name": 5}}, "fields.name must be a text"),
        ({"fields": {"occurred": 1764316800}}, "fields.occurred must be a text"),
        ({"fields": {"Owner": "a", "owner": "b"}}, "two keys name the same XSOAR field"),
        ({"fields": {"CustomFields": "x"}}, "CustomFields must be an object"),
        ({"fields": {"deep": json.loads("[" * 300 + "]" * 300)}}, "nested too deeply"),
        ({"fields": {"a b": 1, "AB": 2}}, "are the same XSOAR field 'ab'"),
    ],
)
@pytest.mark.parametrize("mode", ["webhook", "api"])
def test_bad_input(symphony, sekoia, xsoar, data_path, arguments, expected, mode):
    config = webhook_config(sekoia, xsoar) if mode == "webhook" else api_config(sekoia, xsoar, 6)
    run = create(symphony, config, data_path, **arguments)
    assert run.results is None and expected in run.error and "Traceback" not in run.error
    assert xsoar.requests == []  # checked before anything is sent


def test_a_nan_severity_in_the_arguments_json_is_refused_before_sending(symphony, sekoia, xsoar, data_path):
    run = create(symphony, api_config(sekoia, xsoar, 8), data_path, fields={"severity": math.nan})
    assert "fields.severity must be a number from 0 to 4" in run.error and xsoar.requests == []


@pytest.mark.parametrize("mode", ["webhook", "api"])
def test_huge_name_and_details_are_trimmed_under_512_kib(symphony, sekoia, xsoar, data_path, mode):
    alert = ALERT | {"details": "d" * (50 * 1024 * 1024)}
    config = webhook_config(sekoia, xsoar) if mode == "webhook" else api_config(sekoia, xsoar, 6)
    run = create(symphony, config, data_path, alert=alert, name="N" * (10 * 1024 * 1024))
    assert run.error is None, run.error
    [sent] = [r for r in xsoar.requests if not r["path"].endswith("/search")]
    assert len(sent["body"]) <= 512 * 1024
    body = json.loads(sent["body"])
    raw = json.loads(body["rawJSON"]) if mode == "api" else body
    assert {"name", "details"} <= set(raw["truncatedFields"]) and raw["alertId"] == "ALz7Qm3KpW2x"
    assert run.results["events_sent"] == 3 and len(run.results["name"]) < 512 * 1024


def test_events_given_as_json_text_are_accepted(symphony, sekoia, xsoar, data_path):
    run = create(symphony, webhook_config(sekoia, xsoar), data_path, events=json.dumps(EVENTS))
    assert run.error is None and run.results["events_sent"] == 3


def test_alert_without_rule_or_events(symphony, sekoia, xsoar, data_path):
    alert = {key: value for key, value in ALERT.items() if key not in ("rule",)}
    run = create(symphony, webhook_config(sekoia, xsoar), data_path, alert=alert, events=[])
    assert run.error is None and run.results["name"] == ALERT["title"] and run.results["events_sent"] == 0


def test_fields_may_set_a_numeric_severity_given_as_text(symphony, sekoia, xsoar, data_path):
    run = create(symphony, webhook_config(sekoia, xsoar), data_path, fields={"severity": "4", "owner": "soc"})
    assert run.error is None and run.results["severity"] == 4
    body = json.loads(xsoar.requests[-1]["body"])
    assert body["severity"] == 4 and body["owner"] == "soc"


def test_a_webhook_answer_that_is_not_json_is_still_a_success(symphony, sekoia, xsoar, data_path):
    xsoar.faults.script(Fault(status=200, raw_body="created"), method="POST")
    run = create(symphony, webhook_config(sekoia, xsoar), data_path)
    assert run.error is None and run.results["incident_id"] is None and "not JSON" in run.logs


def test_a_webhook_answered_by_an_html_page_is_an_error_naming_xsoar_url(symphony, sekoia, xsoar, data_path):
    xsoar.faults.script(Fault(status=200, raw_body="<html><body>Sign in</body></html>"), method="POST")
    run = create(symphony, webhook_config(sekoia, xsoar), data_path)
    assert "HTML page" in run.error and "xsoar_url" in run.error and xsoar.webhook_url in run.error


def test_a_private_ca_is_trusted_through_ca_certificate(symphony, sekoia, data_path):
    ca = trustme.CA()
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(context)
    with XsoarSimulator(webhook_token=XSOAR_TOKEN, ssl_context=context) as private:
        assert private.webhook_url.startswith("https://127.0.0.1:")
        refused = create(symphony, webhook_config(sekoia, private), data_path)
        assert "TLS verification" in refused.error and private.incidents == []
        pem = ca.cert_pem.bytes().decode()
        trusted = create(symphony, webhook_config(sekoia, private, ca_certificate=pem), data_path)
        assert trusted.error is None, trusted.error
        unchecked = create(symphony, webhook_config(sekoia, private, verify_certificate=False), data_path)
        assert unchecked.error is None and len(private.incidents) == 2


def test_a_phishing_url_in_the_events_reaches_xsoar_as_it_is(symphony, sekoia, xsoar, data_path):
    """Secrets are masked in what the module sends, not a URL's user information: that is evidence."""
    ioc = "http://paypal.com@evil.example/login"
    events = [EVENTS[0] | {"url.original": ioc}] + EVENTS[1:]
    run = create(symphony, api_config(sekoia, xsoar, 6), data_path, events=events)
    assert run.error is None, run.error
    [incident] = xsoar.incidents
    assert ioc in incident["CustomFields"]["sekoiaioevents"] and ioc in incident["rawJSON"]
