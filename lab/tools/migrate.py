"""Rewrite a playbook built like the documentation's template with this module's blocks.

Sekoia.io's Alert Created / Get Alert / Get events become this module's blocks (same node ids, same
arguments where they apply); the HTTP request to the XSOAR Generic Webhook becomes Create Incident, which
reads the alert and events from the same nodes. What cannot be carried over is told in the notes.

With `two_blocks`, the Get Alert and Get events nodes before the request are left out: Create Incident reads the
alert from the trigger's file and fetches its events itself (one block process instead of three after the trigger).
"""

import copy
import json
import re
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from lab.tools.playbook import (
    BLOCK_UUID_KEYS,
    HTTP_MODULE_UUID,
    HTTP_REQUEST_UUID,
    SEKOIA_ALERT_CREATED_UUID,
    SEKOIA_GET_ALERT_UUID,
    SEKOIA_GET_EVENTS_UUID,
    SEKOIA_MODULE_UUID,
    Block,
    Catalogue,
    Node,
    Playbook,
    PlaybookError,
    dump_playbook,
    load_playbook,
    node_id_key,
)

SEKOIA_BLOCKS = {
    SEKOIA_ALERT_CREATED_UUID: "Alert Created",
    SEKOIA_GET_ALERT_UUID: "Get Alert",
    SEKOIA_GET_EVENTS_UUID: "Get Events",
}
HIDDEN = "***"  # what a note prints in place of a URL part that may hold a credential
COMPUTED_KEYS = ("occurred", "alertId", "alertUrl", "urgency", "severity", "events")
HTTP_NOTES = {
    "json": None,
    "headers": None,
    "url": None,
    "method": "method: Create Incident always POSTs",
    "fail_on_http_error": "fail_on_http_error: Create Incident always fails on an HTTP error (after its retries)",
}
JINJA = re.compile(r"\{\{.*?\}\}|\{%.*?%\}|\{#.*?#\}", re.DOTALL)
HELD = re.compile(r"@@jinja(\d+)@@")
STRING_OR_HELD = re.compile(r'"(?:[^"\\]|\\.)*"|@@jinja\d+@@')
SEEN_TIME = re.compile(
    r"""node(?:\.(?P<dotted>\w+)|\[['"]?(?P<indexed>\w+)['"]?\])\.(?P<field>first_seen_at|last_seen_at)\b"""
)
WINDOW_FIELDS = {"first_seen_at": "events_earliest_time", "last_seen_at": "events_latest_time"}
NODE_FIELD = re.compile(
    r"""node(?:\.(?P<dotted>\w+)|\[['"]?(?P<indexed>\w+)['"]?\])(?:\.(?P<field>\w+)|\[['"](?P<key>\w+)['"]\])?"""
)
# Get Alert's fields that Alert Created's event carries with the same meaning (Get Alert's uuid is its alert_uuid)
SAME_IN_TRIGGER = ("short_id", "rule", "status", "entity", "alert_type", "created_at", "first_seen_at", "last_seen_at")
TRIGGER_FIELDS = {name: name for name in SAME_IN_TRIGGER} | {"uuid": "alert_uuid"}


class MigrationError(Exception):
    """A playbook that cannot be migrated."""


@dataclass(frozen=True)
class Migration:
    """The migrated playbook document and what the user must know or do."""

    playbook: dict[str, Any]
    notes: list[str]


def migrate_file(source: Path | str, target: Path | str, catalogue: Catalogue, two_blocks: bool = False) -> Migration:
    """Migrate the playbook file `source` and write the result to `target`."""
    try:
        document = load_playbook(source).document
    except PlaybookError as exc:
        raise MigrationError(str(exc)) from None
    migration = migrate_playbook(document, catalogue, two_blocks)
    Path(target).write_text(dump_playbook(migration.playbook))
    return migration


