"""Hostile arguments of each action: wrong types, huge values, traversal paths, impossible windows."""

import json
from pathlib import Path

import pytest

from tests.hostile.conftest import check_action_case
from tests.hostile.harness import Case, params
from tests.support import SEKOIA_KEY

SAMPLES = Path(__file__).resolve().parents[2] / "lab" / "samples"
ALERT = json.loads((SAMPLES / "alert.json").read_text())
EVENTS = json.loads((SAMPLES / "alert_events.json").read_text())["items"]
MIB = 1024 * 1024
MAX_BODY = 512 * 1024
WINDOW = {"earliest_time": "2025-11-28T07:58:00Z", "latest_time": "2025-11-28T08:00:00Z"}
QUERY = 'alert_short_ids:"ALz7Qm3KpW2x"'


def get_alert(uuid) -> dict:
    return {"action": "GetAlert", "arguments": {"uuid": uuid}}


def get_events(**arguments) -> dict:
    return {"action": "GetEvents", "arguments": {"query": QUERY, **WINDOW} | arguments}


def create(**arguments) -> dict:
    return {"action": "CreateIncident", "arguments": {"alert": ALERT, "events": EVENTS} | arguments}


def nothing_sent(outcome) -> None:
    assert outcome.extra["xsoar"].requests == [], "XSOAR received a request despite the error"


def body_under_limit(outcome) -> None:
    [request] = [r for r in outcome.extra["xsoar"].requests if r["method"] == "POST"]
    assert len(request["body"]) < MAX_BODY, f"a body of {len(request['body'])} bytes was sent"
    body = json.loads(request["body"])
    assert "trunc" in json.dumps(body).lower(), "the body does not say it was trimmed"


def single_line(outcome) -> None:
    assert "\n" not in outcome.error and "\r" not in outcome.error, "the error spans several lines"


def reveals_nothing(outcome) -> None:
    """The same refusal whether the file exists or not: no exception name, no 'exist'."""
    for word in ("FileNotFound", "JSONDecode", "No such file", "exist", "IsADirectory", "Errno"):
        assert word not in outcome.error, f"the error reveals the file system ({word})"


def files_outside(env) -> None:
    """An alert and events beside the data folder (tmp/data -> tmp/outside*.json) and at an absolute path."""
    (env.data_path.parent / "outside.json").write_text(json.dumps(ALERT))
    (env.data_path.parent / "outside_events.json").write_text(json.dumps(EVENTS))


def absolute_outside(env) -> str:
    files_outside(env)
    return str((env.data_path.parent / "outside.json").resolve())


def in_data(name: str, content: bytes):
    def write(env) -> None:
        target = env.data_path / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(content)

    return write


