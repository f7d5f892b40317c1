"""Migrating the documentation's template to this module's blocks."""

import copy
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from lab.__main__ import app
from lab.tools.checks import check_playbook
from lab.tools.migrate import MigrationError, migrate_file, migrate_playbook
from lab.tools.playbook import Catalogue, Playbook

FIXTURE = Path(__file__).resolve().parent / "fixtures" / "docs_template_create_incident_on_cortex_xsoar.json"
TWO_BLOCKS = Path(__file__).resolve().parent.parent / "playbooks" / "create_incident_on_cortex_xsoar_two_blocks.json"
TEMPLATE = json.loads(FIXTURE.read_text())


@pytest.fixture(scope="module")
def catalogue() -> Catalogue:
    return Catalogue.from_module()


def block_uuid(catalogue: Catalogue, name: str) -> str:
    return catalogue.native(name).uuid


def without_get_events() -> dict:
    document = copy.deepcopy(TEMPLATE)
    del document["nodes"]["2"]
    document["nodes"]["1"]["outputs"]["default"] = ["3"]
    return document


def test_the_documentation_template_migrates_to_a_clean_playbook(catalogue):
    migration = migrate_playbook(TEMPLATE, catalogue)
    nodes = migration.playbook["nodes"]
    assert check_playbook(Playbook.from_document(migration.playbook), catalogue) == []
    assert {node["module_uuid"] for node in nodes.values()} == {catalogue.module_uuid}
    assert nodes["0"]["trigger_uuid"] == block_uuid(catalogue, "Alert Created")
    assert nodes["1"]["action_uuid"] == block_uuid(catalogue, "Get Alert")
    assert nodes["2"]["action_uuid"] == block_uuid(catalogue, "Get Events")
    assert nodes["3"]["action_uuid"] == block_uuid(catalogue, "Create Incident")
    assert nodes["1"]["arguments"] == TEMPLATE["nodes"]["1"]["arguments"]
    assert nodes["2"]["arguments"] == {
        "query": TEMPLATE["nodes"]["2"]["arguments"]["query"],
        "earliest_time": "{{ node.1.events_earliest_time }}",
        "latest_time": "{{ node.1.events_latest_time }}",
        "expected_events": "{{ node.1.similar }}",
    }
    assert nodes["3"]["arguments"] == {
        "alert": "{{ node.1 }}",
        "events": "{{ node.2.events }}",
        "events_missing": "{{ node.2.events_missing }}",
        "name": "{{ node.1.rule['name'] }}",
    }
    assert [node["outputs"] for node in nodes.values()] == [node["outputs"] for node in TEMPLATE["nodes"].values()]
    assert migration.playbook["uuid"] != TEMPLATE["uuid"]
    assert migration.playbook["name"] == TEMPLATE["name"]


def test_the_notes_tell_where_the_token_and_url_go_and_never_copy_the_token(catalogue):
    migration = migrate_playbook(TEMPLATE, catalogue)
    notes = "\n".join(migration.notes)
    assert "xsoar_token" in notes and "Authorization" in notes
    assert "xsoar_url to https://your-xsoar-domain.com/instance/execute/your-instance-name" in notes
    assert "urgency" in notes
    assert "YOUR_XSOAR_TOKEN" not in notes
    assert "YOUR_XSOAR_TOKEN" not in json.dumps(migration.playbook)


def test_the_seen_times_of_get_alert_become_its_never_null_window(catalogue):
    document = copy.deepcopy(TEMPLATE)
    arguments = document["nodes"]["2"]["arguments"]
    arguments |= {"earliest_time": "{{ node['1'].first_seen_at }}", "latest_time": "{{ node.0.last_seen_at }}"}
    migration = migrate_playbook(document, catalogue)
    migrated = migration.playbook["nodes"]["2"]["arguments"]
    assert migrated["earliest_time"] == "{{ node['1'].events_earliest_time }}"
    assert migrated["latest_time"] == "{{ node.0.last_seen_at }}"  # the trigger's, not Get Alert's: left as is
    assert sum("events_earliest_time" in note for note in migration.notes) == 1


def test_without_get_events_the_action_fetches_them(catalogue):
    migration = migrate_playbook(without_get_events(), catalogue)
    assert check_playbook(Playbook.from_document(migration.playbook), catalogue) == []
    arguments = migration.playbook["nodes"]["3"]["arguments"]
    assert arguments["fetch_events"] is True and "events" not in arguments
    assert arguments["alert"] == "{{ node.1 }}"
    assert any("fetch_events" in note for note in migration.notes)


def test_without_get_alert_the_trigger_file_is_the_alert(catalogue):
    document = without_get_events()
    del document["nodes"]["1"]
    document["nodes"]["0"]["outputs"]["default"] = ["3"]
    document["nodes"]["3"]["arguments"]["json"] = '{"name": "Sekoia.io alert", "occurred": "{{ node.0.created_at }}"}'
    migration = migrate_playbook(document, catalogue)
    assert check_playbook(Playbook.from_document(migration.playbook), catalogue) == []
    assert migration.playbook["nodes"]["3"]["arguments"] == {
        "alert_path": "{{ node.0.file_path }}",
        "fetch_events": True,
        "name": "Sekoia.io alert",
    }


