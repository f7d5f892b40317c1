"""Secrets, leaks, files, input bounds and clear errors: hostile values through the SDK protocol and the HTTP layer."""

import base64
import json
import ssl
from pathlib import Path
from urllib.parse import quote, quote_plus

import pytest
import trustme
from aiohttp import web
from pydantic import ValidationError

from lab.doubles.faults import Fault, FaultPlan
from lab.doubles.server import BackgroundServer, fault_middleware
from tests.support import (
    SECRETS,
    SEKOIA_KEY,
    XSOAR_PASSWORD,
    XSOAR_TOKEN,
    assert_no_secret,
    canaries,
)
from xsoar_module.actions.get_alert import GetAlert
from xsoar_module.clients.http import HttpSession
from xsoar_module.clients.retry import RetryPolicy
from xsoar_module.configuration import ModuleConfiguration
from xsoar_module.errors import ServiceError, UnavailableError, describe_validation_error
from xsoar_module.module import XsoarModule
from xsoar_module.quoting import MAX_MESSAGE, quoted, shorten
from xsoar_module.secrets import SecretMasker

SAMPLES = Path(__file__).resolve().parent.parent / "lab" / "samples"
ALERT = json.loads((SAMPLES / "alert.json").read_text())
SAMPLE_UUID = "5f3c9a1e-8d2b-4c7a-9e41-0b6d2f8a7c13"
XSOAR = "https://xsoar.example.com/instance/execute/sekoia"
FAST = RetryPolicy(attempts=4, deadline=10.0, initial_wait=0.01, max_wait=0.05)
TEN_MIB = "A" * (10 * 1024 * 1024)


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def sekoia_config(sekoia, **overrides) -> dict:
    return {"base_url": sekoia.url, "api_key": SEKOIA_KEY, "xsoar_url": "http://127.0.0.1:9/unused"} | overrides


def webhook_config(sekoia, xsoar, **overrides) -> dict:
    return sekoia_config(sekoia, xsoar_url=xsoar.webhook_url, xsoar_token=XSOAR_TOKEN) | overrides


def everything(run) -> tuple:
    return run.results, run.error, run.logs, run.stderr


# -- the masker -------------------------------------------------------------------------------------------------

MASKER = SecretMasker.of(
    ModuleConfiguration(
        xsoar_url=XSOAR,
        api_key=SEKOIA_KEY,
        xsoar_username="sekoia",
        xsoar_password=XSOAR_PASSWORD,
    ),
    extra=[XSOAR_TOKEN],
)


@pytest.mark.parametrize(
    "leak",
    [
        f"key {SEKOIA_KEY}",
        f"quoted {XSOAR_PASSWORD + chr(9)!r}",
        f"url-encoded ?token={quote(XSOAR_TOKEN + '/&', safe='')} and {quote_plus(XSOAR_TOKEN + ' x')}",
        f"Authorization: Basic {b64('sekoia:' + XSOAR_PASSWORD)}",
        f"Authorization: Bearer {XSOAR_TOKEN}",
        f"base64 of the header value {b64('Bearer ' + XSOAR_TOKEN)}",
        f"base64 alone {b64(SEKOIA_KEY)} and inside a blob {b64(json.dumps({'key': SEKOIA_KEY}))}",
        f"urlsafe {base64.urlsafe_b64encode(('??>' + XSOAR_TOKEN).encode()).decode()}",
        json.dumps({"echo": XSOAR_PASSWORD + "\u00e9"}),
    ],
)
def test_the_masker_covers_every_encoding(leak):
    masked = MASKER.mask(leak)
    assert "***" in masked
    assert_no_secret(masked)


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://user:pw-canary@host.example/x", "https://***@host.example/x"),
        ("see http://only-user@h:8443/p?q=a@b", "see http://***@h:8443/p?q=a@b"),
        ("wss://a%40b:c@live.example/", "wss://***@live.example/"),
        ("https://host.example/path?mail=a@b.c", "https://host.example/path?mail=a@b.c"),
    ],
)
def test_url_userinfo_is_masked(url, expected):
    assert SecretMasker().mask(url) == expected


