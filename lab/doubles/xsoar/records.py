"""What the simulated XSOAR stores and answers: its constants, the shapes of requests (webhook, REST bodies,
war-room entries) and of answers, and its refusals."""

import json
import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from aiohttp import BasicAuth, web
from aiohttp.typedefs import Handler, Middleware

from xsoar_module.mapping.create_request import CREATE_REQUEST_FIELDS

Mapper = Callable[[Any, str], dict[str, Any]]  # (raw JSON, incident type) -> incident fields

WEBHOOK_NAME = "Generic webhook triggered incident"
DEFAULT_TYPE = "Unclassified"
AUTH_FAILED = "Authorization failed."
NOT_FOUND_PAGE = (
    "<!DOCTYPE html><html><head><title>404 Not Found</title></head>"
    "<body><h1>404 Not Found</h1><p>The requested URL was not found on this server.</p></body></html>"
)
WEBHOOK_TEXT_KEYS = ("name", "type", "occurred")
SERVER_KEYS = ("id", "version", "created", "modified")  # set by the server, whatever a create body says
# What an update (`POST /incident` with id + version) leaves alone: a closure and a reopening have their own calls
UPDATE_IGNORED = ("status", "closed", "closingUserId", "investigationId", "createInvestigation")
STALE_VERSION, STALE_STATUS = "DB version conflict", 409  # a stale version's refusal: shape and status unconfirmed
REST_PREFIXES = ("", "/xsoar", "/xsoar/public/v1")
STATUS_PENDING, STATUS_ACTIVE, STATUS_CLOSED = 0, 1, 2
SIMULATOR_KEYS = ("source", "entries", "activity")  # kept on stored incidents, never answered
ZERO_TIME = "0001-01-01T00:00:00Z"  # what XSOAR answers for a time not set (e.g. `closed` of an open incident)
ENTRY_REGULAR, ENTRY_ERROR = 1, 4  # entry types: a regular entry (chat, note, command output), an error
DEFAULT_PERSON = "analyst"
REOPEN_COMMAND = "!reopenInvestigation"
CLOSED_INVESTIGATION = "In case of closed investigation"  # the swagger's 412 for entries and commands
PLAYGROUND_ID = "playground-7c1e"


@dataclass(frozen=True)
class Call:
    """A REST request as an operation sees it: the JSON body, the user the API key acts as, the path's parameters."""

    body: Any
    user: str
    params: dict[str, str]


Operation = Callable[[Call], tuple[int, Any]]


class Refusal(Exception):
    """A request XSOAR refuses: a status and its reason."""

    def __init__(self, message: str, status: int = 400):
        super().__init__(message)
        self.status = status


def xsoar_time(epoch: float) -> str:
    """`epoch` as XSOAR writes a time: UTC, microseconds with trailing zeros dropped (`...17.48233Z`), so that texts
    of times do not sort as the times do."""
    moment = datetime.fromtimestamp(epoch, UTC)
    seconds = moment.strftime("%Y-%m-%dT%H:%M:%S")
    fraction = f"{moment.microsecond:06d}".rstrip("0")
    return f"{seconds}.{fraction}Z" if fraction else f"{seconds}Z"


def is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def webhook_item(body: bytes) -> dict[str, Any]:
    """The webhook body checked as the integration's request model does (422 otherwise), before any credential."""
    try:
        item = json.loads(body)
    except ValueError:
        raise Refusal("JSON decode error", 422) from None
    if not isinstance(item, dict):
        raise Refusal("Input should be a valid dictionary or object to extract fields from", 422)
    for key in WEBHOOK_TEXT_KEYS:
        if item.get(key) is not None and not isinstance(item[key], str):
            raise Refusal(f"{key}: Input should be a valid string", 422)
    if item.get("raw_json") is not None and not isinstance(item["raw_json"], dict):
        raise Refusal("raw_json: Input should be a valid dictionary", 422)
    return item


def webhook_incident(item: dict[str, Any], headers: dict[str, str], incident_type: str) -> dict[str, Any]:
    """What the integration hands to XSOAR: `name`, `type`, `occurred` (null when absent) and `rawJSON` =
    `raw_json` (or the whole body) plus the request headers."""
    raw = item.get("raw_json") or item
    return {
        "name": item.get("name") or WEBHOOK_NAME,
        "type": item.get("type") or incident_type,
        "occurred": item.get("occurred"),
        "rawJSON": json.dumps(raw | {"headers": headers}),
    }


