"""Rendering of playbook arguments: native values, text, Sekoia.io's filters and clear failures."""

import json
from pathlib import Path

import pytest

from lab.tools.templating import (
    TemplateError,
    build_context,
    jsonpath,
    referenced_nodes,
    render_arguments,
    render_value,
    time_with_delta,
)

SAMPLES = Path(__file__).resolve().parent.parent / "lab" / "samples"
ALERT = json.loads((SAMPLES / "alert.json").read_text())
EVENTS = json.loads((SAMPLES / "alert_events.json").read_text())["items"]


@pytest.fixture
def context():
    trigger = {"alert_uuid": ALERT["uuid"], "short_id": ALERT["short_id"], "file_path": "alerts/x.json"}
    return build_context({"0": trigger, "1": ALERT, "2": {"events": EVENTS}})


def render(value, context):
    return render_value(value, context, "3", "arg")


def test_one_whole_expression_renders_to_the_native_value(context):
    arguments = render_arguments(
        {
            "alert": "{{ node.1 }}",
            "events": " {{ node.2.events }} ",
            "urgency": "{{ node['1'].urgency.current_value }}",
        },
        context,
        "3",
    )
    assert arguments["alert"] == ALERT
    assert arguments["events"] == EVENTS
    assert arguments["urgency"] == 63
    assert render("{{ node.1.is_incident }}", context) is False


def test_other_strings_render_to_text_and_literals_stay(context):
    arguments = render_arguments(
        {
            "query": 'alert_short_ids: "{{ node.1.short_id }}"',
            "pair": "{{ node.1.short_id }}-{{ node.1.urgency.current_value }}",
            "stix": False,
            "limit": 5,
        },
        context,
        "2",
    )
    assert arguments == {
        "query": 'alert_short_ids: "ALz7Qm3KpW2x"',
        "pair": "ALz7Qm3KpW2x-63",
        "stix": False,
        "limit": 5,
    }


def test_nested_values_are_rendered(context):
    rendered = render({"severity": "{{ node.1.urgency.severity }}", "tags": ["{{ node.1.rule.name }}", 1]}, context)
    assert rendered == {"severity": 70, "tags": ["PowerShell Download Cradle", 1]}


def test_a_missing_key_names_node_argument_and_expression(context):
    with pytest.raises(TemplateError) as caught:
        render_arguments({"fields": {"owner": "{{ node.1.owner.name }}"}}, context, "3")
    message = str(caught.value)
    assert "node 3" in message and "'fields.owner'" in message and "node.1.owner.name" in message
    assert "owner" in caught.value.reason


def test_a_node_without_results_is_told(context):
    with pytest.raises(TemplateError, match="node 7 has no results"):
        render("{{ node.7.events }}", context)
    assert render("{{ node.7 is defined }}/{{ node.0 is defined }}", context) == "False/True"


def test_the_sandbox_refuses_python_internals(context):
    with pytest.raises(TemplateError, match="unsafe"):
        render("{{ node.1.__class__.__mro__ }}", context)


def test_time_filters(context):
    assert render("{{ node.1.created_at | timestamp_to_iso8601 }}", context) == "2025-11-28T08:00:00Z"
    assert render("{{ node.1.first_seen_at | iso8601_to_timestamp }}", context) == pytest.approx(1764316721.12)
    assert render("{{ '2025-11-28T08:00:00Z' | iso8601_to_timestamp }}", context) == 1764316800
    assert render("{{ node.1.last_seen_at | time_with_delta(hours=-1) }}", context) == "2025-11-28T06:59:58.904Z"
    assert time_with_delta(1764316800, days=1) == "2025-11-29T08:00:00Z"
    assert time_with_delta() > "2025"


def test_json_filters(context):
    assert render("{{ '{\"a\": [1, 2]}' | fromjson }}", context) == {"a": [1, 2]}
    assert render("{{ node.2.events[0] | fromjson }}", context) == EVENTS[0]
    assert json.loads(render("{{ node.1.rule | tojson }}", context)) == ALERT["rule"]
    assert render("{{ '<b>' | tojson }}", context) == '"<b>"'


def test_jsonpath_subset():
    assert jsonpath(ALERT, "$.rule.name") == "PowerShell Download Cradle"
    assert jsonpath(ALERT, "$.ttps[0].name") == "PowerShell"
    assert jsonpath(ALERT, "$['urgency'].display") == "Major"
    assert jsonpath({"events": EVENTS}, "$.events[*]['host.name']") == ["WKS-0042"] * 3
    assert jsonpath(ALERT, "$.assets[-1]") == ALERT["assets"][-1]
    assert jsonpath(ALERT, "$.rule.missing") is None
    with pytest.raises(ValueError, match="unsupported"):
        jsonpath(ALERT, "$..name")


def test_regex_match_and_a_failing_filter(context):
    assert render("{{ node.1.short_id | regex_match('^AL') }}", context) is True
    assert render("{{ node.1.short_id | regex_match('z7') }}", context) is False
    with pytest.raises(TemplateError, match="ValueError"):
        render("{{ node.1.title | iso8601_to_timestamp }}", context)


def test_referenced_nodes():
    assert referenced_nodes("{{ node.1.x }} {{ node['2'].y }}{% if node[0] %}{{ node.z }}{% endif %}") == {
        "0",
        "1",
        "2",
    }
    with pytest.raises(Exception, match="No filter named 'nope'"):
        referenced_nodes("{{ node.1 | nope }}")
