"""A simulated Cortex XSOAR on 127.0.0.1: the Generic Webhook and the REST API incident calls, on one port.

Served paths (the project's XSOAR reference, §1, §2 and §2b):
- webhook: `POST /instance/execute/<instance>` (XSOAR 6) and `POST /xsoar/instance/execute/<instance>` (XSOAR 8),
  as Palo Alto's Generic Webhook behaves: the body is checked first (one object, not an array; `name`, `type`,
  `occurred` strings or null; `raw_json` an object or null: else 422), then the instance's one credentials scheme
  (401); rawJSON is `raw_json` or the whole body, plus the request headers without the auth header; `type`
  defaults to the instance's incident type, an absent `occurred` stays null; the instance's incoming mapper
  (`mapper`: by default the content pack's, `lab/xsoar_mapper.py`) sets the other fields;
- REST: `POST /incident`, `/incidents/search`, `/incident/batchClose`, `/entry` at the root (XSOAR 6, header
  `Authorization: <key>`) and under `/xsoar` and `/xsoar/public/v1` (XSOAR 8, plus `x-xdr-auth-id: <key id>`).

`POST /incident` follows the published swagger (the one Palo Alto's demisto-py is generated from): strict (the
default), it keeps only the keys of the create request, so `dbotMirrorId` is dropped unless under `CustomFields`;
lenient (`strict=False`), it keeps every top-level key. Searches understand `field:"value"` / `field:value` terms
(top-level fields and custom fields, names case-insensitive) joined by `and`, `or` or a space (and); anything
else is refused (400) rather than matching everything.

Choices where XSOAR's behaviour is unconfirmed or left out: `POST /incident` answers `create_status` (200, the
swagger's); a search finding nothing answers `"data": []` (a real server may answer `null`); results come in
creation order; `severity` must be a number from 0 to 4; `POST /incident` always creates (`id`, `version`,
`created`, `modified` of the body are the server's: ignored, no update); `null` fields of a REST body count as
absent.
"""

import argparse
import json
import math
import re
import ssl
import threading
from collections.abc import Awaitable, Callable
from datetime import datetime, timezone
from typing import Any

from aiohttp import BasicAuth, web

from lab.faults import FaultPlan
from lab.server import BackgroundServer, LocalService, PortInUseError, fault_middleware, wait_for_interrupt
from lab.xsoar_mapper import INCIDENT_TYPE, map_raw_json
from xsoar_module.mapping.create_request import CREATE_REQUEST_FIELDS

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
Middleware = Callable[[web.Request, Handler], Awaitable[web.StreamResponse]]
Operation = Callable[[Any], tuple[int, Any]]
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
REST_PREFIXES = ("", "/xsoar", "/xsoar/public/v1")
QUERY_TOKEN = re.compile(
    r'\s*(?:(?P<op>and|or)(?=\s)|(?P<field>[A-Za-z_][\w.]*):(?:"(?P<quoted>(?:[^"\\]|\\.)*)"|(?P<bare>[^\s"]+)))\s*',
    re.IGNORECASE,
)
DEFAULT_PAGE_SIZE = 50
STATUS_PENDING, STATUS_ACTIVE, STATUS_CLOSED = 0, 1, 2
SIMULATOR_KEYS = ("source", "entries")  # kept on stored incidents, never answered


class Refusal(Exception):
    """A request XSOAR refuses: a status and its reason."""

    def __init__(self, message: str, status: int = 400):
        super().__init__(message)
        self.status = status


def now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


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


def parse_query(query: str) -> list[list[tuple[str, str]]]:
    """`a:"1" and b:2 or c:3` -> [[(a, 1), (b, 2)], [(c, 3)]]: OR of ANDs (a space is an and); [] selects all."""
    groups: list[list[tuple[str, str]]] = [[]]
    position = 0
    while position < len(query.rstrip()):
        token = QUERY_TOKEN.match(query, position)
        if token is None:
            raise Refusal(f'unsupported query near {query[position:position + 40]!r}: use field:"value" terms')
        position = token.end()
        if token["op"] and token["op"].lower() == "or":
            groups.append([])
        elif token["field"]:
            value = token["quoted"] if token["quoted"] is not None else token["bare"]
            groups[-1].append((token["field"], re.sub(r"\\(.)", r"\1", value)))
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


