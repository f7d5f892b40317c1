"""A simulated Cortex XSOAR on 127.0.0.1: the Generic Webhook and the REST API incident calls, on one port.

Served paths (the project's XSOAR reference, §1, §2 and §2b):
- webhook: `POST /instance/execute/<instance>` (XSOAR 6) and `POST /xsoar/instance/execute/<instance>` (XSOAR 8),
  as Palo Alto's Generic Webhook behaves: the body is checked first (one object, not an array; `name`, `type`,
  `occurred` strings or null; `raw_json` an object or null: else 422), then the instance's one credentials scheme
  (401); rawJSON is `raw_json` or the whole body, plus the request headers without the auth header; `type`
  defaults to the instance's incident type, an absent `occurred` stays null; the instance's incoming mapper
  (`mapper`: by default the content pack's, `lab/xsoar_mapper.py`) sets the other fields;
- REST: `POST /incident`, `/incidents/search`, `/incident/batchClose`, `/entry`, `/entry/note`, `/entry/execute/sync`,
  `/investigation/{id}` at the root (XSOAR 6, header `Authorization: <key>`) and under `/xsoar` and
  `/xsoar/public/v1` (XSOAR 8, plus `x-xdr-auth-id: <key id>`).

Sync (demisto-py 3.2.10's swagger is the yardstick): `batchClose` `{"ids", "closeReason", "closeNotes",
"CustomFields"}` sets status 2, `closed`, `closeReason`, `closeNotes`, `closingUserId` and answers `{"total", "data",
"notUpdated"}`. `/entry` (UpdateEntry `{"investigationId", "data", "markdown"}`) adds a war-room entry `{"id":
"<n>@<investigation>", "investigationId", "type": 1, "contents", "format": "markdown" | "text", "note", "user",
"created", "modified", "version", "tags"}`; `/entry/note` `{"id", "investigationId", "data": "true" | "false"}` marks
it a note. A closed investigation refuses `/entry` and `/entry/execute/sync` with 412 `In case of closed investigation`
(the swagger). The swagger has no call that reads entries nor a reopen: `/entry/execute/sync` (the swagger's
"investigation_add_entries_sync", UpdateEntry, answers a list of entries) runs `!reopenInvestigation [id=<incident>]`
(xsoar.pan.dev: the incident `id`, by default the investigation's own) from an open investigation, e.g. the Playground
(`playground_id`, an investigation that is no incident) (error entry, type 4, for another command, an unknown incident
or one not closed; plain text is a chat entry), and `POST /investigation/{id}` (outside the swagger; Palo Alto's
XSOAR-to-XSOAR mirroring reads it with `pageSize` and `fromTime`) answers the investigation with `entries` created at
or after `fromTime`, newest first (`pageSize` keeps the newest: the real order is unconfirmed, this one is the least
helpful to a reader expecting oldest first) and `users`. An incident created without `createInvestigation` has no war
room: its entries answer 400 `Could not find investigation`. Every change sets `modified` and `version`; searches take
`field:>="<ISO>"` (`>=`, `<=`, `>`, `<` on times, numbers or texts) and `field:*` (has a value) in queries, the
filter's `fromDate`/`toDate` (creation time), `fromClosedDate`/`toClosedDate`, `id`, `status`, `notStatus` lists and
`sort` (`[{"field", "asc"}]`). Authorship: each API key acts as a user (`api_user`, `add_api_key`), a person's changes
(`close_as_person`, `reopen_as_person`, `note_as_person`) as their name; `closingUserId`, an entry's `user` and the
simulator-only `activity` of a stored incident (`incident(id)`) say who changed what.

`POST /incident` follows the published swagger (the one Palo Alto's demisto-py is generated from): strict (the
default), it keeps only the keys of the create request, so `dbotMirrorId` is dropped unless under `CustomFields`;
lenient (`strict=False`), it keeps every top-level key. Searches understand `field:"value"` / `field:value` terms
(top-level fields and custom fields, names case-insensitive) joined by `and` or a space (and), and by `or` only with
`query_or=True` (no real query found uses `or`: refused by default); anything else is refused (400) rather than
matching everything.

Choices where XSOAR's behaviour is unconfirmed or left out: `POST /incident` answers `create_status` (200, the
swagger's); a search finding nothing answers `"data": []` (a real server may answer `null`); results come in creation
order; `severity` must be a number from 0 to 4; `POST /incident` without `id` creates (`version`, `created`, `modified`
of the body are the server's: ignored); with `id` and `version` it updates the incident's fields (`CustomFields`
merged; status and closure left to their own calls), a stale `version` answers 409 "DB version conflict" (XSOAR refuses
a stale version; its status and wording are unconfirmed), an unknown `id` 400; `null` fields of a REST body count as
absent; which user a real API key's changes are recorded as (DBot, the key's creator) is unconfirmed, so tell one's own
changes by a marker rather than by the user alone; a reopen clears `closed` (to XSOAR's zero time) and `closingUserId`
but keeps `closeReason`/`closeNotes`; closing a closed incident closes it again; an entry does not move the incident's
`modified` unless `entries_touch_incidents` is set; times carry microseconds without trailing zeros, as XSOAR writes
them.
"""

