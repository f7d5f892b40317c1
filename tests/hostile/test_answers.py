"""Hostile answers of XSOAR and Sekoia.io to the actions: echoes of credentials, HTML, redirects, huge and wrong
bodies, and the real-world shapes of Sekoia.io alerts (nulls everywhere, absent fields)."""

import base64
import json
from pathlib import Path
from urllib.parse import quote

import jsonschema
import pytest

from lab.doubles.faults import Fault
from tests.hostile.conftest import check_action_case
from tests.hostile.harness import Answer, Case, params
from tests.support import SEKOIA_KEY, XSOAR_API_KEY, XSOAR_PASSWORD, XSOAR_TOKEN

ROOT = Path(__file__).resolve().parents[2]
ALERT = json.loads((ROOT / "lab" / "samples" / "alert.json").read_text())
EVENTS = json.loads((ROOT / "lab" / "samples" / "alert_events.json").read_text())["items"]
GET_ALERT_RESULTS = json.loads((ROOT / "action_get_alert.json").read_text())["results"]
MIB = 1024 * 1024
CREATE = {"action": "CreateIncident", "arguments": {"alert": ALERT, "events": EVENTS}}
CREATE_API = CREATE | {"mode": "api6"}
BASIC = {
    "config": {"xsoar_token": None, "xsoar_username": "sekoia", "xsoar_password": XSOAR_PASSWORD},
}


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def xsoar_fault(*faults: Fault, method: str = "POST", path: str | None = None):
    def setup(env) -> None:
        env.xsoar.faults.script(*faults, method=method, path_contains=path)

    return setup


def sekoia_fault(*faults: Fault, path: str = "/sic/alerts/", method: str | None = None):
    def setup(env) -> None:
        env.sekoia.faults.script(*faults, path_contains=path, method=method)

    return setup


def stub_answers(*answers):
    """The stub answers these (callables of the Env build answers that need its URLs)."""

    def setup(env) -> None:
        env.stub.script(*(answer(env) if callable(answer) else answer for answer in answers))

    return setup


def redirect(status: int):
    return lambda env: Answer(status, "", {"Location": env.foreign.url + "/collect"})


def at_stub(path: str = "/instance/execute/sekoia"):
    return lambda env: env.stub.url + path


def no_incident(outcome) -> None:
    assert outcome.extra["xsoar"].incidents == [], "an incident was created"


def one_incident(outcome) -> None:
    assert len(outcome.extra["xsoar"].incidents) >= 1, "no incident was created"


def nothing_followed(outcome) -> None:
    assert outcome.foreign == [], "the redirect was followed to another host"