def migrate_playbook(document: dict[str, Any], catalogue: Catalogue, two_blocks: bool = False) -> Migration:
    """The playbook with this module's blocks, and notes on what was not carried over; with `two_blocks`, without
    the Get Alert and Get events nodes that only fetched for the XSOAR request."""
    try:
        playbook = Playbook.from_document(document)
    except PlaybookError as exc:
        raise MigrationError(str(exc)) from None
    migrated = copy.deepcopy(document)
    notes: list[str] = []
    left_out = _fetches_before_xsoar(playbook) if two_blocks else {}
    changed = len(left_out)
    for node in playbook.nodes.values():
        label = f"node {node.id} ({node.name})"
        if node.id in left_out:
            del migrated["nodes"][node.id]
        elif node.module_uuid == SEKOIA_MODULE_UUID and node.block_uuid in SEKOIA_BLOCKS:
            block = _native(catalogue, SEKOIA_BLOCKS[node.block_uuid])
            migrated["nodes"][node.id] = _use_block(migrated["nodes"][node.id], block, label, notes)
            if node.block_uuid == SEKOIA_GET_EVENTS_UUID:
                _use_window_fields(migrated["nodes"][node.id], _get_alert_nodes(playbook), label, notes)
                _expect_alert_events(migrated["nodes"][node.id], _last_before(playbook, node, SEKOIA_GET_ALERT_UUID))
            changed += 1
        elif (node.module_uuid, node.block_uuid) == (HTTP_MODULE_UUID, HTTP_REQUEST_UUID) and _is_xsoar_call(node):
            block = _native(catalogue, "Create Incident")
            migrated["nodes"][node.id] = _create_incident_node(playbook, node, block, label, notes, two_blocks)
            changed += 1
        elif node.module_uuid != catalogue.module_uuid:
            notes.append(f"{label}: left as is, not a block of the documentation's template")
    if not changed:
        raise MigrationError("no block of the documentation's template (Sekoia.io module, HTTP request) to migrate")
    if left_out:
        _leave_out(migrated, playbook, left_out, notes)
    migrated["uuid"] = _new_uuid(catalogue.module_uuid, document.get("uuid"), two_blocks)
    notes.append(f"new playbook uuid {migrated['uuid']}, so the migrated playbook can be imported beside the original")
    return Migration(playbook=migrated, notes=notes)


def _native(catalogue: Catalogue, name: str) -> Block:
    try:
        return catalogue.native(name)
    except PlaybookError as exc:
        raise MigrationError(str(exc)) from None


def _new_uuid(module_uuid: str, original: Any, two_blocks: bool) -> str:
    """Stable for a playbook, and distinct for its two migrations, which can then be imported side by side."""
    return str(uuid.uuid5(uuid.UUID(module_uuid), f"migrated {original}" + (" to two blocks" if two_blocks else "")))


def _use_block(raw: dict[str, Any], block: Block, label: str, notes: list[str]) -> dict[str, Any]:
    """The node with `block` instead of its Sekoia.io block, keeping the arguments the block has."""
    properties = block.arguments.get("properties") or {}
    node = {key: value for key, value in raw.items() if key != "icon"}
    node |= {BLOCK_UUID_KEYS[block.kind]: block.uuid, "module_uuid": block.module_uuid}
    if "arguments" in raw:
        node["arguments"] = {name: value for name, value in raw["arguments"].items() if name in properties}
        for name in raw["arguments"]:
            if name not in properties:
                notes.append(f"{label}: argument {name!r} has no equivalent in {block.name}: dropped")
    return node


def _get_alert_nodes(playbook: Playbook) -> set[str]:
    return {
        key
        for key, node in playbook.nodes.items()
        if (node.module_uuid, node.block_uuid) == (SEKOIA_MODULE_UUID, SEKOIA_GET_ALERT_UUID)
    }


def _use_window_fields(raw: dict[str, Any], get_alerts: set[str], label: str, notes: list[str]) -> None:
    """`node.1.first_seen_at` / `last_seen_at` of Get Alert -> its never-null `events_earliest_time` /
    `events_latest_time`: real alerts often have no `last_seen_at`, and old ones no seen times at all."""

    def window_field(found: re.Match) -> str:
        if (found["dotted"] or found["indexed"]) not in get_alerts:
            return found.group()
        return found.group()[: found.start("field") - found.start()] + WINDOW_FIELDS[found["field"]]

    arguments = raw.get("arguments") or {}
    for name, value in arguments.items():
        if isinstance(value, str) and (rewritten := SEEN_TIME.sub(window_field, value)) != value:
            arguments[name] = rewritten
            notes.append(
                f"{label}: {name}: the alert's seen time became {rewritten!r}, the window Get Alert computes "
                "(never null, unlike last_seen_at)"
            )


def _expect_alert_events(raw: dict[str, Any], get_alert: str | None) -> None:
    """Get Events waits for as many events as the alert has (Get Alert's `similar`): Sekoia.io indexes them late."""
    if get_alert is not None and "arguments" in raw:
        raw["arguments"]["expected_events"] = f"{{{{ node.{get_alert}.similar }}}}"


def _is_xsoar_call(node: Node) -> bool:
    """An HTTP request to a Generic Webhook (`/instance/execute/`) or posting the documentation's alertId."""
    body = _json_body(node.arguments.get("json"))
    return "/instance/execute/" in str(node.arguments.get("url", "")) or bool(body and "alertId" in body)