import argparse
import json
import math
import re
import ssl
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from aiohttp import BasicAuth, web
from aiohttp.typedefs import Handler, Middleware

from lab.faults import FaultPlan
from lab.server import BackgroundServer, Interrupts, LocalService, PortInUseError, fault_middleware
from lab.xsoar_mapper import INCIDENT_TYPE, map_raw_json
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
QUERY_TOKEN = re.compile(
    r"\s*(?:(?P<op>and|or)(?=\s)|(?P<field>[A-Za-z_][\w.]*):(?P<cmp>>=|<=|>|<)?"
    r'(?:"(?P<quoted>(?:[^"\\]|\\.)*)"|(?P<bare>[^\s"<>=][^\s"]*)))\s*',
    re.IGNORECASE,
)
DEFAULT_PAGE_SIZE = 50
STATUS_PENDING, STATUS_ACTIVE, STATUS_CLOSED = 0, 1, 2
SIMULATOR_KEYS = ("source", "entries", "activity")  # kept on stored incidents, never answered
ZERO_TIME = "0001-01-01T00:00:00Z"  # what XSOAR answers for a time not set (e.g. `closed` of an open incident)
ENTRY_REGULAR, ENTRY_ERROR = 1, 4  # entry types: a regular entry (chat, note, command output), an error
DEFAULT_PERSON = "analyst"
REOPEN_COMMAND = "!reopenInvestigation"
CLOSED_INVESTIGATION = "In case of closed investigation"  # the swagger's 412 for entries and commands
PLAYGROUND_ID = "playground-7c1e"
COMPARISONS: dict[str, Callable[[Any, Any], bool]] = {
    "": lambda a, b: a == b,
    ">=": lambda a, b: a >= b,
    "<=": lambda a, b: a <= b,
    ">": lambda a, b: a > b,
    "<": lambda a, b: a < b,
}
DATE_FILTERS = {  # IncidentFilter bounds -> (incident field, inclusive comparison)
    "fromDate": ("created", ">="),
    "toDate": ("created", "<="),
    "fromClosedDate": ("closed", ">="),
    "toClosedDate": ("closed", "<="),
}


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


def now() -> str:
    """The time as XSOAR writes it: UTC, microseconds with trailing zeros dropped (`...17.48233Z`), so that texts of
    times do not sort as the times do."""
    moment = datetime.now(UTC)
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


Term = tuple[str, str, str]  # (field, comparison: "" or >=, <=, >, <, * (has a value), value)
PRESENT = "*"


def parse_query(query: str, allow_or: bool = True) -> list[list[Term]]:
    """`a:"1" and b:>=2 or c:3` -> [[(a, "", 1), (b, ">=", 2)], [(c, "", 3)]]: OR of ANDs (a space is an and); []
    selects all. Without `allow_or`, `or` is refused: no real query found uses it (unconfirmed)."""
    groups: list[list[Term]] = [[]]
    position = 0
    while position < len(query.rstrip()):
        token = QUERY_TOKEN.match(query, position)
        if token is None:
            raise Refusal(f'unsupported query near {query[position:position + 40]!r}: use field:"value" terms')
        position = token.end()
        if token["op"] and token["op"].lower() == "or":
            if not allow_or:
                raise Refusal(f"unsupported query {query[:80]!r}: 'or' is not confirmed in XSOAR's query language")
            groups.append([])
        elif token["field"]:
            if token["bare"] == "*" and not token["cmp"]:  # field:* = the field has a value
                groups[-1].append((token["field"], PRESENT, ""))
                continue
            value = token["quoted"] if token["quoted"] is not None else token["bare"]
            groups[-1].append((token["field"], token["cmp"] or "", re.sub(r"\\(.)", r"\1", value)))
    if any(not group for group in groups) and query.strip():
        raise Refusal(f"unsupported query {query[:80]!r}: an operator without a term")
    return [group for group in groups if group]