@pytest.mark.parametrize("leak", [f"key {SEKOIA_KEY}", f"Authorization: Basic {b64('sekoia:' + XSOAR_PASSWORD)}"])
def test_data_crossing_to_the_other_side_keeps_url_evidence_and_hides_secrets(leak):
    """What a request body, a trigger event or an alert file carries: a phishing URL's user information is evidence."""
    ioc = "http://paypal.com@evil.example/login"
    masked = MASKER.for_data().mask_value({"details": f"{ioc} {leak}", ioc: [ioc]})
    assert masked == {"details": f"{ioc} {MASKER.mask(leak)}", ioc: [ioc]}
    assert_no_secret(str(masked))
    assert MASKER.mask(ioc) == "http://***@evil.example/login"  # logs and errors still hide any user information


def test_results_are_masked_keys_and_values():
    results = {"incident_id": XSOAR_TOKEN, "list": [{SEKOIA_KEY: 1}], "n": 3, "url": "https://u:p@h/"}
    masked = MASKER.mask_value(results)
    assert masked == {"incident_id": "***", "list": [{"***": 1}], "n": 3, "url": "https://***@h/"}
    clean = {"a": ["b", 1, None]}
    assert MASKER.mask_value(clean) is clean


# -- secrets: validated on every path -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "accepted", "problem"),
    [
        (f"  {SEKOIA_KEY}\n", SEKOIA_KEY, None),
        (f"{SEKOIA_KEY}\r\nX-Injected: 1", None, "line break or a control character"),
        (f"{SEKOIA_KEY}\x00", None, "line break or a control character"),
        (f"{SEKOIA_KEY}\x85end", None, "line break or a control character"),
        (f"{SEKOIA_KEY}\u20ac", None, "not latin-1"),
        (f"{SEKOIA_KEY}\u00e9", f"{SEKOIA_KEY}\u00e9", None),
    ],
)
def test_credentials_are_trimmed_single_line_latin1(value, accepted, problem):
    for field in ("api_key", "xsoar_token", "xsoar_password", "xsoar_api_key", "xsoar_username"):
        if problem is None:
            assert getattr(ModuleConfiguration(xsoar_url=XSOAR, **{field: value}), field) == accepted
            continue
        with pytest.raises(ValidationError) as caught:
            ModuleConfiguration(xsoar_url=XSOAR, **{field: value})
        message = describe_validation_error(caught.value, "module configuration")
        assert field in message and problem in message
        assert_no_secret(message, str(caught.value))


@pytest.mark.parametrize("in_process", [False, True], ids=["process", "in-process"])
@pytest.mark.parametrize(
    ("delivered", "expected"),
    [
        ({"api_key": f"{SEKOIA_KEY}\n"}, None),
        ({"api_key": f"{SEKOIA_KEY}\r\nX-Injected: yes"}, "api_key contains a line break"),
        ({"api_key": f"\u2014{SEKOIA_KEY}"}, "api_key contains a character that cannot be sent"),
        ({"api_key": 12345678}, "api_key: Input should be a valid string"),
    ],
)
def test_secrets_delivered_by_the_platform_are_validated(symphony, sekoia, data_path, delivered, expected, in_process):
    """The SDK assigns them after loading the configuration: the action's running answer (need_secrets)."""
    run = symphony.run_action(
        "GetAlert",
        sekoia_config(sekoia),
        {"uuid": SAMPLE_UUID},
        secrets=delivered,
        data_path=data_path,
        in_process=in_process,
    )
    assert run.status == "finished"
    if expected is None:
        assert run.error is None and run.results["uuid"] == SAMPLE_UUID
    else:
        assert run.results is None and expected in run.error and "Traceback" not in run.error
        assert "12345678" not in str(everything(run))
    assert_no_secret(*everything(run))