XSOAR_CASES = [
    Case(
        "xsoar-401-echoes-bearer-token",
        CREATE | {"setup": xsoar_fault(Fault(status=401, raw_body=f"Authorization: Bearer {XSOAR_TOKEN}"))},
        error=r"xsoar_token",
    ),
    Case(
        "xsoar-401-echoes-basic-base64",
        CREATE
        | BASIC
        | {
            "setup": xsoar_fault(Fault(status=401, raw_body=f"Authorization: Basic {b64('sekoia:' + XSOAR_PASSWORD)}"))
        },
        error=r"xsoar_username|xsoar_password",
    ),
    Case(
        "xsoar-401-echoes-token-base64",
        CREATE | {"setup": xsoar_fault(Fault(status=401, body=f"bad credential {b64('Bearer ' + XSOAR_TOKEN)}"))},
        error=r"xsoar_token",
    ),
    Case(
        "xsoar-400-echoes-api-key",
        CREATE_API | {"setup": xsoar_fault(Fault(), Fault(status=400, body=f"bad key {XSOAR_API_KEY}"))},
        error=r"rejected the incident \(400\)",
    ),
    Case(
        "xsoar-401-echoes-password-raw",
        CREATE | BASIC | {"setup": xsoar_fault(Fault(status=401, raw_body=f"password={XSOAR_PASSWORD}"))},
        error=r"xsoar_username|xsoar_password",
    ),
    Case(
        "xsoar-400-echoes-token-url-encoded",
        CREATE
        | {
            "secrets": {"api_key": SEKOIA_KEY, "xsoar_token": "tok+en/canary=77&x"},
            "setup": xsoar_fault(Fault(status=400, raw_body=f"token={quote('tok+en/canary=77&x', safe='')}")),
        },
        error=r"rejected the webhook \(400\)",
        canaries=("tok+en/canary=77&x",),
    ),
    Case(
        "xsoar-webhook-answer-id-is-the-token",
        CREATE | {"setup": xsoar_fault(Fault(status=200, raw_body=json.dumps([{"id": XSOAR_TOKEN}])))},
    ),
    Case(
        "xsoar-api-answer-id-is-the-api-key",
        CREATE_API | {"setup": xsoar_fault(Fault(), Fault(status=201, raw_body=json.dumps({"id": XSOAR_API_KEY})))},
    ),
    Case(
        "xsoar-webhook-200-html",
        CREATE | {"setup": xsoar_fault(Fault(status=200, raw_body="<html><body>Sign in</body></html>"))},
        error=r"xsoar_url",
    ),
    Case(
        "xsoar-api-search-200-html",
        CREATE_API | {"setup": xsoar_fault(Fault(status=200, raw_body="<html>login</html>"))},
        error=r"xsoar_url",
        check=no_incident,
    ),
    Case(
        "xsoar-api-search-json-list",
        CREATE_API | {"setup": xsoar_fault(Fault(status=200, raw_body="[]"))},
        error=r"XSOAR",
        check=no_incident,
    ),
    Case(
        "xsoar-api-search-data-string",
        CREATE_API | {"setup": xsoar_fault(Fault(status=200, raw_body='{"total": 1, "data": "x"}'))},
        error=r"XSOAR",
    ),
    Case(
        "xsoar-api-search-data-numbers",
        CREATE_API | {"setup": xsoar_fault(Fault(status=200, raw_body='{"total": 1, "data": [1]}'))},
        error=r"XSOAR",
    ),
    Case(
        "xsoar-api-search-data-null",
        CREATE_API | {"setup": xsoar_fault(Fault(status=200, raw_body='{"total": 0, "data": null}'))},
        check=one_incident,
    ),
    Case(
        "xsoar-api-create-invalid-json",
        CREATE_API | {"setup": xsoar_fault(Fault(), Fault(status=201, raw_body='{"id": '))},
        error=r"not JSON",
    ),
    Case(
        "xsoar-webhook-json-string",
        CREATE | {"setup": xsoar_fault(Fault(status=200, raw_body='"created"'))},
    ),
    Case(
        "xsoar-503-10MiB-body",
        CREATE | {"setup": xsoar_fault(*[Fault(status=503, raw_body="x" * (10 * MIB))] * 3)},
        error=r"503",
    ),
    Case(
        "xsoar-400-10MiB-body",
        CREATE | {"setup": xsoar_fault(Fault(status=400, raw_body="y" * (10 * MIB)))},
        error=r"400",
    ),
    Case(
        "xsoar-401-non-ascii-body",
        CREATE | {"setup": xsoar_fault(Fault(status=401, raw_body="bad \xff\xfe \u202e"))},
        error=r"xsoar_token",
    ),
    Case(
        "xsoar-404-html",
        CREATE | {"setup": xsoar_fault(Fault(status=404, raw_body="<h1>nope</h1>"))},
        error="xsoar_url",
    ),
    Case("xsoar-503-then-201", CREATE | {"setup": xsoar_fault(Fault(status=503))}, check=one_incident),
    Case("xsoar-late-answer", CREATE | {"setup": xsoar_fault(Fault(delay_after=1.5))}, check=one_incident),
    Case("xsoar-connection-reset", CREATE | {"setup": xsoar_fault(Fault(reset=True))}, check=one_incident),
    Case(
        "xsoar-webhook-302-to-another-host",
        CREATE | {"config": {"xsoar_url": at_stub()}, "setup": stub_answers(redirect(302))},
        error=r"redirect",
        check=nothing_followed,
    ),
    Case(
        "xsoar-webhook-307-to-another-host",
        CREATE | {"config": {"xsoar_url": at_stub()}, "setup": stub_answers(redirect(307))},
        error=r"redirect",
        check=nothing_followed,
    ),
    Case(
        "xsoar-api-301-to-another-host",
        CREATE_API | {"config": {"xsoar_url": at_stub("")}, "setup": stub_answers(redirect(301))},
        error=r"redirect",
        check=nothing_followed,
    ),
]