def field_value(incident: dict[str, Any], field: str) -> Any:
    """A top-level field or a custom field (machine name), names compared case-insensitively."""
    wanted = field.lower()
    for source in (incident, incident.get("CustomFields") or {}):
        for key, value in source.items():
            if key.lower() == wanted and key != "CustomFields":
                return value
    return None


def as_text(value: Any) -> str | None:
    if value is None or isinstance(value, (dict, list)):
        return None
    if is_number(value) and float(value).is_integer():
        return str(int(value))
    return str(value)


def parse_time(value: Any) -> datetime | None:
    """An ISO-8601 time (UTC when it has no zone), None otherwise."""
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def comparable(value: Any, wanted: str) -> tuple[Any, Any] | None:
    """Both sides of a comparison as times, numbers or texts (the first that fits); None when not comparable."""
    for convert in (parse_time, as_float):
        left, right = convert(value), convert(wanted)
        if left is not None and right is not None:
            return left, right
    text = as_text(value)
    return (text, wanted) if text is not None else None


def as_float(value: Any) -> float | None:
    try:
        return float(value) if not isinstance(value, bool) else None
    except (TypeError, ValueError):
        return None


def term_matches(incident: dict[str, Any], term: Term) -> bool:
    field, comparison, wanted = term
    value = field_value(incident, field)
    if comparison == PRESENT:
        return value not in (None, "", [], {})
    if not comparison:
        return as_text(value) == wanted
    sides = comparable(value, wanted)
    return sides is not None and COMPARISONS[comparison](*sides)


def matches(incident: dict[str, Any], groups: list[list[Term]]) -> bool:
    if not groups:
        return True
    return any(all(term_matches(incident, term) for term in group) for group in groups)


def filter_terms(search: dict[str, Any]) -> list[Term]:
    """The IncidentFilter's time bounds as terms: `fromDate`/`toDate` (creation), `fromClosedDate`/`toClosedDate`;
    400 for a bound that is not a time."""
    terms: list[Term] = []
    for key, (field, comparison) in DATE_FILTERS.items():
        if search.get(key) is not None:
            if parse_time(search[key]) is None:
                raise Refusal(f"{key}: {str(search[key])[:40]!r} is not a date-time")
            terms.append((field, comparison, search[key]))
    return terms


def in_lists(incident: dict[str, Any], search: dict[str, Any]) -> bool:
    """The incident passes the filter's `id`, `status` and `notStatus` lists (absent or empty: no constraint)."""
    for key, field, wanted in (("id", "id", True), ("status", "status", True), ("notStatus", "status", False)):
        values = search.get(key)
        if values and (as_text(incident.get(field)) in {as_text(v) for v in values}) != wanted:
            return False
    return True


def sort_key(field: str) -> Callable[[dict[str, Any]], tuple]:
    """Times, then numbers, then texts; absent values last whatever the direction (XSOAR's order is unconfirmed)."""

    def key(incident: dict[str, Any]) -> tuple:
        value = field_value(incident, field)
        moment, number = parse_time(value), as_float(value)
        if moment is not None:
            return (0, moment.timestamp(), "")
        return (0, number, "") if number is not None else (0 if value else 1, 0, as_text(value) or "")

    return key


def sorted_incidents(incidents: list[dict[str, Any]], orders: Any) -> list[dict[str, Any]]:
    """The filter's `sort` (`[{"field", "asc"}]`, the first order wins ties with the next); creation order without."""
    if orders is None:
        return incidents
    if not isinstance(orders, list) or not all(
        isinstance(o, dict) and isinstance(o.get("field"), str) for o in orders
    ):
        raise Refusal('sort must be a list of {"field": <name>, "asc": <bool>}')
    ordered = list(incidents)
    for order in reversed(orders):
        present = [i for i in ordered if field_value(i, order["field"]) not in (None, "", ZERO_TIME)]
        kept = {id(incident) for incident in present}
        absent = [i for i in ordered if id(i) not in kept]
        ordered = sorted(present, key=sort_key(order["field"]), reverse=not order.get("asc", False)) + absent
    return ordered


