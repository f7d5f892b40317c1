"""Alert + events -> XSOAR incident bodies: severity bands, links, timestamps, missing fields, truncation."""

import json
from datetime import datetime
from pathlib import Path

import orjson
import pytest

from xsoar_module.errors import InvalidInputError
from xsoar_module.mapping.create_request import CREATE_REQUEST_FIELDS, machine_name, split_fields
from xsoar_module.mapping.incident import (
    MAX_BODY_BYTES,
    RAW_JSON_MAX_BYTES,
    api_body,
    pack_custom_fields,
    select_events,
    webhook_body,
)
from xsoar_module.mapping.links import alert_url
from xsoar_module.mapping.severity import urgency_display, xsoar_severity
from xsoar_module.mapping.trimming import bound
from xsoar_module.models.alert import Alert, AlertRule, AlertUrgency
from xsoar_module.timing import epoch_to_iso8601

SAMPLES = Path(__file__).resolve().parent.parent / "lab" / "samples"
APP = "https://app.sekoia.io"


@pytest.fixture(scope="module")
def alert() -> Alert:
    return Alert.model_validate(json.loads((SAMPLES / "alert.json").read_text()))


@pytest.fixture(scope="module")
def events() -> list[dict]:
    return json.loads((SAMPLES / "alert_events.json").read_text())["items"]


@pytest.mark.parametrize(
    ("value", "display", "severity"),
    [
        (0, "Low", 1),
        (19, "Low", 1),
        (20, "Moderate", 2),
        (39, "Moderate", 2),
        (40, "High", 3),
        (59, "High", 3),
        (60, "Major", 3),
        (79, "Major", 3),
        (80, "Urgent", 4),
        (100, "Urgent", 4),
    ],
)
def test_urgency_bands_and_xsoar_severity_from_current_value(value, display, severity):
    assert urgency_display(value) == display
    assert xsoar_severity(AlertUrgency(current_value=value)) == severity


@pytest.mark.parametrize(
    ("display", "severity"),
    [("Low", 1), ("Moderate", 2), ("High", 3), ("Major", 3), ("Urgent", 4), ("urgent", 4), ("Other", 0)],
)
def test_display_wins_over_current_value(display, severity):
    assert xsoar_severity(AlertUrgency(current_value=10, display=display)) == severity


@pytest.mark.parametrize("urgency", [None, AlertUrgency()])
def test_unknown_urgency_is_xsoar_unknown(urgency):
    assert xsoar_severity(urgency) == 0


@pytest.mark.parametrize(
    ("app_url", "expected"),
    [
        ("https://app.sekoia.io", "https://app.sekoia.io/operations/alerts/ALx"),
        ("https://app.fra2.sekoia.io/", "https://app.fra2.sekoia.io/operations/alerts/ALx"),
        ("https://app.mco1.sekoia.io", "https://app.mco1.sekoia.io/operations/alerts/ALx"),
        ("https://app.uae1.sekoia.io", "https://app.uae1.sekoia.io/operations/alerts/ALx"),
        ("https://app.usa1.sekoia.io", "https://app.usa1.sekoia.io/operations/alerts/ALx"),
    ],
)
def test_alert_url_for_every_region(app_url, expected):
    assert alert_url(app_url, "ALx") == expected


@pytest.mark.parametrize(
    ("epoch", "iso"),
    [(1764316800, "2025-11-28T08:00:00Z"), (0, "1970-01-01T00:00:00Z"), (1764316800.25, "2025-11-28T08:00:00.250Z")],
)
def test_occurred_is_iso8601_utc(epoch, iso):
    assert epoch_to_iso8601(epoch) == iso
    assert datetime.fromisoformat(iso).timestamp() == epoch


def test_webhook_body_carries_the_documentation_keys_and_context(alert, events):
    body = webhook_body(alert, events, app_url=APP, max_events=10)
    assert body["name"] == "PowerShell Download Cradle"
    assert body["occurred"] == "2025-11-28T08:00:00Z"
    assert body["alertId"] == "ALz7Qm3KpW2x"
    assert body["alertUrl"] == "https://app.sekoia.io/operations/alerts/ALz7Qm3KpW2x"
    assert body["urgency"] == body["severity"] == 3  # Major
    assert body["urgencyValue"] == 63 and body["urgencyDisplay"] == "Major"
    assert [e["__event_id"] for e in body["events"]] == [e["__event_id"] for e in events]
    assert body["alertUuid"] == alert.uuid and body["status"] == "Pending"
    assert body["entity"]["name"] == "HQ workstations" and body["alertType"]["value"] == "system-compromise"
    assert body["eventCount"] == 3 and body["source"] == "10.20.30.42" and body["target"] == "185.220.101.7"
    assert "type" not in body and "eventsTruncated" not in body