def matches(incident: dict[str, Any], groups: list[list[tuple[str, str]]]) -> bool:
    if not groups:
        return True
    return any(all(as_text(field_value(incident, f)) == value for f, value in group) for group in groups)


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
        entry = {
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
        seed: int = 0,
        ssl_context: ssl.SSLContext | None = None,
        strict: bool = True,
        webhook_incident_type: str = DEFAULT_TYPE,
        mapper: Mapper = map_raw_json,
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
        self.create_status = 200
        self.on_incident: Callable[[dict[str, Any]], None] | None = None  # called with each incident stored
        self.incidents: list[dict[str, Any]] = []
        self.requests: list[dict[str, Any]] = []
        self._faults = FaultPlan(seed)
        self._lock = threading.Lock()
        self._last_id = 0
        self._server = BackgroundServer(self._app(), host, port, name="xsoar-simulator", ssl_context=ssl_context)

    @property
    def faults(self) -> FaultPlan:
        return self._faults

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
            self._last_id = 0

    def summary(self) -> list[dict[str, Any]]:
        """id, source, name, severity, alertId, alertUrl, events, type, mapped urgency band and status, and count of
        custom fields."""
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
                "createInvestigation": False,
                "playbookId": "",
                "sourceBrand": "",
                "sourceInstance": "",
                **fields,
                "source": source,
                "entries": [],
            }
            incident["status"] = STATUS_ACTIVE if incident["createInvestigation"] else STATUS_PENDING
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
            if denied := self._api_denied(request):
                return denied
            try:
                body = json.loads(await request.read())
            except ValueError:
                return web.json_response({"error": "the request body is not valid JSON"}, status=400)
            try:
                status, answer = operation(body)
            except Refusal as refusal:
                return web.json_response({"error": str(refusal)}, status=refusal.status)
            return web.json_response(answer, status=status)

        return handle

    def _api_denied(self, request: web.Request) -> web.Response | None:
        """XSOAR 6 wants `Authorization: <key>`; the XSOAR 8 paths (under /xsoar/) also `x-xdr-auth-id: <key id>`."""
        if request.headers.get("Authorization") != self.api_key:
            return web.json_response({"error": "Issue with CSRF code"}, status=401)
        if request.path.startswith("/xsoar/") and request.headers.get("x-xdr-auth-id") != self.api_key_id:
            return web.json_response({"error": "API key ID (x-xdr-auth-id) missing or wrong"}, status=401)
        return None

    def _create(self, body: Any) -> tuple[int, Any]:
        return self.create_status, public(self._store(rest_incident(body, self.strict), "api"))

    def _search(self, body: Any) -> tuple[int, Any]:
        search = body.get("filter") if isinstance(body, dict) else None
        if not isinstance(search, dict):
            raise Refusal('the search body must be {"filter": {...}}')
        groups = parse_query(str(search.get("query") or ""))
        found = [incident for incident in self.incidents if matches(incident, groups)]
        start, end = page_bounds(search)
        return 200, {"total": len(found), "data": [public(incident) for incident in found[start:end]]}

    def _batch_close(self, body: Any) -> tuple[int, Any]:
        ids = body.get("ids") if isinstance(body, dict) else None
        fields = (body.get("CustomFields") or {}) if isinstance(body, dict) else None
        if not isinstance(ids, list) or not isinstance(fields, dict):
            raise Refusal("ids must be a list of incident ids, CustomFields an object")
        closed = [incident for incident in map(self._find, ids) if incident is not None]
        stamp = now()
        for incident in closed:
            incident |= {
                "status": STATUS_CLOSED,
                "closed": stamp,
                "modified": stamp,
                "version": incident["version"] + 1,
                "closeReason": body.get("closeReason", ""),
                "closeNotes": body.get("closeNotes", ""),
                "CustomFields": incident["CustomFields"] | fields,
            }
        return 200, {"total": len(closed), "data": [public(incident) for incident in closed]}

    def _entry(self, body: Any) -> tuple[int, Any]:
        if not isinstance(body, dict) or not isinstance(body.get("data"), str):
            raise Refusal("an entry needs investigationId and data (a string)")
        incident = self._find(body.get("investigationId"))
        if incident is None:
            raise Refusal(f"investigation {body.get('investigationId')!r} not found", 404)
        entry = {
            "id": f"{len(incident['entries']) + 1}@{incident['id']}",
            "investigationId": incident["id"],
            "contents": body["data"],
            "format": "markdown" if body.get("markdown") else "text",
            "created": now(),
        }
        incident["entries"].append(entry)
        return 200, entry


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
    try:
        print(f"Generic Webhook (XSOAR 6): {simulator.webhook_url}")
        print(f"Generic Webhook (XSOAR 8): {simulator.webhook_url_v8}")
        print(f"REST API (XSOAR 6):        {simulator.api_url_v6}")
        print(f"REST API (XSOAR 8):        {simulator.api_url_v8} (x-xdr-auth-id: {args.api_key_id})")
        print("Serving until Ctrl-C", flush=True)
        wait_for_interrupt()
    finally:
        simulator.stop()
    for line in simulator.summary():
        print(line)


if __name__ == "__main__":
    main()