def page_bounds(search: dict[str, Any]) -> tuple[int, int]:
    page, size = search.get("page") or 0, search.get("size") or DEFAULT_PAGE_SIZE
    if not all(isinstance(n, int) and not isinstance(n, bool) and n >= 0 for n in (page, size)):
        raise Refusal("page and size must be non-negative integers")
    return page * size, (page + 1) * size


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


class XsoarSimulator(LocalService):
    """A Cortex XSOAR answering the Generic Webhook and the REST API, with a fault plan applied to every route."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        webhook_instance: str = "sekoia",
        webhook_token: str | None = None,
        webhook_basic: tuple[str, str] | None = None,
        api_key: str = "xsoar-test-key",
        api_key_id: str = "7",
        api_user: str = "admin",
        seed: int = 0,
        ssl_context: ssl.SSLContext | None = None,
        strict: bool = True,
        webhook_incident_type: str = DEFAULT_TYPE,
        mapper: Mapper = map_raw_json,
        query_or: bool = False,
    ):
        if webhook_token is not None and webhook_basic is not None:
            raise ValueError("a Generic Webhook instance has one credentials setting: a header token or Basic")
        self.webhook_instance = webhook_instance
        self.webhook_token = webhook_token
        self.webhook_basic = webhook_basic
        self.webhook_incident_type = webhook_incident_type
        self.mapper = mapper  # the instance's incoming mapper: raw JSON -> incident fields (webhook incidents)
        self.strict = strict
        self.api_key = api_key
        self.api_key_id = api_key_id
        self._keys: dict[str, tuple[str, str]] = {api_key: (api_key_id, api_user)}  # key -> (key id, user)
        self.entries_touch_incidents = False  # whether a war-room entry moves the incident's `modified` (unconfirmed)
        self.query_or = query_or  # whether queries may use `or` (unconfirmed in XSOAR: refused by default)
        self.playground = playground_investigation()  # an open investigation outside incidents, to run commands in
        self.create_status = 200
        self.on_incident: Callable[[dict[str, Any]], None] | None = None  # called with each incident stored
        self.incidents: list[dict[str, Any]] = []
        self.requests: list[dict[str, Any]] = []
        self._faults = FaultPlan(seed)
        self._lock = threading.RLock()
        self._last_id = 0
        self._server = BackgroundServer(self._app(), host, port, name="xsoar-simulator", ssl_context=ssl_context)

    @property
    def faults(self) -> FaultPlan:
        return self._faults

    @property
    def playground_id(self) -> str:
        """The investigation ID of the Playground: an open war room where commands run (`!reopenInvestigation id=`)."""
        return str(self.playground["investigationId"])

    @property
    def webhook_url(self) -> str:
        return f"{self.url}/instance/execute/{self.webhook_instance}"

    @property
    def webhook_url_v8(self) -> str:
        return f"{self.url}/xsoar/instance/execute/{self.webhook_instance}"

    @property
    def api_url_v6(self) -> str:
        return self.url

    @property
    def api_url_v8(self) -> str:
        return f"{self.url}/xsoar"

    def incidents_by_alert_id(self, alert_id: str) -> list[dict[str, Any]]:
        """The incidents whose custom field `alertid` is `alert_id`."""
        return [incident for incident in self.incidents if incident["CustomFields"].get("alertid") == alert_id]

    def count(self, method: str, path_contains: str) -> int:
        """Requests received with this method and a path containing `path_contains`."""
        return sum(1 for r in self.requests if r["method"] == method.upper() and path_contains in r["path"])

    def reset(self) -> None:
        """Forget incidents and requests; ids start again from 1."""
        with self._lock:
            self.incidents.clear()
            self.requests.clear()
            self.playground = playground_investigation()
            self._last_id = 0

    def add_api_key(self, api_key: str, user: str, api_key_id: str = "") -> None:
        """Accept another API key (its key id on the XSOAR 8 paths); its changes are made as `user`."""
        self._keys[api_key] = (api_key_id, user)

    def incident(self, incident_id: Any) -> dict[str, Any]:
        """A stored incident (simulator keys included: `entries`, `activity`); KeyError if unknown."""
        found = self._find(incident_id)
        if found is None:
            raise KeyError(incident_id)
        return found

    # What a person does in XSOAR's web app

    def close_as_person(
        self, incident_id: Any, reason: str = "Resolved", notes: str = "", user: str = DEFAULT_PERSON
    ) -> dict[str, Any]:
        """A person closes the incident with a close reason and notes."""
        with self._lock:
            return self._close(self.incident(incident_id), reason, notes, {}, user)

    def reopen_as_person(self, incident_id: Any, user: str = DEFAULT_PERSON) -> dict[str, Any]:
        """A person reopens a closed incident (ValueError when it is not closed)."""
        with self._lock:
            incident = self.incident(incident_id)
            if incident["status"] != STATUS_CLOSED:
                raise ValueError(f"incident {incident_id} is not closed")
            return self._reopen(incident, user)

    def note_as_person(
        self, incident_id: Any, text: str, user: str = DEFAULT_PERSON, note: bool = True, markdown: bool = True
    ) -> dict[str, Any]:
        """A person writes in the war room (a note unless `note` is False); returns the entry."""
        with self._lock:
            entry = self._add_entry(self._investigation(incident_id), text, markdown, user)
            entry["note"] = note
            return entry

    def summary(self) -> list[dict[str, Any]]:
        """id, source, name, severity, alertId, alertUrl, events, type, mapped urgency band and status, close reason
        and count of custom fields."""
        return [summarize(incident) for incident in self.incidents]

    def _app(self) -> web.Application:
        app = web.Application(
            middlewares=[recording_middleware(self.requests), fault_middleware(self._faults)],
            client_max_size=64 * 1024 * 1024,
        )
        app.router.add_post("/instance/execute/{name}", self._webhook)
        app.router.add_post("/xsoar/instance/execute/{name}", self._webhook)
        operations = {
            "/incident": self._create,
            "/incidents/search": self._search,
            "/incident/batchClose": self._batch_close,
            "/entry": self._entry,
            "/entry/note": self._entry_note,
            "/entry/execute/sync": self._execute,
            "/investigation/{id}": self._investigation_read,
        }
        for prefix in REST_PREFIXES:
            for path, operation in operations.items():
                app.router.add_post(prefix + path, self._rest(operation))
        return app

    def _store(self, fields: dict[str, Any], source: str) -> dict[str, Any]:
        with self._lock:
            self._last_id += 1
            stamp = now()
            incident = {
                "id": str(self._last_id),
                "version": 1,
                "created": stamp,
                "modified": stamp,
                "type": DEFAULT_TYPE,
                "severity": 0,
                "occurred": stamp,
                "details": "",
                "owner": "",
                "labels": [],
                "CustomFields": {},
                "rawJSON": "",
                "dbotMirrorId": "",
                "status": STATUS_PENDING,
                "closed": ZERO_TIME,
                "closeReason": "",
                "closeNotes": "",
                "closingUserId": "",
                "investigationId": "",
                "createInvestigation": False,
                "playbookId": "",
                "sourceBrand": "",
                "sourceInstance": "",
                **fields,
                "source": source,
                "entries": [],
                "activity": [],
            }
            if incident["createInvestigation"]:
                incident |= {"status": STATUS_ACTIVE, "investigationId": incident["id"]}
            self.incidents.append(incident)
        if self.on_incident is not None:
            self.on_incident(incident)
        return incident

    def _find(self, incident_id: Any) -> dict[str, Any] | None:
        return next((incident for incident in self.incidents if incident["id"] == str(incident_id)), None)

    async def _webhook(self, request: web.Request) -> web.Response:
        if request.match_info["name"] != self.webhook_instance:
            return web.Response(status=404, text=NOT_FOUND_PAGE, content_type="text/html")
        try:
            item = webhook_item(await request.read())
        except Refusal as refusal:
            return unprocessable(refusal)
        if not self._webhook_authorized(request.headers.get("Authorization")):
            return web.Response(status=401, text=AUTH_FAILED)
        headers = {name.lower(): value for name, value in request.headers.items() if name.lower() != "authorization"}
        incident = self._store(self._mapped(webhook_incident(item, headers, self.webhook_incident_type)), "webhook")
        return web.json_response([{key: incident[key] for key in ("id", "name", "type", "occurred", "rawJSON")}])

    def _mapped(self, fields: dict[str, Any]) -> dict[str, Any]:
        """The fields of a webhook incident after the instance's incoming mapper read its raw JSON."""
        origin = {
            "sourceBrand": "Generic Webhook",
            "sourceInstance": self.webhook_instance,
            "createInvestigation": True,
        }
        return fields | origin | self.mapper(json.loads(fields["rawJSON"]), fields["type"])

    def _webhook_authorized(self, header: str | None) -> bool:
        """The instance's one credentials scheme: `Authorization: Bearer <token>` (username `_header:Authorization`,
        password `Bearer <token>`), HTTP Basic, or none."""
        if self.webhook_token is not None:
            return header == f"Bearer {self.webhook_token}"
        if self.webhook_basic is not None:
            return basic_credentials(header) == tuple(self.webhook_basic)
        return True

    def _rest(self, operation: Operation) -> Handler:
        """A REST route: key check, JSON body, then `operation(body) -> (status, answer)`."""

        async def handle(request: web.Request) -> web.Response:
            caller = self._api_caller(request)
            if isinstance(caller, web.Response):
                return caller
            try:
                body = json.loads(await request.read())
            except ValueError:
                return web.json_response({"error": "the request body is not valid JSON"}, status=400)
            try:
                with self._lock:
                    status, answer = operation(Call(body, caller, dict(request.match_info)))
            except Refusal as refusal:
                return web.json_response({"error": str(refusal)}, status=refusal.status)
            return web.json_response(answer, status=status)

        return handle

    def _api_caller(self, request: web.Request) -> str | web.Response:
        """The user a known key acts as, or the refusal. XSOAR 6 wants `Authorization: <key>`; the XSOAR 8 paths
        (under /xsoar/) also `x-xdr-auth-id: <key id>`."""
        known = self._keys.get(request.headers.get("Authorization", ""))
        if known is None:
            return web.json_response({"error": "Issue with CSRF code"}, status=401)
        key_id, user = known
        if request.path.startswith("/xsoar/") and request.headers.get("x-xdr-auth-id") != key_id:
            return web.json_response({"error": "API key ID (x-xdr-auth-id) missing or wrong"}, status=401)
        return user

    def _create(self, call: Call) -> tuple[int, Any]:
        if isinstance(call.body, dict) and call.body.get("id") is not None:
            return 200, public(self._update(call.body, call.user))
        return self.create_status, public(self._store(rest_incident(call.body, self.strict), "api"))

    def _update(self, body: dict[str, Any], user: str) -> dict[str, Any]:
        """`POST /incident` with `id` and `version`: the incident's fields from the body (`CustomFields` merged), if
        `version` is the stored one (optimistic locking); an unknown id or a stale version is refused."""
        incident = self._find(body["id"])
        if incident is None:
            raise Refusal(f"Could not find incident {str(body['id'])[:40]!r}")
        if body.get("version") != incident["version"]:
            raise Refusal(
                f"{STALE_VERSION}: incident {incident['id']} is at version {incident['version']}, the update was "
                f"made on version {str(body.get('version'))[:20]}",
                STALE_STATUS,
            )
        fields = rest_incident(body | {"name": body.get("name") or incident["name"]}, self.strict)
        kept = {key: value for key, value in fields.items() if key not in UPDATE_IGNORED + SIMULATOR_KEYS}
        custom = incident["CustomFields"] | kept.pop("CustomFields", {})
        self._touch(incident, "updated", user)
        incident |= kept | {"CustomFields": custom}
        return incident

    def _search(self, call: Call) -> tuple[int, Any]:
        search = call.body.get("filter") if isinstance(call.body, dict) else None
        if not isinstance(search, dict):
            raise Refusal('the search body must be {"filter": {...}}')
        groups = parse_query(str(search.get("query") or ""), self.query_or)
        bounds = filter_terms(search)
        found = [
            incident
            for incident in self.incidents
            if matches(incident, groups)
            and in_lists(incident, search)
            and all(term_matches(incident, t) for t in bounds)
        ]
        found = sorted_incidents(found, search.get("sort"))
        start, end = page_bounds(search)
        return 200, {"total": len(found), "data": [public(incident) for incident in found[start:end]]}

    def _batch_close(self, call: Call) -> tuple[int, Any]:
        body = call.body
        ids = body.get("ids") if isinstance(body, dict) else None
        fields = (body.get("CustomFields") or {}) if isinstance(body, dict) else None
        if not isinstance(ids, list) or not isinstance(fields, dict):
            raise Refusal("ids must be a list of incident ids, CustomFields an object")
        found = [incident for incident in map(self._find, ids) if incident is not None]
        reason, notes = body.get("closeReason") or "", body.get("closeNotes") or ""
        closed = [self._close(incident, reason, notes, fields, call.user) for incident in found]
        answer = {"total": len(closed), "data": [public(i) for i in closed], "notUpdated": len(ids) - len(closed)}
        return 200, answer

    def _entry(self, call: Call) -> tuple[int, Any]:
        body = entry_body(call.body)
        incident = self._open_investigation(body["investigationId"])
        return 200, self._add_entry(incident, body["data"], body["markdown"], call.user)

    def _entry_note(self, call: Call) -> tuple[int, Any]:
        """`POST /entry/note` `{"id", "investigationId", "data": "true" | "false"}`: (un)mark an entry as a note."""
        body = call.body if isinstance(call.body, dict) else {}
        incident = self._investigation(body.get("investigationId"))
        entry = next((e for e in incident["entries"] if e["id"] == body.get("id")), None)
        if entry is None:
            raise Refusal(f"entry {str(body.get('id'))[:40]!r} not found")
        entry |= {"note": str(body.get("data")).lower() == "true", "modified": now()}
        entry["version"] += 1
        return 200, entry

    def _execute(self, call: Call) -> tuple[int, Any]:
        """`POST /entry/execute/sync` `{"investigationId", "data"}` into an open investigation (412 into a closed
        one): `!reopenInvestigation [id=<incident>]` reopens that closed incident (by default the investigation's
        own); another `!command` answers an error entry; plain text is a chat entry. Answers the entries it made."""
        body = entry_body(call.body)
        investigation = self._open_investigation(body["investigationId"])
        command = body["data"].strip()
        if not command.startswith("!"):
            return 200, [self._add_entry(investigation, body["data"], body["markdown"], call.user)]
        if command.split()[0] != REOPEN_COMMAND:
            error = f"Unsupported Command : {command.split()[0][1:][:60]}"
            return 200, [self._add_entry(investigation, error, False, "DBot", ENTRY_ERROR)]
        target_id = command_argument(command, "id") or investigation["id"]
        target = self._find(target_id)
        if target is None:
            error = f"Could not find incident {target_id[:40]}"
            return 200, [self._add_entry(investigation, error, False, "DBot", ENTRY_ERROR)]
        if target["status"] != STATUS_CLOSED:
            return 200, [self._add_entry(investigation, "Incident is not closed", False, "DBot", ENTRY_ERROR)]
        self._reopen(target, call.user)
        return 200, [self._add_entry(investigation, "Investigation reopened", False, "DBot")]

    def _investigation_read(self, call: Call) -> tuple[int, Any]:
        """`POST /investigation/{id}` (used by public scripts, absent from the swagger): the investigation with its
        `entries` created at or after `fromTime` when given, newest first (`pageSize` keeps the newest) and `users`.
        The real order and paging are unconfirmed: this one is the least helpful to a reader expecting oldest
        first."""
        incident = self._investigation(call.params["id"])
        body = call.body if isinstance(call.body, dict) else {}
        size, since = body.get("pageSize"), body.get("fromTime")
        entries = list(reversed(incident["entries"]))
        if since is not None:
            if (start := parse_time(since)) is None:
                raise Refusal(f"fromTime: {str(since)[:40]!r} is not a date-time")
            entries = [entry for entry in entries if (parse_time(entry["created"]) or start) >= start]
        entries = entries[:size] if isinstance(size, int) and size > 0 else entries
        users = sorted({entry["user"] for entry in incident["entries"] if entry["user"] != "DBot"})
        answer = {
            key: incident.get(key) for key in ("id", "name", "status", "created", "modified", "closed", "version")
        }
        return 200, answer | {"closingUserId": incident.get("closingUserId"), "users": users, "entries": entries}

    def _investigation(self, incident_id: Any) -> dict[str, Any]:
        """The incident of a started investigation (an incident created without one has no war room), or the
        Playground."""
        if str(incident_id) == self.playground_id:
            return self.playground
        incident = self._find(incident_id)
        if incident is None or not incident["investigationId"]:
            raise Refusal(f"Could not find investigation {str(incident_id)[:40]!r}")
        return incident

    def _open_investigation(self, incident_id: Any) -> dict[str, Any]:
        """An investigation that takes entries and commands: XSOAR answers 412 for a closed one (swagger)."""
        incident = self._investigation(incident_id)
        if incident["status"] == STATUS_CLOSED:
            raise Refusal(CLOSED_INVESTIGATION, 412)
        return incident

    def _touch(self, incident: dict[str, Any], change: str, user: str) -> str:
        """Record a change of the incident: `modified`, `version`, and who did it (simulator-only `activity`)."""
        stamp = now()
        incident |= {"modified": stamp, "version": incident["version"] + 1}
        incident["activity"].append({"change": change, "user": user, "at": stamp})
        return stamp

    def _close(
        self, incident: dict[str, Any], reason: str, notes: str, fields: dict[str, Any], user: str
    ) -> dict[str, Any]:
        stamp = self._touch(incident, "closed", user)
        incident |= {
            "status": STATUS_CLOSED,
            "closed": stamp,
            "closeReason": reason,
            "closeNotes": notes,
            "closingUserId": user,
            "CustomFields": incident["CustomFields"] | fields,
        }
        return incident

    def _reopen(self, incident: dict[str, Any], user: str) -> dict[str, Any]:
        """Active again; `closed` and the closing user cleared, close reason and notes kept (unconfirmed)."""
        self._touch(incident, "reopened", user)
        incident |= {"status": STATUS_ACTIVE, "closed": ZERO_TIME, "closingUserId": ""}
        return incident

    def _add_entry(
        self, incident: dict[str, Any], text: str, markdown: bool, user: str, kind: int = ENTRY_REGULAR
    ) -> dict[str, Any]:
        stamp = now()
        entry = {
            "id": f"{len(incident['entries']) + 1}@{incident['investigationId']}",
            "investigationId": incident["investigationId"],
            "type": kind,
            "contents": text,
            "format": "markdown" if markdown else "text",
            "note": False,
            "user": user,
            "created": stamp,
            "modified": stamp,
            "version": 1,
            "tags": None,
        }
        incident["entries"].append(entry)
        if self.entries_touch_incidents and incident is not self.playground:
            self._touch(incident, "entry", user)
        return entry


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


