"""Playbooks (SEKOIA.md §7): load one, order its nodes from the trigger, and check everything a run depends on."""

import json
import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import jinja2
from jsonschema import Draft7Validator

from lab.tools.templating import is_template, referenced_nodes

REPO_ROOT = Path(__file__).resolve().parents[2]
SCHEMA_PATH = Path(__file__).resolve().parents[1] / "schemas" / "sekoiaio_playbooks.schema.json"

SEKOIA_MODULE_UUID = "92d8bb47-7c51-445d-81de-ae04edbb6f0a"
SEKOIA_ALERT_CREATED_UUID = "785583cf-4377-43ce-a5fb-f4572eb57456"
SEKOIA_GET_ALERT_UUID = "8d189665-5401-4098-8d60-944de9a6199a"
SEKOIA_GET_EVENTS_UUID = "af0b4355-a428-43d6-991c-d5ff878e17d5"
HTTP_MODULE_UUID = "5894985f-91eb-46db-9306-cc5ac6463d3d"
HTTP_REQUEST_UUID = "40bcf3c0-aa8b-4111-9b4e-f3caffccb4e5"
BLOCK_UUID_KEYS = {"trigger": "trigger_uuid", "action": "action_uuid"}
NODE_ID = re.compile(r"^[0-9]+$")


class PlaybookError(Exception):
    """A playbook that cannot be read or ordered."""


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a playbook, at a node and argument when it has a place."""

    code: str
    message: str
    node_id: str | None = None
    argument: str | None = None

    def __str__(self) -> str:
        place = "playbook" if self.node_id is None else f"node {self.node_id}"
        if self.argument is not None:
            place += f", argument {self.argument!r}"
        return f"{place}: {self.message}"


@dataclass(frozen=True)
class Block:
    """A trigger or action a node can use; foreign blocks belong to other modules and cannot run locally."""

    module_uuid: str
    uuid: str
    name: str
    kind: str
    module_name: str
    docker_parameters: str | None = None
    arguments: dict[str, Any] = field(default_factory=dict)
    results: dict[str, Any] = field(default_factory=dict)
    foreign: bool = False


FOREIGN_BLOCKS = (
    Block(SEKOIA_MODULE_UUID, SEKOIA_ALERT_CREATED_UUID, "Alert Created", "trigger", "Sekoia.io", foreign=True),
    Block(SEKOIA_MODULE_UUID, SEKOIA_GET_ALERT_UUID, "Get Alert", "action", "Sekoia.io", foreign=True),
    Block(SEKOIA_MODULE_UUID, SEKOIA_GET_EVENTS_UUID, "Get events", "action", "Sekoia.io", foreign=True),
    Block(HTTP_MODULE_UUID, HTTP_REQUEST_UUID, "Request URL", "action", "HTTP", foreign=True),
)


@dataclass(frozen=True)
class Catalogue:
    """The blocks a playbook may use: this module's (from its manifests) and the known foreign ones."""

    module_uuid: str
    blocks: dict[tuple[str, str], Block]

    @classmethod
    def from_module(cls, root: Path = REPO_ROOT) -> "Catalogue":
        """Read `manifest.json`, `action_*.json` and `trigger_*.json` of the module at `root`."""
        manifest = _read_json(root / "manifest.json")
        blocks = {(block.module_uuid, block.uuid): block for block in FOREIGN_BLOCKS}
        for path in sorted([*root.glob("action_*.json"), *root.glob("trigger_*.json")]):
            item = _read_json(path)
            block = Block(
                module_uuid=manifest["uuid"],
                uuid=item["uuid"],
                name=item["name"],
                kind=path.name.split("_", 1)[0],
                module_name=manifest["name"],
                docker_parameters=item.get("docker_parameters"),
                arguments=item.get("arguments") or {},
                results=item.get("results") or {},
            )
            blocks[(block.module_uuid, block.uuid)] = block
        return cls(module_uuid=manifest["uuid"], blocks=blocks)

    def find(self, module_uuid: str | None, block_uuid: str | None) -> Block | None:
        return self.blocks.get((str(module_uuid), str(block_uuid)))

    def native(self, name: str) -> Block:
        """This module's block called `name`."""
        for block in self.blocks.values():
            if block.module_uuid == self.module_uuid and block.name == name:
                return block
        raise PlaybookError(f"the module's manifests have no block named {name!r}")