def test_a_trigger_secret_with_a_line_break_is_a_critical_log(symphony, sekoia, data_path):
    """The trigger's secrets come from its secrets URL, merged by the SDK before the first run."""
    run = symphony.start_trigger(
        "AlertCreatedTrigger",
        sekoia_config(sekoia),
        {},
        secrets={"api_key": f"{SEKOIA_KEY}\nX-Injected: 1"},
        data_path=data_path,
    )
    try:
        run.wait_for_log("api_key contains a line break", level="critical", timeout=20)
    finally:
        run.stop()
    assert "Traceback" not in run.stderr
    assert_no_secret(run.logs, run.stderr)


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({"base_url": "not a url"}, "base_url must be an absolute http or https URL"),
        ({"liveapi_url": "ftp://live.example"}, "liveapi_url must be an absolute"),
        ({"base_url": "https://api.sekoia.io/v1/sic?x=1"}, "base_url must be the Sekoia.io API base"),
    ],
)
def test_trigger_configuration_errors_reach_the_platform(symphony, sekoia, data_path, overrides, expected):
    run = symphony.start_trigger("AlertCreatedTrigger", sekoia_config(sekoia, **overrides), {}, data_path=data_path)
    try:
        log = run.wait_for_log(expected, level="critical", timeout=20)
    finally:
        run.stop()
    assert log["message"].startswith("Invalid module configuration")
    assert "Traceback" not in run.stderr
    assert_no_secret(run.logs, run.stderr)


# -- leaks ------------------------------------------------------------------------------------------------------


def test_a_401_body_echoing_basic_auth_is_masked(symphony, sekoia, xsoar, data_path):
    echo = f"denied: Authorization: Basic {b64('sekoia:' + XSOAR_PASSWORD)}; password={quote(XSOAR_PASSWORD)}"
    xsoar.faults.script(Fault(status=401, body=echo), method="POST")
    config = webhook_config(sekoia, xsoar, xsoar_token=None, xsoar_username="sekoia", xsoar_password=XSOAR_PASSWORD)
    run = symphony.run_action("CreateIncident", config, {"alert": ALERT}, data_path=data_path, in_process=True)
    assert "401" in run.error and "***" in run.error
    assert_no_secret(*everything(run))


def test_results_echoing_a_secret_are_masked(symphony, sekoia, xsoar, data_path):
    xsoar.faults.script(Fault(status=200, raw_body=json.dumps([{"id": f"id-{XSOAR_TOKEN}"}])), method="POST")
    run = symphony.run_action(
        "CreateIncident", webhook_config(sekoia, xsoar), {"alert": ALERT}, data_path=data_path, in_process=True
    )
    assert run.error is None and run.results["incident_id"] == "id-***"
    assert_no_secret(*everything(run))


def test_a_password_in_xsoar_url_is_refused_and_never_shown(symphony, sekoia, xsoar, data_path):
    url = xsoar.url.replace("http://", "http://admin:pw-in-url-canary-31@") + "/instance/execute/nope"
    run = symphony.run_action(
        "CreateIncident", webhook_config(sekoia, xsoar, xsoar_url=url), {"alert": ALERT}, data_path=data_path
    )
    assert "xsoar_url must not carry a user name or password" in run.error
    assert xsoar.requests == []
    shown = str(everything(run))
    assert "pw-in-url-canary-31" not in shown and b64("admin:pw-in-url-canary-31").rstrip("=") not in shown


def test_an_unexpected_failure_is_one_line_naming_the_block(symphony, sekoia, xsoar, data_path, monkeypatch):
    def broken(*_args, **_kwargs):
        raise KeyError("some-internal-key")

    monkeypatch.setattr("xsoar_module.mapping.incident.webhook_body", broken)
    run = symphony.run_action(
        "CreateIncident", webhook_config(sekoia, xsoar), {"alert": ALERT}, data_path=data_path, in_process=True
    )
    assert run.error == "Create Incident failed unexpectedly (KeyError: 'some-internal-key')"
    assert "Traceback" in run.logs and "Traceback" not in run.error


# -- files --------------------------------------------------------------------------------------------------------

REFUSED = "must be a path inside the run's data folder"


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    secret_file = tmp_path / "outside" / "passwd.json"
    secret_file.parent.mkdir()
    secret_file.write_text(json.dumps(ALERT | {"title": "outside-content-canary"}))
    return secret_file


def path_cases(data_path: Path, outside: Path) -> dict[str, str]:
    (data_path / "link.json").symlink_to(outside)
    (data_path / "dir").mkdir()
    return {
        "climbing": "../outside/passwd.json",
        "climbing missing": "../outside/nothing.json",
        "deep climbing": "dir/../../../../../../etc/passwd",
        "absolute elsewhere": str(outside),
        "absolute missing": str(outside.with_name("nothing.json")),
        "symlink out": "link.json",
        "nul byte": "alert.json\x00.txt",
        "the folder itself": ".",
    }