def test_name_type_and_fields_override(alert, events):
    body = webhook_body(
        alert, events, app_url=APP, max_events=1, name="Custom", incident_type="Sekoia", fields={"severity": 4, "x": 1}
    )
    assert (body["name"], body["type"], body["severity"], body["x"]) == ("Custom", "Sekoia", 4, 1)


def test_events_are_cut_in_time_order_and_the_cut_is_said(alert, events):
    body = webhook_body(alert, list(reversed(events)), app_url=APP, max_events=2)
    assert [e["timestamp"] for e in body["events"]] == sorted(e["timestamp"] for e in events)[:2]
    assert body["eventsTruncated"] is True and "2 of 3 events" in body["eventsNote"]


def test_the_body_stays_under_the_size_bound(alert):
    big = [{"timestamp": f"2025-11-28T08:00:{i:02d}Z", "message": "x" * 10_000} for i in range(50)]
    body = webhook_body(alert, big, app_url=APP, max_events=50, max_bytes=100_000)
    assert len(orjson.dumps(body)) <= 100_000
    assert 0 < len(body["events"]) < 50 and body["eventsTruncated"]


@pytest.mark.parametrize(
    ("missing", "name"),
    [
        ({"rule": None}, "Suspicious PowerShell download cradle"),
        ({"rule": None, "title": None}, "Sekoia.io alert ALz7Qm3KpW2x"),
    ],
)
def test_name_falls_back_when_the_rule_is_missing(alert, missing, name):
    assert webhook_body(alert.model_copy(update=missing), [], app_url=APP, max_events=10)["name"] == name


def test_missing_created_at_uses_the_first_event_time_then_xsoar_now(alert):
    body = webhook_body(alert.model_copy(update={"created_at": None}), [], app_url=APP, max_events=10)
    assert body["occurred"] == alert.first_seen_at
    bare = alert.model_copy(update={"created_at": None, "first_seen_at": None})
    assert "occurred" not in webhook_body(bare, [], app_url=APP, max_events=10)


def test_missing_short_id_uses_the_uuid_and_neither_is_an_error(alert):
    body = webhook_body(alert.model_copy(update={"short_id": None}), [], app_url=APP, max_events=10)
    assert body["alertId"] == alert.uuid
    with pytest.raises(InvalidInputError, match="neither short_id nor uuid"):
        webhook_body(alert.model_copy(update={"short_id": None, "uuid": None}), [], app_url=APP, max_events=10)


def test_an_almost_empty_alert_still_maps():
    body = webhook_body(Alert(uuid="u-1"), [], app_url=APP, max_events=10)
    assert body["name"] == "Sekoia.io alert u-1" and body["severity"] == 0 and body["events"] == []


def test_non_serialisable_values_are_rendered_as_text(alert):
    body = webhook_body(alert, [{"timestamp": "t", "when": datetime(2025, 1, 1)}], app_url=APP, max_events=10)
    assert body["events"][0]["when"].startswith("2025-01-01")


def test_select_events_tolerates_events_without_timestamp():
    assert len(select_events([{"a": 1}, {"timestamp": "2025"}, {"timestamp": 5}], 10)) == 3


def test_api_body(alert, events):
    webhook = webhook_body(alert, events, app_url=APP, max_events=10, incident_type="Sekoia")
    body = api_body(webhook, create_investigation=True, playbook_id="pb-1", fields={"owner": "soc"})
    assert body["dbotMirrorId"] == "ALz7Qm3KpW2x" and body["severity"] == 3 and body["type"] == "Sekoia"
    assert body["CustomFields"] == pack_custom_fields(webhook) | {"alertid": "ALz7Qm3KpW2x"}
    assert json.loads(body["rawJSON"]) == webhook
    assert body["createInvestigation"] is True and body["playbookId"] == "pb-1" and body["owner"] == "soc"
    assert webhook["alertUrl"] in body["details"]
    labels = {label["type"]: label["value"] for label in body["labels"]}
    assert labels["Sekoia.io alert ID"] == "ALz7Qm3KpW2x" and labels["Sekoia.io urgency"] == "Major"


def test_api_body_carries_the_identity_in_alertid_and_dbot_mirror_id(alert, events):
    webhook = webhook_body(alert, events, app_url=APP, max_events=10)
    fields = {"Owner": "soc", "Sekoia Tenant": "acme", "CustomFields": {"Team-Name": "blue"}, "playbookid": "pb"}
    body = api_body(webhook, create_investigation=False, fields=fields)
    custom = {"alertid": "ALz7Qm3KpW2x", "sekoiatenant": "acme", "teamname": "blue"}
    assert body["CustomFields"] == pack_custom_fields(webhook) | custom
    assert body["dbotMirrorId"] == "ALz7Qm3KpW2x" and body["owner"] == "soc" and body["playbookId"] == "pb"
    assert set(body) <= CREATE_REQUEST_FIELDS | {"dbotMirrorId"}