TRAVERSAL = "security alert_path/events_path outside the data folder are read"
CASES = [
    # Get Alert
    Case("get_alert-uuid-missing", {"action": "GetAlert", "arguments": {}}, error=r"uuid"),
    Case("get_alert-uuid-null", get_alert(None), error=r"uuid"),
    Case("get_alert-uuid-number", get_alert(123), error=r"uuid"),
    Case("get_alert-uuid-list", get_alert(["ALz7Qm3KpW2x"]), error=r"uuid"),
    Case("get_alert-uuid-blank", get_alert(" \t "), error=r"uuid"),
    Case("get_alert-uuid-traversal", get_alert("../../v1/me"), error=r"no alert|404"),
    Case("get_alert-uuid-nul", get_alert("AL\x00x"), error=r"uuid contains a line break or a control character"),
    Case(
        "get_alert-uuid-crlf",
        get_alert("ALx\r\nX-Injected: 1"),
        error=r"uuid contains a line break or a control character",
        check=single_line,
    ),
    Case("get_alert-uuid-is-the-api-key", get_alert(SEKOIA_KEY), error=r"no alert|404"),
    Case(
        "get_alert-uuid-10MiB",
        get_alert("A" * (10 * MIB)),
        error=r"uuid|alert",
    ),
    Case(
        "get_alert-stix-garbage",
        get_alert("ALz7Qm3KpW2x") | {"arguments": {"uuid": "x", "stix": "maybe"}},
        error="stix",
    ),
    # Get Events
    Case("get_events-query-blank", get_events(query=""), error=r"query"),
    Case("get_events-query-null", get_events(query=None), error=r"query"),
    Case("get_events-query-object", get_events(query={"a": 1}), error=r"query"),
    Case("get_events-limit-zero", get_events(limit=0), error=r"limit"),
    Case("get_events-limit-text", get_events(limit="many"), error=r"limit"),
    Case("get_events-limit-huge", get_events(limit=10**12), error=r"limit"),
    Case("get_events-timeout-negative", get_events(timeout=-1), error=r"timeout"),
    Case("get_events-unknown-argument", get_events(colour="blue")),
    Case(
        "get_events-inverted-window",
        get_events(earliest_time="2025-11-28T08:00:00Z", latest_time="2025-11-28T07:58:00Z"),
        error=r"earliest_time.*latest_time|latest_time.*earliest_time",
    ),
    Case(
        "get_events-earliest-garbage",
        get_events(earliest_time="yesterday-ish"),
        error=r"earliest_time.*ISO-8601.*-1d.*now.*epoch seconds",
    ),
    Case(
        "get_events-latest-garbage",
        get_events(latest_time="tomorrow"),
        error=r"latest_time.*ISO-8601.*-1d.*now.*epoch seconds",
    ),
    Case("get_events-earliest-epoch-seconds", get_events(earliest_time="1764316680")),
    Case("get_events-earliest-date-only", get_events(earliest_time="2025-11-28")),
    Case(
        "get_events-query-10MiB",
        get_events(query=f'alert_short_ids:"{"x" * (10 * MIB)}"'),
        error=r"events search|query",
    ),
    # Create Incident: where the alert comes from
    Case("create-no-alert", create(alert=None), error=r"alert"),
    Case("create-alert-list", create(alert=[ALERT]), error=r"alert"),
    Case("create-alert-bad-json-text", create(alert="{not json"), error=r"alert"),
    Case("create-alert-json-text", create(alert=json.dumps(ALERT))),
    Case("create-alert-without-ids", create(alert={"title": "x"}), error=r"short_id|uuid"),
    Case(
        "create-alert_uuid-traversal", create(alert=None, events=None, alert_uuid="../../v1/me"), error=r"no alert|404"
    ),
    Case(
        "create-alert_path-traversal-missing",
        create(alert=None, alert_path="../../etc/passwd"),
        error=r"alert_path",
        check=reveals_nothing,
    ),
    Case(
        "create-alert_path-traversal-existing",
        create(alert=None, alert_path="../outside.json") | {"setup": files_outside},
        error=r"alert_path",
        check=reveals_nothing,
    ),
    Case(
        "create-alert_path-absolute-existing",
        create(alert=None, alert_path=absolute_outside),
        error=r"alert_path",
        check=reveals_nothing,
    ),
    Case(
        "create-alert_path-absolute-etc-passwd",
        create(alert=None, alert_path="/etc/passwd"),
        error=r"alert_path",
        check=reveals_nothing,
    ),
    Case(
        "create-events_path-traversal-existing",
        create(events=None, events_path="../outside_events.json") | {"setup": files_outside},
        error=r"events_path",
        check=reveals_nothing,
    ),
    Case("create-alert_path-nul", create(alert=None, alert_path="alert\x00.json"), error=r"alert_path"),
    Case("create-alert_path-directory", create(alert=None, alert_path="."), error=r"alert_path"),
    Case(
        "create-alert_path-non-utf8",
        create(alert=None, alert_path="a/alert.json") | {"setup": in_data("a/alert.json", b'{"uuid": "\xff\xfe"}')},
        error=r"alert_path",
    ),
    Case(
        "create-alert_path-invalid-json",
        create(alert=None, alert_path="a/alert.json") | {"setup": in_data("a/alert.json", b"{nope")},
        error=r"alert_path",
    ),
    Case(
        "create-alert_path-json-list",
        create(alert=None, alert_path="a/alert.json") | {"setup": in_data("a/alert.json", b"[1, 2]")},
        error=r"alert",
    ),
    # Create Incident: sizes
    Case(
        "create-name-10MiB",
        create(name="N" * (10 * MIB)),
        check=body_under_limit,
    ),
    Case(
        "create-details-50MiB",
        create(alert=ALERT | {"details": "D" * (50 * MIB)}),
        check=body_under_limit,
    ),
    Case(
        "create-events-10MiB",
        create(events=[{"timestamp": f"t{n}", "blob": "e" * 1024} for n in range(10 * 1024)]),
        check=body_under_limit,
    ),
    Case(
        "create-one-event-2MiB", create(events=[{"timestamp": "t", "blob": "e" * (2 * MIB)}]), check=body_under_limit
    ),
    # Create Incident: fields
    Case(
        "create-fields-severity-99",
        create(fields={"severity": 99}),
        error=r"fields.*severity",
        check=nothing_sent,
    ),
    Case(
        "create-fields-severity-negative",
        create(fields={"severity": -1}),
        error=r"fields.*severity",
        check=nothing_sent,
    ),
    Case(
        "create-fields-severity-nan",
        create(fields={"severity": float("nan")}),
        error=r"fields.*severity",
        check=nothing_sent,
    ),
    Case(
        "create-fields-severity-bool",
        create(fields={"severity": True}),
        error=r"fields.*severity",
        check=nothing_sent,
    ),
    Case(
        "create-fields-severity-high",
        create(fields={"severity": "high"}),
        error=r"fields.*severity",
        check=nothing_sent,
    ),
    Case("create-fields-severity-text-number", create(fields={"severity": "4"})),
    Case("create-fields-identity", create(fields={"alertId": "other"}), error=r"alertId", check=nothing_sent),
    Case("create-fields-list", create(fields=[1, 2]), error=r"fields", check=nothing_sent),
    Case("create-fields-json-text", create(fields='{"owner": "soc"}')),
    # Create Incident: other arguments
    Case("create-max_events-huge", create(max_events=10**6), error=r"max_events"),
    Case("create-events-not-objects", create(events=["a", "b"]), error=r"events"),
    Case("create-create_investigation-garbage", create(create_investigation="maybe"), error=r"create_investigation"),
    Case("create-playbook_id-crlf-api", create(playbook_id="pb\r\n7") | {"mode": "api6"}),
]


@pytest.mark.parametrize("case", params(CASES))
def test_arguments(case, env, capfd):
    check_action_case(case, env, capfd)