def test_other_body_keys_become_fields_and_type_the_incident_type(catalogue):
    document = copy.deepcopy(TEMPLATE)
    document["nodes"]["3"]["arguments"]["json"] = (
        '{"name": "x", "type": "Sekoia", "owner": "soc", "details": "{{ node.1.details }}", '
        '"events": [{{ node.2.events[0] | fromjson }}]}'
    )
    arguments = migrate_playbook(document, catalogue).playbook["nodes"]["3"]["arguments"]
    assert arguments["incident_type"] == "Sekoia"
    assert arguments["fields"] == {"owner": "soc", "details": "{{ node.1.details }}"}


def test_an_unreadable_body_is_noted(catalogue):
    document = copy.deepcopy(TEMPLATE)
    document["nodes"]["3"]["arguments"]["json"] = "{{ node.1 | tojson }"
    migration = migrate_playbook(document, catalogue)
    assert any("could not be read" in note for note in migration.notes)
    assert "name" not in migration.playbook["nodes"]["3"]["arguments"]


def test_an_http_request_elsewhere_is_left_alone(catalogue):
    document = copy.deepcopy(TEMPLATE)
    document["nodes"]["3"]["arguments"] = {"url": "https://example.org/hook", "method": "get"}
    migration = migrate_playbook(document, catalogue)
    assert migration.playbook["nodes"]["3"] == TEMPLATE["nodes"]["3"] | {
        "arguments": document["nodes"]["3"]["arguments"]
    }
    assert any(note.startswith("node 3 (Create incident on XSOAR): left as is") for note in migration.notes)


def test_nothing_to_migrate_is_an_error(catalogue):
    document = copy.deepcopy(TEMPLATE)
    document["nodes"] = {"0": document["nodes"]["3"] | {"module_uuid": catalogue.module_uuid}}
    with pytest.raises(MigrationError, match="no block"):
        migrate_playbook(document, catalogue)


def test_migrate_file_writes_the_linted_format(tmp_path, catalogue):
    target = tmp_path / "migrated.json"
    migration = migrate_file(FIXTURE, target, catalogue)
    assert target.read_text() == json.dumps(migration.playbook, indent=2)
    broken = tmp_path / "broken.json"
    broken.write_text("{")
    with pytest.raises(MigrationError, match="not JSON"):
        migrate_file(broken, target, catalogue)


def test_the_url_note_masks_query_values_and_user_information(catalogue):
    document = copy.deepcopy(TEMPLATE)
    document["nodes"]["3"]["arguments"]["url"] = "https://me:pw-1234@xsoar.example.com/instance/execute/s?token=t-5678"
    notes = "\n".join(migrate_playbook(document, catalogue).notes)
    assert "xsoar_url to https://***@xsoar.example.com/instance/execute/s?token=***" in notes
    assert "pw-1234" not in notes and "t-5678" not in notes


def test_two_blocks_makes_the_documentation_template_alert_created_then_create_incident(tmp_path, catalogue):
    target = tmp_path / "two_blocks.json"
    migrated = CliRunner().invoke(app, ["migrate", "--two-blocks", str(FIXTURE), str(target)])
    assert migrated.exit_code == 0, migrated.output
    assert "left out" in migrated.output
    checked = CliRunner().invoke(app, ["check", str(target)])
    assert checked.exit_code == 0, checked.output
    nodes = json.loads(target.read_text())["nodes"]
    assert list(nodes) == ["0", "3"]
    assert nodes["0"]["trigger_uuid"] == block_uuid(catalogue, "Alert Created")
    assert nodes["0"]["outputs"] == {"default": ["3"]}
    assert nodes["3"]["action_uuid"] == block_uuid(catalogue, "Create Incident")
    assert nodes["3"]["arguments"] == {
        "alert_path": "{{ node.0.file_path }}",
        "fetch_events": True,
        "name": "{{ node.0.rule['name'] }}",  # Get Alert's rule, which the trigger's event carries
    }
    shipped = json.loads(TWO_BLOCKS.read_text())["nodes"]
    assert [node.get("trigger_uuid") or node["action_uuid"] for node in nodes.values()] == [
        node.get("trigger_uuid") or node["action_uuid"] for node in shipped.values()
    ]
    assert {key: nodes["3"]["arguments"][key] for key in ("alert_path", "fetch_events")} == shipped["1"]["arguments"]
    assert json.loads(target.read_text())["uuid"] != migrate_playbook(TEMPLATE, catalogue).playbook["uuid"]


def test_two_blocks_read_from_the_trigger_what_it_carries_and_refuse_what_it_does_not(catalogue):
    document = copy.deepcopy(TEMPLATE)
    document["nodes"]["3"]["arguments"]["json"] = '{"name": "x", "sekoiauuid": "{{ node[\'1\'].uuid }}"}'
    arguments = migrate_playbook(document, catalogue, two_blocks=True).playbook["nodes"]["3"]["arguments"]
    assert arguments["fields"] == {"sekoiauuid": "{{ node.0.alert_uuid }}"}
    document["nodes"]["3"]["arguments"]["json"] = '{"name": "x", "details": "{{ node.1.details }}"}'
    with pytest.raises(MigrationError, match=r"node 3 .*'node\.1\.details'.*without --two-blocks"):
        migrate_playbook(document, catalogue, two_blocks=True)


def test_two_blocks_need_the_trigger_before_the_request(catalogue):
    document = copy.deepcopy(TEMPLATE)
    del document["nodes"]["0"]
    with pytest.raises(MigrationError, match="no Alert Created runs before it"):
        migrate_playbook(document, catalogue, two_blocks=True)