def stored_alert(notify: bool = False, events: int = 3, drop: tuple[str, ...] = (), **overrides):
    """Store an alert in the Sekoia.io simulator; its GET answer leaves out the `drop` fields (old alerts)."""

    def setup(env) -> None:
        alert = env.sekoia.add_alert(notify=notify, events=events, **overrides)
        env.alert = alert
        if drop:
            shown = {key: value for key, value in alert.items() if key not in drop}
            env.sekoia.faults.script(
                Fault(status=200, raw_body=json.dumps(shown)), path_contains=f"/v1/sic/alerts/{alert['uuid']}"
            )

    return setup


def alert_uuid(env) -> str:
    return env.alert["uuid"]


def get_stored(**shape) -> dict:
    return {"action": "GetAlert", "arguments": {"uuid": alert_uuid}, "setup": stored_alert(**shape)}


def create_stored(**shape) -> dict:
    return {
        "action": "CreateIncident",
        "arguments": {"alert_uuid": alert_uuid, "fetch_events": True},
        "setup": stored_alert(**shape),
    }


def results_match_the_manifest(outcome) -> None:
    jsonschema.validate(outcome.results, GET_ALERT_RESULTS)


def events_fetched(outcome) -> None:
    assert outcome.results["events_sent"] == 3, f"{outcome.results['events_sent']} events sent, 3 expected"


GET_SAMPLE = {"action": "GetAlert", "arguments": {"uuid": "ALz7Qm3KpW2x"}}
EVENTS = {
    "action": "GetEvents",
    "arguments": {"query": 'alert_short_ids:"ALz7Qm3KpW2x"', "earliest_time": "-1d", "latest_time": "now"},
}


JOB_EVENTS = {"path": "/jobs/", "method": "GET"}  # the status poll (left alone), then the events page


def sample_alert(outcome) -> None:
    assert outcome.results["short_id"] == "ALz7Qm3KpW2x"


