"""Playbooks (SEKOIA.md §7): load one, order its nodes from the trigger; the blocks a playbook may use (`Catalogue`).
The checks of everything a run depends on: `lab.tools.checks`."""

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[2]

SEKOIA_MODULE_UUID = "92d8bb47-7c51-445d-81de-ae04edbb6f0a"
SEKOIA_ALERT_CREATED_UUID = "785583cf-4377-43ce-a5fb-f4572eb57456"
SEKOIA_GET_ALERT_UUID = "8d189665-5401-4098-8d60-944de9a6199a"
SEKOIA_GET_EVENTS_UUID = "af0b4355-a428-43d6-991c-d5ff878e17d5"
HTTP_MODULE_UUID = "5894985f-91eb-46db-9306-cc5ac6463d3d"
HTTP_REQUEST_UUID = "40bcf3c0-aa8b-4111-9b4e-f3caffccb4e5"
BLOCK_UUID_KEYS = {"trigger": "trigger_uuid", "action": "action_uuid"}


class PlaybookError(Exception):
    """A playbook that cannot be read or ordered."""


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