@dataclass(frozen=True)
class Node:
    """One node; `block_uuid` is its `trigger_uuid` or `action_uuid`, `outputs` keeps only lists of node ids."""

    id: str
    name: str
    type: str
    outputs: dict[str, list[str]]
    module_uuid: str | None
    block_uuid: str | None
    arguments: dict[str, Any]

    @classmethod
    def from_document(cls, node_id: str, raw: dict[str, Any]) -> "Node":
        outputs = raw.get("outputs")
        outputs = outputs if isinstance(outputs, dict) else {}
        arguments = raw.get("arguments")
        node_type = str(raw.get("type", ""))
        return cls(
            id=node_id,
            name=str(raw.get("name", "")),
            type=node_type,
            outputs={
                name: [str(target) for target in targets]
                for name, targets in outputs.items()
                if isinstance(targets, list)
            },
            module_uuid=raw.get("module_uuid"),
            block_uuid=raw.get(BLOCK_UUID_KEYS.get(node_type, "")),
            arguments=arguments if isinstance(arguments, dict) else {},
        )

    @property
    def successors(self) -> list[str]:
        return list(dict.fromkeys(target for targets in self.outputs.values() for target in targets))


@dataclass(frozen=True)
class Playbook:
    """A playbook document and its nodes by id."""

    document: dict[str, Any]
    nodes: dict[str, Node]
    source: str = "<playbook>"

    @classmethod
    def from_document(cls, document: Any, source: str = "<playbook>") -> "Playbook":
        if not isinstance(document, dict):
            raise PlaybookError(f"{source}: a playbook is a JSON object, not {type(document).__name__}")
        raw_nodes = document.get("nodes")
        raw_nodes = raw_nodes if isinstance(raw_nodes, dict) else {}
        nodes = {
            str(key): Node.from_document(str(key), raw) for key, raw in raw_nodes.items() if isinstance(raw, dict)
        }
        return cls(document=document, nodes=nodes, source=source)

    @property
    def name(self) -> str:
        return str(self.document.get("name", ""))

    @property
    def uuid(self) -> str:
        return str(self.document.get("uuid", ""))

    def triggers(self) -> list[Node]:
        return [node for node in self.nodes.values() if node.type == "trigger"]

    def trigger(self) -> Node:
        """The one trigger node."""
        triggers = self.triggers()
        if len(triggers) != 1:
            raise PlaybookError(f"{self.source}: a playbook has exactly one trigger node, not {len(triggers)}")
        return triggers[0]

    def order(self) -> list[str]:
        """Node ids reachable from the trigger in topological order (lower ids first among ready nodes)."""
        start = self.trigger().id
        reachable = self.reachable_from(start)
        pending = {node_id: 0 for node_id in reachable}
        for node_id in reachable:
            for target in self.successors(node_id):
                pending[target] += 1
        ready, ordered = ([start] if pending[start] == 0 else []), []
        while ready:
            ready.sort(key=node_id_key)
            current = ready.pop(0)
            ordered.append(current)
            for target in self.successors(current):
                pending[target] -= 1
                if pending[target] == 0:
                    ready.append(target)
        if len(ordered) != len(reachable):
            raise PlaybookError(f"{self.source}: the nodes after the trigger form a cycle")
        return ordered

    def order_after_trigger(self) -> list[str]:
        """The action (and operator) node ids in the order they run."""
        return self.order()[1:]

    def reachable_from(self, start: str) -> set[str]:
        return _walk(start, self.successors)

    def ancestors(self, node_id: str) -> set[str]:
        """The nodes with a path to `node_id`: those whose results it can read."""
        predecessors: dict[str, list[str]] = {key: [] for key in self.nodes}
        for key in self.nodes:
            for target in self.successors(key):
                predecessors[target].append(key)
        return _walk(node_id, lambda key: predecessors[key]) - {node_id}

    def successors(self, node_id: str) -> list[str]:
        """The existing nodes that node `node_id` outputs to."""
        return [target for target in self.nodes[node_id].successors if target in self.nodes]


def node_id_key(node_id: str) -> tuple[int, int, str]:
    """Sort key: integer ids in numeric order, then any other id."""
    return (0, int(node_id), "") if node_id.isdigit() else (1, 0, node_id)


def _walk(start: str, neighbours) -> set[str]:
    seen, stack = {start}, [start]
    while stack:
        for neighbour in neighbours(stack.pop()):
            if neighbour not in seen:
                seen.add(neighbour)
                stack.append(neighbour)
    return seen


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text())
    except OSError as exc:
        raise PlaybookError(f"{path}: cannot be read: {exc.strerror}") from None
    except RecursionError:
        raise PlaybookError(
            f"{path}: nested too deeply to be a playbook (arrays or objects within each other)"
        ) from None
    except json.JSONDecodeError as exc:
        raise PlaybookError(f"{path}: not JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}") from None