def _create_incident_node(
    playbook: Playbook, node: Node, block: Block, label: str, notes: list[str], two_blocks: bool
) -> dict:
    """Create Incident in place of the HTTP request, fed by the Sekoia.io nodes that run before it (with
    `two_blocks`, by the trigger's alert file, fetching the events itself)."""
    arguments: dict[str, Any]
    if two_blocks:
        trigger = _trigger_before(playbook, node, label)
        arguments = {"alert_path": f"{{{{ node.{trigger}.file_path }}}}", "fetch_events": True}
    else:
        arguments = {**_alert_source(playbook, node, label), **_events_source(playbook, node, label, notes)}
    arguments |= _body_arguments(node.arguments.get("json"), label, notes)
    _note_http_arguments(node.arguments, label, notes)
    raw = playbook.document["nodes"][node.id]
    return {
        "name": raw.get("name", block.name),
        "type": "action",
        "outputs": raw.get("outputs", {"default": []}),
        "arguments": arguments,
        "action_uuid": block.uuid,
        "module_uuid": block.module_uuid,
    }


def _last_before(playbook: Playbook, node: Node, block_uuid: str) -> str | None:
    found = [
        key
        for key in playbook.ancestors(node.id)
        if (playbook.nodes[key].module_uuid, playbook.nodes[key].block_uuid) == (SEKOIA_MODULE_UUID, block_uuid)
    ]
    return max(found, key=node_id_key) if found else None


def _trigger_before(playbook: Playbook, node: Node, label: str) -> str:
    if (trigger := _last_before(playbook, node, SEKOIA_ALERT_CREATED_UUID)) is None:
        raise MigrationError(f"{label}: no Alert Created runs before it: two blocks need the trigger's alert file")
    return trigger


def _fetches_before_xsoar(playbook: Playbook) -> dict[str, str | None]:
    """The Get Alert and Get events nodes that run before an XSOAR request, with the trigger each one follows."""
    fetches = {(SEKOIA_MODULE_UUID, SEKOIA_GET_ALERT_UUID), (SEKOIA_MODULE_UUID, SEKOIA_GET_EVENTS_UUID)}
    found: dict[str, str | None] = {}
    for node in playbook.nodes.values():
        if (node.module_uuid, node.block_uuid) == (HTTP_MODULE_UUID, HTTP_REQUEST_UUID) and _is_xsoar_call(node):
            for key in playbook.ancestors(node.id):
                ancestor = playbook.nodes[key]
                if (ancestor.module_uuid, ancestor.block_uuid) in fetches:
                    found[key] = _last_before(playbook, ancestor, SEKOIA_ALERT_CREATED_UUID)
    return found


def _leave_out(
    migrated: dict[str, Any], playbook: Playbook, left_out: dict[str, str | None], notes: list[str]
) -> None:
    """Link each node to what the left-out nodes led to, and read from the trigger what they read from Get Alert."""

    def expand(targets: list[str]) -> list[str]:
        return [
            found
            for target in targets
            for found in (expand(playbook.nodes[target].successors) if target in left_out else [target])
        ]

    for key, raw in migrated["nodes"].items():
        label = f"node {key} ({raw.get('name', '')})"
        if isinstance(raw.get("outputs"), dict):
            raw["outputs"] = {
                name: list(dict.fromkeys(expand([str(target) for target in targets])))
                for name, targets in raw["outputs"].items()
                if isinstance(targets, list)
            }
        if "arguments" in raw:
            raw["arguments"] = _without_left_out(raw["arguments"], playbook, left_out, label)
    names = ", ".join(f"{key} ({playbook.nodes[key].name})" for key in sorted(left_out, key=node_id_key))
    notes.append(
        f"two blocks: nodes {names} left out: Create Incident reads the alert from the trigger's file and fetches "
        "its events itself (fetch_events)"
    )


def _without_left_out(value: Any, playbook: Playbook, left_out: dict[str, str | None], label: str) -> Any:
    """`value` reading the trigger's event where it read a left-out Get Alert's field that the event carries."""
    if isinstance(value, dict):
        return {key: _without_left_out(item, playbook, left_out, label) for key, item in value.items()}
    if isinstance(value, list):
        return [_without_left_out(item, playbook, left_out, label) for item in value]
    if not isinstance(value, str):
        return value

    def from_trigger(found: re.Match) -> str:
        key = found["dotted"] or found["indexed"]
        if key not in left_out:
            return found.group()
        field = found["field"] or found["key"]
        trigger = left_out[key]
        if playbook.nodes[key].block_uuid != SEKOIA_GET_ALERT_UUID or field not in TRIGGER_FIELDS or trigger is None:
            raise MigrationError(
                f"{label}: {found.group()!r} reads node {key} ({playbook.nodes[key].name}), which two blocks leave "
                "out and the trigger's event does not replace: migrate without --two-blocks"
            )
        return f"node.{trigger}.{TRIGGER_FIELDS[field]}"

    return NODE_FIELD.sub(from_trigger, value)


