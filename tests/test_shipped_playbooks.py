"""The playbooks shipped in playbooks/ use this module's blocks, as its manifests name them, and hold no secret."""

import json
import uuid
from pathlib import Path

import pytest

from lab.tools.checks import check_file
from lab.tools.playbook import Catalogue

ROOT = Path(__file__).resolve().parent.parent
PLAYBOOKS = sorted((ROOT / "playbooks").glob("*.json"))
DOCS_TEMPLATE_UUID = "7efbb487-3042-4db3-82f7-8c9e75cf21b7"


def manifest_uuids(pattern: str) -> dict[str, str]:
    """Block name -> uuid, read from the module's manifests."""
    items = [json.loads(path.read_text()) for path in ROOT.glob(pattern)]
    return {item["name"]: item["uuid"] for item in items}


def test_the_playbooks_are_shipped():
    assert [path.name for path in PLAYBOOKS] == [
        "create_incident_on_cortex_xsoar.json",
        "create_incident_on_cortex_xsoar_two_blocks.json",
        "sync_alert_changes_to_xsoar.json",
        "sync_incident_changes_to_sekoia.json",
    ]


@pytest.mark.parametrize("path", PLAYBOOKS, ids=lambda path: path.name)
def test_node_uuids_follow_the_manifests(path: Path):
    module_uuid = json.loads((ROOT / "manifest.json").read_text())["uuid"]
    triggers, actions = manifest_uuids("trigger_*.json"), manifest_uuids("action_*.json")
    for node_id, node in json.loads(path.read_text())["nodes"].items():
        assert node["module_uuid"] == module_uuid, node_id
        if node["type"] == "trigger":
            assert node["trigger_uuid"] == triggers[node["name"]], node_id
        else:
            assert node["action_uuid"] == actions[node["name"]], node_id
        # as the SDK's generator makes them: uuid5 of the module uuid and the item name
        assert node.get("trigger_uuid", node.get("action_uuid")) == str(
            uuid.uuid5(uuid.UUID(module_uuid), node["name"])
        )


@pytest.mark.parametrize("path", PLAYBOOKS, ids=lambda path: path.name)
def test_shipped_playbooks_pass_the_checker(path: Path):
    assert [str(problem) for problem in check_file(path, Catalogue.from_module(ROOT))] == []


@pytest.mark.parametrize("path", PLAYBOOKS, ids=lambda path: path.name)
def test_shipped_playbooks_hold_no_secret_and_are_linted(path: Path):
    text = path.read_text()
    assert text == json.dumps(json.loads(text), indent=2)
    arguments = json.dumps([node.get("arguments") for node in json.loads(text)["nodes"].values()]).lower()
    assert not any(word in arguments for word in ("authorization", "bearer", "token", "password", "api_key", "url"))


def test_playbook_uuids_are_their_own():
    uuids = [json.loads(path.read_text())["uuid"] for path in PLAYBOOKS]
    assert len(set(uuids)) == len(uuids) and DOCS_TEMPLATE_UUID not in uuids


def test_the_four_block_playbook_feeds_create_incident_with_native_values():
    nodes = json.loads(PLAYBOOKS[0].read_text())["nodes"]
    assert nodes["1"]["arguments"] == {"uuid": "{{ node.0.alert_uuid }}", "stix": False}
    assert nodes["2"]["arguments"]["expected_events"] == "{{ node.1.similar }}"  # events indexed late are awaited
    assert nodes["3"]["arguments"] == {
        "alert": "{{ node.1 }}",
        "events": "{{ node.2.events }}",
        "events_missing": "{{ node.2.events_missing }}",
    }


def sync_nodes(name: str) -> dict:
    return json.loads((ROOT / "playbooks" / name).read_text())["nodes"]


def test_alert_changes_go_to_update_incident_with_the_trigger_fields():
    nodes = sync_nodes("sync_alert_changes_to_xsoar.json")
    assert [nodes["0"]["name"], nodes["1"]["name"]] == ["Alert Updated", "Update Incident"]
    assert nodes["1"]["arguments"] == {
        "alert_uuid": "{{ node.0.alert_uuid }}",
        "short_id": "{{ node.0.short_id }}",
        "status": "{{ node.0.status_name }}",
        "comment": "{{ node.0.comment }}",
        "changed_at": "{{ node.0.updated_at }}",
        "urgency": "{{ node.0.urgency }}",
        "occurrences": "{{ node.0.occurrences }}",
        "last_seen_at": "{{ node.0.last_seen_at }}",
        "fetch_events": "{{ node.0.change == 'urgency' }}",
    }


def test_incident_changes_go_to_update_alert_with_the_trigger_fields():
    nodes = sync_nodes("sync_incident_changes_to_sekoia.json")
    assert [nodes["0"]["name"], nodes["1"]["name"]] == ["Incident Updated", "Update Alert"]
    assert nodes["1"]["arguments"] == {
        "short_id": "{{ node.0.alert_short_id }}",
        "alert_uuid": "{{ node.0.alert_uuid }}",
        "change": "{{ node.0.change }}",
        "close_reason": "{{ node.0.close_reason }}",
        "comment": "{{ node.0.close_notes }}",
        "note": "{{ node.0.note }}",
        "changed_at": "{{ node.0.updated_at }}",
        "follows_mirror": "{{ node.0.follows_mirror }}",
        "incident_id": "{{ node.0.incident_id }}",
    }