def unprocessable(refusal: "Refusal") -> web.Response:
    """A 422 as the integration's web framework words it."""
    return web.json_response({"detail": [{"loc": ["body"], "msg": str(refusal)}]}, status=422)


def rest_incident(body: Any, strict: bool) -> dict[str, Any]:
    """The fields of a REST `POST /incident` body, checked as XSOAR would; strict: create-request fields only."""
    if not isinstance(body, dict):
        raise Refusal("the incident must be a JSON object")
    kept = (key for key in body if (key in CREATE_REQUEST_FIELDS or not strict) and key not in SERVER_KEYS)
    fields = {key: body[key] for key in kept if body[key] is not None}
    if not isinstance(fields.get("name"), str) or not fields["name"]:
        raise Refusal("incident name is required and must be a string")
    severity = fields.get("severity", 0)
    if not (is_number(severity) and math.isfinite(severity) and 0 <= severity <= 4):
        raise Refusal(f"invalid severity {str(severity)[:40]!r}: a number from 0 (unknown) to 4 (critical)")
    for key, kind in (("rawJSON", str), ("labels", list), ("CustomFields", dict)):
        if key in fields and not isinstance(fields[key], kind):
            raise Refusal(f"{key} must be a {'string' if kind is str else 'JSON ' + kind.__name__}")
    return fields


def public(incident: dict[str, Any]) -> dict[str, Any]:
    """The incident as XSOAR answers it."""
    return {key: value for key, value in incident.items() if key not in SIMULATOR_KEYS}


def summarize(incident: dict[str, Any]) -> dict[str, Any]:
    """One line of `XsoarSimulator.summary()`: custom fields first, the raw JSON otherwise."""
    try:
        raw = json.loads(incident["rawJSON"] or "{}")
    except ValueError:
        raw = {}
    raw = raw if isinstance(raw, dict) else {}
    fields = incident["CustomFields"]
    events = raw.get("events")
    return {
        "id": incident["id"],
        "source": incident["source"],
        "name": incident["name"],
        "severity": incident["severity"],
        "alertId": fields.get("alertid", raw.get("alertId")),
        "alertUrl": fields.get("sekoiaioalerturl", raw.get("alertUrl")),
        "events": len(events) if isinstance(events, list) else 0,
        "type": incident["type"],
        "urgency": fields.get("sekoiaiourgencyband"),
        "status": fields.get("sekoiaiostatus"),
        "closeReason": incident.get("closeReason") or None,
        "fields": len(fields),
    }


def basic_credentials(header: str | None) -> tuple[str, str] | None:
    try:
        auth = BasicAuth.decode(header or "")
    except ValueError:
        return None
    return auth.login, auth.password


def recording_middleware(log: list[dict[str, Any]]) -> Middleware:
    """Log every request as it arrives; its status once answered (None until then, and for a dropped connection)."""

    @web.middleware
    async def record(request: web.Request, handler: Handler) -> web.StreamResponse:
        entry: dict[str, Any] = {
            "method": request.method,
            "path": request.path,
            "headers": {str(name): value for name, value in request.headers.items()},
            "body": await request.read(),
            "status": None,
        }
        log.append(entry)
        try:
            response = await handler(request)
        except web.HTTPException as exc:
            entry["status"] = exc.status
            raise
        entry["status"] = response.status
        return response

    return record


def command_argument(command: str, name: str) -> str | None:
    """The value of `name=<value>` (or `name="<value>"`) in a war-room command line."""
    found = re.search(rf'\s{re.escape(name)}=(?:"([^"]*)"|(\S+))', command)
    return (found.group(1) if found.group(1) is not None else found.group(2)) if found else None


def playground_investigation() -> dict[str, Any]:
    """The Playground: an open investigation that is no incident (searches do not list it)."""
    return {"id": PLAYGROUND_ID, "investigationId": PLAYGROUND_ID, "status": STATUS_ACTIVE, "entries": []}


def entry_body(body: Any) -> dict[str, Any]:
    """An UpdateEntry body: `investigationId`, `data` (a string), `markdown` (default false)."""
    if not isinstance(body, dict) or not isinstance(body.get("data"), str):
        raise Refusal("an entry needs investigationId and data (a string)")
    return {
        "investigationId": body.get("investigationId"),
        "data": body["data"],
        "markdown": bool(body.get("markdown")),
    }