def _alert_source(playbook: Playbook, node: Node, label: str) -> dict[str, Any]:
    if (get_alert := _last_before(playbook, node, SEKOIA_GET_ALERT_UUID)) is not None:
        return {"alert": f"{{{{ node.{get_alert} }}}}"}
    if (trigger := _last_before(playbook, node, SEKOIA_ALERT_CREATED_UUID)) is not None:
        return {"alert_path": f"{{{{ node.{trigger}.file_path }}}}"}
    raise MigrationError(
        f"{label}: neither Get Alert nor Alert Created runs before it: which alert to send is unknown"
    )


def _events_source(playbook: Playbook, node: Node, label: str, notes: list[str]) -> dict[str, Any]:
    if (get_events := _last_before(playbook, node, SEKOIA_GET_EVENTS_UUID)) is not None:
        return {
            "events": f"{{{{ node.{get_events}.events }}}}",
            "events_missing": f"{{{{ node.{get_events}.events_missing }}}}",
        }
    notes.append(f"{label}: no Get events node before it: Create Incident fetches the alert's events (fetch_events)")
    return {"fetch_events": True}


def _body_arguments(template: Any, label: str, notes: list[str]) -> dict[str, Any]:
    """Create Incident's name, incident_type and fields from the webhook body template."""
    body = _json_body(template)
    if body is None:
        notes.append(f"{label}: the JSON body could not be read: set name and fields by hand if needed")
        return {}
    arguments: dict[str, Any] = {}
    if "name" in body:
        arguments["name"] = body.pop("name")
    if "type" in body:
        arguments["incident_type"] = body.pop("type")
    computed = [key for key in COMPUTED_KEYS if key in body]
    for key in computed:
        del body[key]
    if computed:
        notes.append(
            f"{label}: {', '.join(computed)} are built by Create Incident from the alert (the urgency becomes a "
            "numeric XSOAR severity; events are kept even when there are none)"
        )
    if body:
        arguments["fields"] = body
        notes.append(f"{label}: the other body keys ({', '.join(body)}) are passed as Create Incident's fields")
    return arguments


def _json_body(template: Any) -> dict[str, Any] | None:
    """The body template as a dict of (template) values: Jinja is held aside while the JSON is parsed."""
    if isinstance(template, dict):
        return dict(template)
    if not isinstance(template, str):
        return None
    held: list[str] = []

    def hold(match: re.Match) -> str:
        held.append(match.group())
        return f"@@jinja{len(held) - 1}@@"

    text = JINJA.sub(hold, template)
    text = STRING_OR_HELD.sub(lambda match: match.group() if match.group()[0] == '"' else f'"{match.group()}"', text)
    try:
        body = json.loads(text)
    except json.JSONDecodeError:
        return None
    return _restore(body, held) if isinstance(body, dict) else None


def _restore(value: Any, held: list[str]) -> Any:
    if isinstance(value, dict):
        return {_restore(key, held): _restore(item, held) for key, item in value.items()}
    if isinstance(value, list):
        return [_restore(item, held) for item in value]
    if isinstance(value, str):
        return HELD.sub(lambda match: held[int(match.group(1))], value)
    return value


def _shown_url(url: Any) -> str:
    """A URL as a note prints it: its user information and query values masked, as either may hold a credential."""
    try:
        parts = urlsplit(str(url))
    except ValueError:
        return "the old block's url (not shown: it cannot be read as a URL)"
    host = parts.netloc.rpartition("@")[2]
    netloc = f"{HIDDEN}@{host}" if "@" in parts.netloc else host
    query = "&".join(
        f"{name}={HIDDEN}" if equals else HIDDEN
        for name, equals, _ in (item.partition("=") for item in parts.query.split("&") if item)
    )
    fragment = HIDDEN if parts.fragment else ""
    return urlunsplit((parts.scheme, netloc, parts.path, query, fragment))


def _note_http_arguments(arguments: dict[str, Any], label: str, notes: list[str]) -> None:
    if "url" in arguments:
        notes.append(
            f"{label}: url: set the module configuration's xsoar_url to {_shown_url(arguments['url'])} "
            f"(xsoar_mode webhook; {HIDDEN} marks what is not printed: credentials go in xsoar_token or "
            "xsoar_username/xsoar_password, never in the URL)"
        )
    for header in arguments.get("headers") or {}:
        if header.lower() == "authorization":
            notes.append(
                f"{label}: the token of the Authorization header is not carried over: put it in the module "
                "configuration's xsoar_token (a secret), not in the playbook"
            )
        else:
            notes.append(f"{label}: header {header!r} is not carried over (Create Incident sends its own headers)")
    for name in arguments:
        if name not in HTTP_NOTES:
            notes.append(f"{label}: HTTP argument {name!r} is not carried over")
        elif HTTP_NOTES[name]:
            notes.append(f"{label}: {HTTP_NOTES[name]}")
