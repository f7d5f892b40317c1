"""The XSOAR content pack fits the body the module sends, and the simulator applies its mapper as XSOAR does."""

import json
from pathlib import Path
from typing import Any

import pytest
import requests

from lab.doubles.xsoar import XsoarSimulator
from lab.doubles.xsoar.mapper import (
    ALL_TYPES,
    ATTRIBUTES,
    COMMON_FIELDS,
    INCIDENT_TYPE,
    PACK,
    MapperError,
    apply,
    load_mapper,
    pack_fields,
    resolve,
)
from xsoar_module.mapping.incident import api_body, webhook_body
from xsoar_module.models.alert import Alert

SAMPLES = Path(__file__).resolve().parent.parent / "lab" / "samples"
LAYOUT_ATTRIBUTES = {"severity", "occurred", "details"}


def pack_item(folder: str) -> list[dict[str, Any]]:
    return [json.loads(path.read_text()) for path in sorted((PACK / folder).glob("*.json"))]


@pytest.fixture(scope="module")
def webhook() -> dict[str, Any]:
    alert = Alert.model_validate(json.loads((SAMPLES / "alert.json").read_text()))
    events = json.loads((SAMPLES / "alert_events.json").read_text())["items"]
    # with every key the mapper reads: eventsNote says that one more event was not indexed yet
    return webhook_body(
        alert, events, app_url="https://app.sekoia.io", max_events=10, events_missing=1, indexing_waited=60
    )


@pytest.fixture(scope="module")
def api_raw(webhook) -> dict[str, Any]:
    """The rawJSON of the API-mode incident, as sent."""
    return json.loads(api_body(webhook, create_investigation=True)["rawJSON"])


def mapper_rules() -> dict[str, dict[str, Any]]:
    return {
        f"{incident_type}/{name}": rule
        for incident_type, mapping in load_mapper()["mapping"].items()
        for name, rule in mapping["internalMapping"].items()
    }


@pytest.mark.parametrize("body", ["webhook", "api_raw"])
def test_every_mapper_path_resolves_in_a_real_body(body, request):
    raw = request.getfixturevalue(body)
    unresolved = [name for name, rule in mapper_rules().items() if resolve(raw, rule["simple"]) is None]
    assert unresolved == []


def test_the_mapped_incident_of_a_real_webhook_body(webhook, api_raw):
    mapped = apply(load_mapper(), webhook, INCIDENT_TYPE)
    assert mapped["severity"] == 3 and mapped["occurred"] == webhook["occurred"] and mapped["details"]
    assert mapped["dbotMirrorId"] == webhook["alertId"]
    fields = mapped["CustomFields"]
    assert fields["alertid"] == webhook["alertId"] and fields["sekoiaioalerturl"] == webhook["alertUrl"]
    assert (fields["sourceip"], fields["destinationip"]) == ("10.20.30.42", "185.220.101.7")
    assert (fields["sekoiaiourgency"], fields["sekoiaiourgencyband"]) == (63, "Major")
    assert (fields["sekoiaiostatus"], fields["sekoiaioentity"]) == ("Pending", "HQ workstations")
    assert fields["sekoiaiorule"] == "PowerShell Download Cradle"
    assert fields["sekoiaioalertuuid"] == webhook["alertUuid"]
    assert json.loads(fields["sekoiaioevents"]) == webhook["events"] and len(webhook["events"]) > 1
    assert apply(load_mapper(), api_raw, INCIDENT_TYPE) == mapped


def test_other_types_get_only_the_rules_for_all_types(webhook):
    mapped = apply(load_mapper(), webhook, "Unclassified")
    assert set(mapped["CustomFields"]) == {"alertid", "sourceip", "destinationip"}