@pytest.mark.parametrize("argument", ["alert_path", "events_path"])
def test_paths_outside_the_data_folder_are_refused_alike(symphony, sekoia, xsoar, data_path, outside, argument):
    (data_path / "alert.json").write_text(json.dumps(ALERT))
    errors = {}
    for case, value in path_cases(data_path, outside).items():
        arguments = {"alert_path": "alert.json", argument: value}
        run = symphony.run_action(
            "CreateIncident", webhook_config(sekoia, xsoar), arguments, data_path=data_path, in_process=True
        )
        assert run.results is None and f"{argument} {REFUSED}" in run.error, (case, run.error)
        assert "outside-content-canary" not in str(everything(run))
        errors[case] = run.error.replace(quoted(value, 80), "<value>")
    assert errors["climbing"] == errors["climbing missing"]  # whether the file exists is not told
    assert errors["absolute elsewhere"] == errors["absolute missing"]
    assert xsoar.incidents == []


def test_files_inside_the_data_folder(symphony, sekoia, xsoar, data_path):
    (data_path / "run").mkdir()
    (data_path / "run" / "alert.json").write_text(json.dumps(ALERT))
    (data_path / "latin1.json").write_bytes(b'{"title": "caf\xe9"}')
    cases = [
        ({"alert_path": "run/alert.json"}, None),
        ({"alert_path": str(data_path / "run" / "alert.json")}, None),
        ({"alert_path": "run/../run/alert.json"}, None),
        ({"alert_path": "run/missing.json"}, "alert_path 'run/missing.json': no such file in the run's data"),
        ({"alert_path": "latin1.json"}, "alert_path 'latin1.json' is not a JSON file"),
        ({"alert_path": "run"}, "alert_path 'run': no such file"),
    ]
    for arguments, expected in cases:
        run = symphony.run_action(
            "CreateIncident", webhook_config(sekoia, xsoar), arguments, data_path=data_path, in_process=True
        )
        if expected is None:
            assert run.error is None, run.error
        else:
            assert run.error == run.error.strip() and expected in run.error, run.error


# -- bounds -------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("action", "arguments", "name"),
    [
        ("GetAlert", {"uuid": TEN_MIB}, "uuid"),
        ("CreateIncident", {"alert_uuid": TEN_MIB}, "alert_uuid"),
        ("GetAlert", {"uuid": "AL1\r\nX-Injected: 1"}, "uuid"),
    ],
)
def test_identifiers_are_bounded(symphony, sekoia, xsoar, data_path, action, arguments, name):
    before = sum(sekoia.request_counts.values())
    run = symphony.run_action(action, webhook_config(sekoia, xsoar), arguments, data_path=data_path, in_process=True)
    assert run.results is None and f"{name}: Value error, {name} " in run.error
    assert len(run.error) < 400 and len(run.logs or "") < 2000
    assert sum(sekoia.request_counts.values()) == before


def test_logs_and_errors_are_bounded(tmp_path: Path):
    action = GetAlert(module=XsoarModule(), data_path=tmp_path)
    action.log(f"query {TEN_MIB}", level="info")
    action.error(f"failed {TEN_MIB}")
    logged = action._logs[-1]["message"]
    assert logged.startswith("query AAAA") and logged.endswith(f"({len(TEN_MIB) + 6} characters)")
    assert len(logged) < MAX_MESSAGE + 50 and len(action.error_message) < MAX_MESSAGE + 50


def test_logged_and_quoted_values_stay_on_one_line():
    forged = "AL1\r\n2026-01-01 INFO forged\x1b[2K\u2028x"
    assert shorten(forged) == "AL1\\r\\n2026-01-01 INFO forged\\x1b[2K\\u2028x"
    assert quoted(forged) == repr(forged) and "\n" not in quoted([forged])
    assert len(shorten("\n" * 10_000, 100)) < 150


# -- clear errors -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "base_url",
    [
        "https://api.sekoia.io/v1",
        "https://app.fra2.sekoia.io/api/v1/sic/alerts",
        "https://api.sekoia.io/?region=fra2",
        "https://api.sekoia.io/api#x",
        "https://api.sekoia.io?",
    ],
)
def test_base_url_with_a_path_or_query_is_a_configuration_error(base_url):
    with pytest.raises(ValidationError) as caught:
        ModuleConfiguration(base_url=base_url, xsoar_url=XSOAR)
    assert "base_url: Value error, base_url must be the Sekoia.io API base" in describe_validation_error(
        caught.value, "module configuration"
    )