def load_playbook(path: Path | str) -> Playbook:
    """Read a playbook file; raises PlaybookError when it is not a JSON object."""
    return Playbook.from_document(_read_json(Path(path)), str(path))


def dump_playbook(document: dict[str, Any]) -> str:
    """The text of a playbook file, formatted as Sekoia.io's library lints JSON."""
    return json.dumps(document, indent=2)


@cache
def playbook_schema() -> dict[str, Any]:
    """The bundled schema, with its one erratum fixed: an output is a list of node ids, as in every template."""
    schema = json.loads(SCHEMA_PATH.read_text())
    node = schema["properties"]["nodes"]["patternProperties"]["^[0-9]+$"]
    node["properties"]["outputs"]["properties"]["default"] = {"type": "array", "items": {"type": "string"}}
    return schema


def check_file(path: Path | str, catalogue: Catalogue) -> list[Problem]:
    """All problems of a playbook file, reading problems included."""
    try:
        playbook = load_playbook(path)
    except PlaybookError as exc:
        return [Problem("json", str(exc))]
    return check_playbook(playbook, catalogue)


def check_playbook(playbook: Playbook, catalogue: Catalogue) -> list[Problem]:
    """Every problem found, in a stable order; an empty list means the playbook can run."""
    return [
        *_schema_problems(playbook.document),
        *_identity_problems(playbook),
        *_trigger_problems(playbook),
        *_output_problems(playbook),
        *_cycle_problems(playbook),
        *_reachability_problems(playbook),
        *_reference_problems(playbook),
        *_block_problems(playbook, catalogue),
    ]


def _schema_problems(document: dict[str, Any]) -> Iterator[Problem]:
    errors = sorted(Draft7Validator(playbook_schema()).iter_errors(document), key=lambda error: list(error.path))
    for error in errors:
        path = [str(part) for part in error.absolute_path]
        node_id = path[1] if len(path) > 1 and path[0] == "nodes" else None
        where = "/".join(path[2:] if node_id is not None else path)
        yield Problem("schema", f"{where + ': ' if where else ''}{error.message}", node_id)


def _is_uuid(value: Any) -> bool:
    try:
        uuid.UUID(str(value))
    except ValueError:
        return False
    return True


def _identity_problems(playbook: Playbook) -> Iterator[Problem]:
    if "uuid" in playbook.document and not _is_uuid(playbook.uuid):
        yield Problem("schema", f"uuid {playbook.uuid!r} is not a UUID")
    nodes = playbook.document.get("nodes")
    for key in nodes if isinstance(nodes, dict) else ():
        if not NODE_ID.match(str(key)):
            yield Problem("schema", f"node id {key!r} is not an integer string")


def _trigger_problems(playbook: Playbook) -> Iterator[Problem]:
    triggers = [node.id for node in playbook.triggers()]
    if not triggers:
        yield Problem("trigger", "no trigger node: a playbook starts from exactly one")
    elif len(triggers) > 1:
        yield Problem("trigger", f"several trigger nodes ({', '.join(triggers)}): a playbook has exactly one")


def _output_problems(playbook: Playbook) -> Iterator[Problem]:
    for node in playbook.nodes.values():
        for output, targets in node.outputs.items():
            for target in targets:
                if target not in playbook.nodes:
                    yield Problem(
                        "output", f"output {output!r} points to node {target}, which does not exist", node.id
                    )


def _cycle_problems(playbook: Playbook) -> Iterator[Problem]:
    state: dict[str, str] = {}
    stack: list[str] = []

    def visit(node_id: str) -> Iterator[Problem]:
        state[node_id] = "open"
        stack.append(node_id)
        for target in playbook.successors(node_id):
            if state.get(target) == "open":
                cycle = stack[stack.index(target) :] + [target]
                yield Problem("cycle", f"cycle {' -> '.join(cycle)}: a playbook is run once from its trigger", target)
            elif target not in state:
                yield from visit(target)
        stack.pop()
        state[node_id] = "done"

    for node_id in sorted(playbook.nodes, key=node_id_key):
        if node_id not in state:
            yield from visit(node_id)