REAL_SHAPES = "data real alerts' nulls/absent fields break the Get Alert results schema"
SEKOIA_CASES = [
    Case("sekoia-get-alert-sample", get_stored(), check=results_match_the_manifest),
    Case(
        "sekoia-last_seen_at-null",
        get_stored(last_seen_at=None),
        check=results_match_the_manifest,
    ),
    Case(
        "sekoia-rule-type-null",
        get_stored(rule=ALERT["rule"] | {"type": None}),
        check=results_match_the_manifest,
    ),
    Case("sekoia-detection_type-null", get_stored(detection_type=None), check=results_match_the_manifest),
    Case(
        "sekoia-old-alert-absent-fields",
        get_stored(drop=("title", "first_seen_at", "last_seen_at")),
        check=results_match_the_manifest,
    ),
    Case(
        "sekoia-rule-entity-null",
        get_stored(rule=None, entity=None),
        check=results_match_the_manifest,
    ),
    Case(
        "sekoia-urgency-display-only",
        get_stored(urgency={"display": "High"}),
        check=results_match_the_manifest,
    ),
    Case(
        "sekoia-create-last_seen_at-null-fetches-events",
        create_stored(last_seen_at=None),
        check=events_fetched,
    ),
    Case(
        "sekoia-create-seen-times-absent-fetches-events",
        create_stored(drop=("first_seen_at", "last_seen_at")),
        check=events_fetched,
    ),
    Case(
        "sekoia-create-nulls-everywhere",
        create_stored(rule=None, entity=None, urgency=None, status=None, alert_type=None, source=None, target=None),
    ),
    Case("sekoia-create-urgency-display-only", create_stored(urgency={"display": "Urgent"})),
    Case(
        "sekoia-200-html",
        {"action": "GetAlert", "arguments": {"uuid": "ALz7Qm3KpW2x"}}
        | {"setup": sekoia_fault(Fault(status=200, raw_body="<html>maintenance</html>"))},
        error=r"base_url",
    ),
    Case(
        "sekoia-json-list",
        {"action": "GetAlert", "arguments": {"uuid": "ALz7Qm3KpW2x"}}
        | {"setup": sekoia_fault(Fault(status=200, raw_body="[]"))},
        error=r"not an object",
    ),
    Case(
        "sekoia-404-echoes-the-key",
        {"action": "GetAlert", "arguments": {"uuid": "ALz7Qm3KpW2x"}}
        | {"setup": sekoia_fault(Fault(status=404, body=f"no alert for Bearer {SEKOIA_KEY}"))},
        error=r"404",
    ),
    Case(
        "sekoia-400-echoes-the-key-base64",
        {"action": "GetEvents", "arguments": {"query": "x", "earliest_time": "-1d", "latest_time": "now"}}
        | {"setup": sekoia_fault(Fault(status=400, body=f"bad token {b64('Bearer ' + SEKOIA_KEY)}"), path="/jobs")},
        error=r"400",
    ),
    Case(
        "sekoia-500-10MiB-body",
        {"action": "GetAlert", "arguments": {"uuid": "ALz7Qm3KpW2x"}}
        | {"setup": sekoia_fault(*[Fault(status=500, raw_body="z" * (10 * MIB))] * 3)},
        error=r"500",
    ),
    Case(
        "sekoia-job-without-uuid",
        {"action": "GetEvents", "arguments": {"query": "x", "earliest_time": "-1d", "latest_time": "now"}}
        | {"setup": sekoia_fault(Fault(status=200, raw_body='{"status": 0}'), path="/jobs")},
        error=r"uuid",
    ),
    Case("sekoia-late-answer", GET_SAMPLE | {"setup": sekoia_fault(Fault(delay_after=1.5))}, check=sample_alert),
    Case("sekoia-connection-reset", GET_SAMPLE | {"setup": sekoia_fault(Fault(reset=True))}, check=sample_alert),
    Case(
        "sekoia-truncated-json",
        GET_SAMPLE | {"setup": sekoia_fault(Fault(status=200, raw_body='{"uuid": "5f3c'))},
        error=r"not JSON",
    ),
    Case(
        "sekoia-401-echoes-the-key",
        GET_SAMPLE | {"setup": sekoia_fault(Fault(status=401, body=f"invalid token {SEKOIA_KEY}"))},
        error=r"api_key",
    ),
    Case(
        "sekoia-events-items-not-a-list",
        EVENTS
        | {
            "setup": sekoia_fault(Fault(), Fault(status=200, raw_body='{"items": {"a": 1}, "total": 1}'), **JOB_EVENTS)
        },
        error=r"items",
    ),
    Case(
        "sekoia-events-nulls-everywhere",
        EVENTS
        | {
            "setup": sekoia_fault(
                Fault(),
                Fault(status=200, raw_body=json.dumps({"items": [{"timestamp": None, "message": None}], "total": 1})),
                **JOB_EVENTS,
            )
        },
        check=lambda outcome: outcome.results["events"] == [{"timestamp": None, "message": None}],
    ),
    Case(
        "sekoia-job-status-null",
        EVENTS
        | {"arguments": EVENTS["arguments"] | {"timeout": 1}}
        | {"setup": sekoia_fault(*[Fault(status=200, raw_body='{"uuid": "j1", "status": null}')] * 40, path="/jobs/")},
        error=r"did not finish within 1 s",
    ),
    Case(
        "sekoia-redirect-to-another-host",
        {"action": "GetAlert", "arguments": {"uuid": "ALz7Qm3KpW2x"}}
        | {
            "config": {"base_url": lambda env: env.stub.url},
            "setup": stub_answers(redirect(302)),
            "stub_is_sekoia": True,
        },
        error=r"redirect",
        check=nothing_followed,
    ),
]


@pytest.mark.parametrize("case", params(XSOAR_CASES))
def test_xsoar_answers(case, env, capfd):
    check_action_case(case, env, capfd)


@pytest.mark.parametrize("case", params(SEKOIA_CASES))
def test_sekoia_answers(case, env, capfd):
    check_action_case(case, env, capfd)