@pytest.mark.parametrize("base_url", ["https://api.sekoia.io/", "https://app.fra2.sekoia.io/api/", "http://h:1/api"])
def test_base_url_accepted_forms(base_url):
    assert ModuleConfiguration(base_url=base_url, xsoar_url=XSOAR).base_url == base_url.rstrip("/")


def test_a_2xx_html_page_names_service_url_and_setting(symphony, sekoia, data_path):
    sekoia.faults.script(Fault(status=200, raw_body="<html>Sign in</html>"), path_contains="/sic/alerts/")
    run = symphony.run_action(
        "GetAlert", sekoia_config(sekoia), {"uuid": SAMPLE_UUID}, data_path=data_path, in_process=True
    )
    assert "Sekoia.io answered 200 OK with an HTML page (not JSON)" in run.error
    assert f"{sekoia.url}/v1/sic/alerts/{SAMPLE_UUID}" in run.error and "check base_url" in run.error


@pytest.fixture(scope="module")
def tls_server():
    ca = trustme.CA()
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(context)
    app = web.Application()

    async def thing(_request: web.Request) -> web.Response:
        return web.json_response({"ok": True})

    app.router.add_get("/thing", thing)
    with BackgroundServer(app, ssl_context=context) as running:
        yield running


def test_http_to_an_https_server_suggests_https(tls_server):
    plain = tls_server.url.replace("https://", "http://")
    http = HttpSession("Cortex XSOAR", plain, {}, policy=FAST, setting="xsoar_url")
    with pytest.raises(UnavailableError) as caught:
        http.request("GET", "/thing")
    assert "serves HTTPS on that port" in str(caught.value) and "set xsoar_url to https://" in str(caught.value)
    assert http.requests_sent == 1


def test_nginx_plain_http_to_https_page_suggests_https(redirecting):
    page = "<html><h1>400 Bad Request</h1>The plain HTTP request was sent to HTTPS port</html>"
    redirecting.plan.script(Fault(status=400, raw_body=page))
    http = HttpSession("Cortex XSOAR", redirecting.url, {}, policy=FAST, setting="xsoar_url")
    with pytest.raises(UnavailableError, match="serves HTTPS on that port, not plain HTTP: set xsoar_url to https"):
        http.request("POST", "/hook", json={})


@pytest.fixture(scope="module")
def redirecting():
    plan = FaultPlan()
    app = web.Application(middlewares=[fault_middleware(plan)])

    async def elsewhere(request: web.Request) -> web.Response:
        raise web.HTTPFound("https://login.example.net/sso?next=/thing")

    app.router.add_route("*", "/{tail:.*}", elsewhere)
    with BackgroundServer(app) as running:
        running.plan = plan
        yield running


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_a_redirect_is_not_followed_and_names_its_target(redirecting, method):
    http = HttpSession("Sekoia.io", redirecting.url, {"Authorization": f"Bearer {SEKOIA_KEY}"}, setting="base_url")
    with pytest.raises(ServiceError) as caught:
        http.request(method, "/thing", json={} if method == "POST" else None)
    message = str(caught.value)
    assert f"redirected {method} {redirecting.url}/thing to https://login.example.net/sso?next=/thing" in message
    assert "302 Found" in message and "set base_url" in message and http.requests_sent == 1


def test_a_redirect_through_the_sdk_protocol(symphony, sekoia, redirecting, data_path):
    config = sekoia_config(sekoia, base_url=redirecting.url)
    run = symphony.run_action("GetAlert", config, {"uuid": SAMPLE_UUID}, data_path=data_path, in_process=True)
    assert "Sekoia.io redirected GET" in run.error and "to https://login.example.net/sso" in run.error
    assert "set base_url" in run.error and "Traceback" not in run.error
    assert_no_secret(*everything(run))


def test_canaries_cover_encoded_forms():
    forms = canaries()
    assert {b64(SEKOIA_KEY).rstrip("="), quote(XSOAR_TOKEN, safe="")} <= forms
    assert len(forms) >= 4 * len(SECRETS)