def test_an_unknown_target_or_a_complex_rule_is_refused():
    mapper = {"mapping": {ALL_TYPES: {"internalMapping": {"No Such Field": {"simple": "a"}}}}}
    with pytest.raises(MapperError, match="No Such Field"):
        apply(mapper, {"a": 1}, INCIDENT_TYPE)
    mapper = {"mapping": {ALL_TYPES: {"internalMapping": {"severity": {"complex": {"root": "a"}}}}}}
    with pytest.raises(MapperError, match="severity"):
        apply(mapper, {"a": 1}, INCIDENT_TYPE)


def test_the_pack_fields_are_associated_to_the_type_and_mapped_for_it():
    [incident_type] = pack_item("IncidentTypes")
    assert incident_type["id"] == incident_type["name"] == INCIDENT_TYPE
    type_rules = load_mapper()["mapping"][INCIDENT_TYPE]["internalMapping"]
    for field in pack_item("IncidentFields"):
        assert field["associatedTypes"] == [INCIDENT_TYPE] and not field["associatedToAll"], field["name"]
        assert field["id"] == f"incident_{field['cliName']}" and field["name"] in type_rules
    assert set(load_mapper()["mapping"]) == {INCIDENT_TYPE, ALL_TYPES}
    assert set(load_mapper()["mapping"][ALL_TYPES]["internalMapping"]) <= set(ATTRIBUTES) | set(COMMON_FIELDS)


def test_the_layout_is_the_type_s_and_shows_known_fields():
    [layout] = pack_item("Layouts")
    [incident_type] = pack_item("IncidentTypes")
    assert incident_type["layout"] == layout["id"] and layout["group"] == "incident"
    [summary] = [tab for tab in layout["detailsV2"]["tabs"] if tab.get("sections")]
    shown = {item["fieldId"] for section in summary["sections"] for item in section["items"]}
    known = {machine_name for machine_name, _ in pack_fields().values()} | LAYOUT_ATTRIBUTES
    assert shown <= known
    wanted = {"sekoiaioalerturl", "sekoiaiourgency", "sekoiaiourgencyband", "sekoiaiostatus", "sekoiaiorule"}
    assert wanted | {"sekoiaioentity", "sekoiaioevents"} <= shown


def test_the_simulator_maps_a_webhook_incident_of_the_pack_s_type(webhook):
    with XsoarSimulator(webhook_incident_type=INCIDENT_TYPE) as xsoar:
        answer = requests.post(xsoar.webhook_url, json=webhook, timeout=5).json()
        requests.post(xsoar.webhook_url, json=webhook | {"type": "Phishing"}, timeout=5)
        [mapped, other] = xsoar.incidents
    assert answer[0]["type"] == mapped["type"] == INCIDENT_TYPE and other["type"] == "Phishing"
    assert mapped["CustomFields"] == apply(load_mapper(), webhook, INCIDENT_TYPE)["CustomFields"]
    assert mapped["severity"] == 3 and mapped["dbotMirrorId"] == webhook["alertId"] and mapped["details"]
    assert set(other["CustomFields"]) == {"alertid", "sourceip", "destinationip"}


def test_the_api_body_carries_the_fields_the_pack_s_mapper_sets(webhook):
    """A REST-created incident goes through no instance mapper: the module sends the mapped fields itself."""
    body = api_body(webhook, create_investigation=True)
    mapped = apply(load_mapper(), json.loads(body["rawJSON"]), INCIDENT_TYPE)["CustomFields"]
    sent = body["CustomFields"]
    assert json.loads(sent.pop("sekoiaioevents")) == json.loads(mapped.pop("sekoiaioevents")) == webhook["events"]
    assert sent == mapped


def test_the_api_body_leaves_out_what_the_alert_lacks_and_fields_win(webhook):
    bare = {key: value for key, value in webhook.items() if key not in ("source", "target", "entity", "events")}
    body = api_body(bare, create_investigation=True, fields={"sekoiaiostatus": "Mine"})
    assert not {"sourceip", "destinationip", "sekoiaioentity", "sekoiaioevents"} & set(body["CustomFields"])
    assert body["CustomFields"]["sekoiaiostatus"] == "Mine"