def _reachability_problems(playbook: Playbook) -> Iterator[Problem]:
    triggers = playbook.triggers()
    if len(triggers) != 1:
        return
    reachable = playbook.reachable_from(triggers[0].id)
    for node_id in playbook.nodes:
        if node_id not in reachable:
            yield Problem("unreachable", f"never runs: no path from the trigger (node {triggers[0].id})", node_id)


def _template_strings(value: Any, place: str) -> Iterator[tuple[str, str]]:
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _template_strings(item, f"{place}.{key}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _template_strings(item, f"{place}[{index}]")
    elif is_template(value):
        yield place, value


def _reference_problems(playbook: Playbook) -> Iterator[Problem]:
    for node in playbook.nodes.values():
        before = playbook.ancestors(node.id)
        for name, value in node.arguments.items():
            for place, source in _template_strings(value, name):
                try:
                    references = referenced_nodes(source)
                except jinja2.TemplateError as exc:
                    yield Problem("template", f"invalid template: {exc.message}", node.id, place)
                    continue
                for reference in sorted(references):
                    if reference not in playbook.nodes:
                        yield Problem("reference", f"reads node {reference}, which does not exist", node.id, place)
                    elif reference not in before:
                        yield Problem(
                            "reference",
                            f"reads node {reference}, which does not run before node {node.id}",
                            node.id,
                            place,
                        )


def _block_problems(playbook: Playbook, catalogue: Catalogue) -> Iterator[Problem]:
    for node in playbook.nodes.values():
        if node.type == "operator":
            yield Problem(
                "unsupported", "operator nodes (e.g. foreach) are not supported by the local runner", node.id
            )
            continue
        uuid_key = BLOCK_UUID_KEYS.get(node.type)
        if uuid_key is None:
            continue  # the schema check reports the type
        if not node.module_uuid or not node.block_uuid:
            yield Problem("block", f"a {node.type} node needs module_uuid and {uuid_key}", node.id)
            continue
        block = catalogue.find(node.module_uuid, node.block_uuid)
        if block is None:
            yield Problem(
                "block",
                f"unknown block: module {node.module_uuid}, {uuid_key} {node.block_uuid} is in no manifest of "
                "this module nor a known foreign block",
                node.id,
            )
        elif block.kind != node.type:
            yield Problem("block", f"{block.name!r} is a {block.kind}, used here as a {node.type}", node.id)
        elif block.foreign:
            yield Problem(
                "foreign",
                f"{block.module_name} module's {block.name!r} ({block.uuid}) is not a block of this module: the local "
                "runner cannot run it (lab.tools.migrate rewrites such playbooks with this module's blocks)",
                node.id,
            )
        else:
            yield from _argument_problems(node, block)
            yield from _path_problems(node)


def _argument_problems(node: Node, block: Block) -> Iterator[Problem]:
    schema = block.arguments
    properties = schema.get("properties") or {}
    for name in node.arguments:
        if name not in properties and schema.get("additionalProperties") is not True:
            expected = ", ".join(properties) or "none"
            yield Problem("argument", f"{block.name} has no such argument (expected: {expected})", node.id, name)
    for name in schema.get("required") or []:
        if name not in node.arguments:
            yield Problem("argument", f"{block.name} requires this argument", node.id, name)
    types_only = {key: value for key, value in schema.items() if key not in ("required", "additionalProperties")}
    for error in Draft7Validator(types_only).iter_errors(node.arguments):
        path = [str(part) for part in error.absolute_path]
        if (
            not path
            or is_template(error.instance)
            or (len(path) == 1 and _null_default(error.instance, properties.get(path[0])))
        ):
            continue
        yield Problem("argument", error.message, node.id, ".".join(path))


def _path_problems(node: Node) -> Iterator[Problem]:
    """A literal `*_path` argument must stay inside the run's data folder: not absolute, never climbing with `..`."""
    for name, value in node.arguments.items():
        if not name.endswith("_path") or not isinstance(value, str) or is_template(value):
            continue
        parts = value.replace("\\", "/").split("/")
        if value.startswith(("/", "\\")) or ".." in parts or "\0" in value:
            yield Problem(
                "argument",
                f"{value[:80]!r} leaves the run's data folder: give a file of an earlier block, e.g. "
                "{{ node.0.file_path }}, never an absolute path or '..'",
                node.id,
                name,
            )


def _null_default(value: Any, prop: dict[str, Any] | None) -> bool:
    """A literal null for an argument that defaults to null is the same as leaving it out."""
    return value is None and prop is not None and "default" in prop and prop["default"] is None
