"""The checks of a playbook (`python -m lab check`): structure against the bundled schema, identity, trigger, outputs,
cycles, reachability, template references, blocks and their arguments; every problem found, in a stable order."""

import json
import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import jinja2
from jsonschema import Draft7Validator

from lab.tools.playbook import (
    BLOCK_UUID_KEYS,
    Block,
    Catalogue,
    Node,
    Playbook,
    PlaybookError,
    load_playbook,
    node_id_key,
)
from lab.tools.templating import is_template, referenced_nodes

SCHEMA_PATH = Path(__file__).resolve().parents[1] / "schemas" / "sekoiaio_playbooks.schema.json"
NODE_ID = re.compile(r"^[0-9]+$")


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
