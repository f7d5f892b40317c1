"""The playbook checker reports every problem with its place; the order of a playbook's nodes."""

import json
from pathlib import Path

import pytest

from lab.tools.checks import check_file, check_playbook
from lab.tools.playbook import Catalogue, Playbook, PlaybookError, load_playbook

FIXTURES = Path(__file__).resolve().parent / "fixtures"
MODULE = "11111111-2222-4333-8444-555555555555"
TRIGGER = "aaaaaaaa-0000-4000-8000-000000000001"
GET = "aaaaaaaa-0000-4000-8000-000000000002"
SEND = "aaaaaaaa-0000-4000-8000-000000000003"


def item(name: str, block_uuid: str, arguments: dict) -> str:
    return json.dumps(
        {"name": name, "uuid": block_uuid, "description": name, "docker_parameters": name, "arguments": arguments}
    )


@pytest.fixture
def catalogue(tmp_path: Path) -> Catalogue:
    (tmp_path / "manifest.json").write_text(json.dumps({"uuid": MODULE, "name": "Test"}))
    (tmp_path / "trigger_new_thing.json").write_text(item("New Thing", TRIGGER, {"type": "object", "properties": {}}))
    get_arguments = {
        "type": "object",
        "properties": {"uuid": {"type": "string"}, "stix": {"type": "boolean", "default": False}},
        "required": ["uuid"],
    }
    (tmp_path / "action_get.json").write_text(item("Get", GET, get_arguments))
    send_arguments = {
        "type": "object",
        "properties": {
            "thing": {"type": "object", "default": None},
            "count": {"type": "integer", "minimum": 0, "default": 10},
            "tags": {"type": "array", "items": {"type": "string"}, "default": None},
        },
    }
    (tmp_path / "action_send.json").write_text(item("Send", SEND, send_arguments))
    return Catalogue.from_module(tmp_path)


def node(name: str, outputs: list[str], block: str | None = None, arguments: dict | None = None, kind="action"):
    raw = {"name": name, "type": kind, "outputs": {"default": outputs}, "module_uuid": MODULE}
    raw["trigger_uuid" if kind == "trigger" else "action_uuid"] = block or (TRIGGER if kind == "trigger" else GET)
    if arguments is not None:
        raw["arguments"] = arguments
    return raw


def document(nodes: dict) -> dict:
    return {
        "name": "t",
        "uuid": "7efbb487-3042-4db3-82f7-8c9e75cf21b7",
        "description": "d",
        "workspace": "w",
        "nodes": nodes,
    }


def good_nodes() -> dict:
    return {
        "0": node("start", ["1"], kind="trigger"),
        "1": node("get", ["2"], GET, {"uuid": "{{ node.0.uuid }}", "stix": False}),
        "2": node("send", [], SEND, {"thing": "{{ node.1 }}", "count": 3, "tags": ["a", "{{ node.1.tag }}"]}),
    }


def problems_of(nodes: dict, catalogue: Catalogue) -> list:
    return check_playbook(Playbook.from_document(document(nodes)), catalogue)


def test_a_good_playbook_has_no_problem_and_runs_in_order(catalogue):
    playbook = Playbook.from_document(document(good_nodes()))
    assert check_playbook(playbook, catalogue) == []
    assert playbook.order() == ["0", "1", "2"]
    assert playbook.order_after_trigger() == ["1", "2"]
    assert playbook.trigger().id == "0"


def test_order_is_topological_from_the_trigger():
    nodes = {
        "0": node("t", ["10", "9"], kind="trigger"),
        "9": node("a", ["2"]),
        "10": node("b", ["2"]),
        "2": node("c", []),
    }
    playbook = Playbook.from_document(document(nodes))
    assert playbook.order() == ["0", "9", "10", "2"]
    assert playbook.ancestors("2") == {"0", "9", "10"}


def test_not_json_is_a_problem_and_load_raises(tmp_path, catalogue):
    path = tmp_path / "broken.json"
    path.write_text('{"name": ')
    [problem] = check_file(path, catalogue)
    assert problem.code == "json" and "not JSON" in problem.message and "line 1" in problem.message
    with pytest.raises(PlaybookError, match="broken.json"):
        load_playbook(path)
    path.write_text("[]")
    with pytest.raises(PlaybookError, match="JSON object"):
        load_playbook(path)


def test_schema_problems_are_placed(catalogue):
    nodes = good_nodes()
    del nodes["1"]["type"]
    doc = document(nodes)
    del doc["workspace"]
    doc["uuid"] = "not-a-uuid"
    problems = check_playbook(Playbook.from_document(doc), catalogue)
    texts = [str(problem) for problem in problems if problem.code == "schema"]
    assert "playbook: 'workspace' is a required property" in texts
    assert "node 1: 'type' is a required property" in texts
    assert "playbook: uuid 'not-a-uuid' is not a UUID" in texts


def test_outputs_are_lists_despite_the_schema_erratum(catalogue):
    nodes = good_nodes()
    nodes["2"]["outputs"]["default"] = "3"
    [problem] = problems_of(nodes, catalogue)
    assert problem.code == "schema" and problem.node_id == "2" and "outputs/default" in problem.message


def test_no_trigger_and_several_triggers(catalogue):
    nodes = good_nodes()
    nodes["0"] = node("get", ["1"], GET, {"uuid": "x"})
    assert [problem.code for problem in problems_of(nodes, catalogue)] == ["trigger"]
    with pytest.raises(PlaybookError, match="exactly one trigger"):
        Playbook.from_document(document(nodes)).order()
    nodes = good_nodes() | {"3": node("again", ["2"], kind="trigger")}
    [problem] = problems_of(nodes, catalogue)
    assert problem.code == "trigger" and "0, 3" in problem.message