@pytest.mark.parametrize(
    "fields",
    [{"a b": 1, "ab": 2}, {"x": 1, "CustomFields": {"X": 2}}, {"!!": 1}],
    ids=["same-machine-name", "same-in-custom-fields", "no-letters"],
)
def test_custom_field_names_must_be_usable(fields):
    with pytest.raises(InvalidInputError, match="XSOAR field"):
        split_fields(fields)


def test_machine_names():
    assert [machine_name(name) for name in ("Alert ID", "alertId", "Source-IP", "é1")] == [
        "alertid",
        "alertid",
        "sourceip",
        "1",
    ]


HUGE = 10 * 1024 * 1024


@pytest.mark.parametrize(
    ("where", "update"),
    [
        ("name", {"rule": None, "title": "t" * HUGE}),
        ("details", {"details": 'd\n"' * (HUGE // 2)}),
        ("rule.name", {"rule": AlertRule(name="r" * HUGE, uuid="u")}),
        ("source", {"source": "s" * HUGE}),
    ],
)
def test_any_large_alert_field_is_trimmed_under_the_bound_in_both_bodies(alert, events, where, update):
    webhook = webhook_body(alert.model_copy(update=update), events, app_url=APP, max_events=10)
    assert len(orjson.dumps(webhook)) <= MAX_BODY_BYTES and where in webhook["truncatedFields"]
    assert webhook["alertId"] == "ALz7Qm3KpW2x" and webhook["severity"] == 3
    raw = webhook_body(
        alert.model_copy(update=update), events, app_url=APP, max_events=10, max_bytes=RAW_JSON_MAX_BYTES
    )
    body = api_body(raw, create_investigation=True)
    assert len(orjson.dumps(body)) <= MAX_BODY_BYTES and body["CustomFields"]["alertid"] == "ALz7Qm3KpW2x"
    assert json.loads(body["rawJSON"])["alertId"] == "ALz7Qm3KpW2x"


def test_large_arguments_and_fields_are_trimmed_with_a_note(alert, events):
    fields = {"owner": "o" * HUGE, "notes": ["n" * 1000] * 5000, "tags": {str(i): i for i in range(100_000)}}
    webhook = webhook_body(alert, events, app_url=APP, max_events=10, name="N" * HUGE, fields=fields)
    assert len(orjson.dumps(webhook)) <= MAX_BODY_BYTES
    assert {"name", "owner", "notes"} <= set(webhook["truncatedFields"]) and webhook["name"].endswith("[truncated]")
    assert len(webhook["truncatedFields"]) <= 20 and webhook["events"]  # the events still fit
    raw = webhook_body(alert, events, app_url=APP, max_events=10, name="N" * HUGE, max_bytes=RAW_JSON_MAX_BYTES)
    body = api_body(raw, create_investigation=True, fields=fields)
    assert len(orjson.dumps(body)) <= MAX_BODY_BYTES
    noted = json.loads(body["rawJSON"])["truncatedFields"]
    assert "name" in noted and any(path.startswith("incident.") for path in noted)


def test_a_raw_json_full_of_quotes_still_fits(alert):
    quoted = [{"timestamp": f"t{i}", "message": '"\\' * 2000} for i in range(200)]
    raw = webhook_body(alert, quoted, app_url=APP, max_events=200, max_bytes=RAW_JSON_MAX_BYTES)
    body = api_body(raw, create_investigation=True, fields={"details": "x" * HUGE})
    assert len(orjson.dumps(body)) <= MAX_BODY_BYTES and raw["eventsTruncated"]


def test_an_absurdly_long_alert_id_is_refused(alert):
    with pytest.raises(InvalidInputError, match="characters long"):
        webhook_body(alert.model_copy(update={"short_id": "A" * 10_000}), [], app_url=APP, max_events=10)


def test_bound_keeps_protected_parts_and_drops_the_largest_members():
    document = {"id": "keep", "many": {f"k{i}": "v" * 50 for i in range(1000)}, "small": 1}
    bounded, trimmed = bound(document, 5_000, frozenset({("id",)}))
    assert len(orjson.dumps(bounded)) <= 5_000 and bounded["id"] == "keep" and bounded["small"] == 1
    assert trimmed and all(path.startswith("many.") for path in trimmed) and 0 < len(bounded["many"]) < 1000
    assert bound(document, 10**9)[1] == []