def credentials(text: str) -> tuple[str, str]:
    user, colon, password = text.partition(":")
    if not colon:
        raise argparse.ArgumentTypeError("expected USER:PASSWORD")
    return user, password


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m lab.xsoar_simulator", description="Serve a simulated Cortex XSOAR"
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8082)
    parser.add_argument("--instance", default="sekoia", help="Generic Webhook instance name")
    parser.add_argument("--token", help="webhook header authentication: expect 'Authorization: Bearer <token>'")
    parser.add_argument("--basic", type=credentials, metavar="USER:PASSWORD", help="webhook Basic authentication")
    parser.add_argument("--api-key", default="xsoar-test-key")
    parser.add_argument("--api-key-id", default="7", help="expected x-xdr-auth-id on the XSOAR 8 paths")
    parser.add_argument(
        "--lenient", action="store_true", help="keep create-request keys the swagger does not have (dbotMirrorId)"
    )
    parser.add_argument("--incident-type", default=INCIDENT_TYPE, help="the webhook instance's incident type")
    args = parser.parse_args(argv)
    if args.token and args.basic:
        parser.exit(2, "--token and --basic: a Generic Webhook instance has one credentials setting\n")
    simulator = XsoarSimulator(
        args.host,
        args.port,
        args.instance,
        args.token,
        args.basic,
        args.api_key,
        args.api_key_id,
        strict=not args.lenient,
        webhook_incident_type=args.incident_type,
    )
    try:
        simulator.start()
    except PortInUseError as exc:
        parser.exit(2, f"{exc}\n")
    interrupts = Interrupts()
    try:
        print(f"Generic Webhook (XSOAR 6): {simulator.webhook_url}")
        print(f"Generic Webhook (XSOAR 8): {simulator.webhook_url_v8}")
        print(f"REST API (XSOAR 6):        {simulator.api_url_v6}")
        print(f"REST API (XSOAR 8):        {simulator.api_url_v8} (x-xdr-auth-id: {args.api_key_id})")
        print("Serving until Ctrl-C", flush=True)
        interrupts.wait()
    finally:
        simulator.stop()
    for line in simulator.summary():
        print(line)


if __name__ == "__main__":
    main()