def test_outputs_to_unknown_nodes(catalogue):
    nodes = good_nodes()
    nodes["2"]["outputs"] = {"default": ["7"], "failure": ["8"]}
    problems = problems_of(nodes, catalogue)
    assert [str(problem) for problem in problems] == [
        "node 2: output 'default' points to node 7, which does not exist",
        "node 2: output 'failure' points to node 8, which does not exist",
    ]


def test_cycles(catalogue):
    nodes = good_nodes()
    nodes["2"]["outputs"]["default"] = ["1"]
    problems = problems_of(nodes, catalogue)
    assert [problem.code for problem in problems] == ["cycle"]
    assert "cycle 1 -> 2 -> 1" in problems[0].message
    with pytest.raises(PlaybookError, match="cycle"):
        Playbook.from_document(document(nodes)).order()


def test_references_to_unknown_or_later_nodes(catalogue):
    nodes = good_nodes()
    nodes["1"]["arguments"]["uuid"] = "{{ node.2.uuid }}{{ node.5.uuid }}"
    problems = problems_of(nodes, catalogue)
    assert [str(problem) for problem in problems] == [
        "node 1, argument 'uuid': reads node 2, which does not run before node 1",
        "node 1, argument 'uuid': reads node 5, which does not exist",
    ]


def test_invalid_templates(catalogue):
    nodes = good_nodes()
    nodes["2"]["arguments"]["tags"] = ["{{ node.1 | nope }}", "{{ node.1 "]
    problems = problems_of(nodes, catalogue)
    assert [(problem.code, problem.argument) for problem in problems] == [
        ("template", "tags[0]"),
        ("template", "tags[1]"),
    ]
    assert "No filter named 'nope'" in problems[0].message


def test_unreachable_nodes(catalogue):
    nodes = good_nodes() | {"3": node("alone", [], SEND)}
    [problem] = problems_of(nodes, catalogue)
    assert problem.code == "unreachable" and problem.node_id == "3"


def test_unknown_and_foreign_blocks(catalogue):
    nodes = good_nodes()
    nodes["2"]["action_uuid"] = "aaaaaaaa-0000-4000-8000-00000000dead"
    nodes["1"]["type"] = "trigger"
    problems = problems_of(nodes, catalogue)
    assert {(problem.code, problem.node_id) for problem in problems} >= {("block", "2"), ("trigger", None)}
    assert "unknown block" in str(problems[-1])
    template = load_playbook(FIXTURES / "docs_template_create_incident_on_cortex_xsoar.json")
    problems = check_playbook(template, catalogue)
    assert [(problem.code, problem.node_id) for problem in problems] == [("foreign", key) for key in "0123"]
    assert "Sekoia.io module's 'Get Alert'" in problems[1].message and "lab.tools.migrate" in problems[1].message


def test_arguments_against_the_manifest(catalogue):
    nodes = good_nodes()
    nodes["1"]["arguments"] = {"stix": "yes", "extra": 1}
    nodes["2"]["arguments"] = {"count": -1, "tags": [3, "{{ node.1.tag }}"], "thing": None}
    problems = problems_of(nodes, catalogue)
    assert [str(problem) for problem in problems] == [
        "node 1, argument 'extra': Get has no such argument (expected: uuid, stix)",
        "node 1, argument 'uuid': Get requires this argument",
        "node 1, argument 'stix': 'yes' is not of type 'boolean'",
        "node 2, argument 'count': -1 is less than the minimum of 0",
        "node 2, argument 'tags.0': 3 is not of type 'string'",
    ]


def test_template_values_skip_type_checks(catalogue):
    nodes = good_nodes()
    nodes["2"]["arguments"] = {"count": "{{ node.1.count }}", "thing": "{{ node.1 }}", "tags": "{{ node.1.tags }}"}
    assert problems_of(nodes, catalogue) == []


def test_all_problems_come_at_once(catalogue):
    nodes = good_nodes()
    nodes["0"]["outputs"]["default"] = ["1", "9"]
    nodes["1"]["arguments"]["stix"] = 1
    nodes["2"]["arguments"]["thing"] = "{{ node.4 }}"
    codes = [problem.code for problem in problems_of(nodes, catalogue)]
    assert codes == ["output", "reference", "argument"]


def test_literal_path_arguments_stay_in_the_data_folder(catalogue):
    nodes = good_nodes()
    nodes["2"]["arguments"] = {"thing_path": "../../etc/passwd", "tags_path": "/etc/shadow"}
    nodes["1"]["arguments"]["file_path"] = "{{ node.0.file_path }}"
    nodes["1"]["arguments"]["uuid_path"] = "alerts/a..b.json"
    problems = [problem for problem in problems_of(nodes, catalogue) if "data folder" in problem.message]
    assert [(problem.node_id, problem.argument) for problem in problems] == [
        ("2", "thing_path"),
        ("2", "tags_path"),
    ]


def test_a_deeply_nested_file_is_one_problem(tmp_path, catalogue):
    path = tmp_path / "deep.json"
    path.write_text("[" * 100_000)
    problems = check_file(path, catalogue)
    assert [problem.code for problem in problems] == ["json"]
    assert "nested too deeply" in str(problems[0])
