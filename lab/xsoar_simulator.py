"""A simulated Cortex XSOAR on 127.0.0.1: the Generic Webhook and the REST API incident calls, on one port.

Served paths (the project's XSOAR reference, §1 and §2):
- webhook: `POST /instance/execute/<instance>` (XSOAR 6) and `POST /xsoar/instance/execute/<instance>` (XSOAR 8);
- REST: `POST /incident`, `/incidents/search`, `/incident/batchClose`, `/entry` at the root (XSOAR 6, header
  `Authorization: <key>`) and under `/xsoar` and `/xsoar/public/v1` (XSOAR 8, plus `x-xdr-auth-id: <key id>`).

Choices where XSOAR's behaviour is unconfirmed or left out: the webhook answers 200; `POST /incident` answers
`create_status` (201 unless a test changes it); a search finding nothing answers `"data": []` (a real server may
answer `null`); results come in creation order; `severity` must be one of 0, 0.5, 1, 2, 3, 4; `POST /incident`
always creates (no update by `id` + `version`); `null` fields of a REST body count as absent. Webhook incidents go
through the content pack's incoming mapper (`lab/xsoar_mapper.py`), as for an instance with that mapper selected.
"""

import argparse
import json
import re
import ssl
import threading
from collections.abc import Awaitable, Callable
from datetime import datetime, timezone
from typing import Any

from aiohttp import BasicAuth, web

from lab.faults import FaultPlan
from lab.server import BackgroundServer, LocalService, PortInUseError, fault_middleware, wait_for_interrupt
from lab.xsoar_mapper import INCIDENT_TYPE, map_webhook_incident

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
Middleware = Callable[[web.Request, Handler], Awaitable[web.StreamResponse]]
Operation = Callable[[Any], tuple[int, Any]]

WEBHOOK_NAME = "Generic webhook triggered incident"
DEFAULT_TYPE = "Unclassified"
BAD_JSON = "Request, and rawJson field if exists must be in JSON format"
AUTH_FAILED = "Authorization failed."
NOT_FOUND_PAGE = (
    "<!DOCTYPE html><html><head><title>404 Not Found</title></head>"
    "<body><h1>404 Not Found</h1><p>The requested URL was not found on this server.</p></body></html>"
)
SEVERITIES = (0, 0.5, 1, 2, 3, 4)
REST_FIELDS = (
    "name",
    "type",
    "severity",
    "occurred",
    "details",
    "owner",
    "labels",
    "CustomFields",
    "rawJSON",
    "dbotMirrorId",
    "createInvestigation",
    "playbookId",
    "sourceBrand",
    "sourceInstance",
)
REST_PREFIXES = ("", "/xsoar", "/xsoar/public/v1")
SEARCH_QUERY = re.compile(r'\s*(dbotMirrorId|id):(?:"([^"]*)"|(\S+))\s*')
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


def webhook_incident(item: dict[str, Any]) -> dict[str, Any]:
    """Fields of the incident made from one webhook object: `name`, `type`, `occurred`, then `rawJson`
    (`raw_json`; parsed when a string) or else the whole object as raw JSON."""
    raw = item.get("rawJson", item.get("raw_json"))
    if raw is None:
        raw = item
    elif isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except ValueError:
            raise Refusal(BAD_JSON) from None
    return {
        "name": item.get("name") or WEBHOOK_NAME,
        "type": item.get("type") or DEFAULT_TYPE,
        "occurred": item.get("occurred") or now(),
        "rawJSON": json.dumps(raw),
    }


def webhook_incidents(body: bytes) -> list[dict[str, Any]]:
    """The incidents of a webhook body (one object or an array of objects), all checked before any is made."""
    try:
        parsed = json.loads(body)
    except ValueError:
        raise Refusal(BAD_JSON) from None
    items = parsed if isinstance(parsed, list) else [parsed]
    if not all(isinstance(item, dict) for item in items):
        raise Refusal(BAD_JSON)
    return [webhook_incident(item) for item in items]


def rest_incident(body: Any) -> dict[str, Any]:
    """The fields of a REST `POST /incident` body, checked as XSOAR would."""
    if not isinstance(body, dict):
        raise Refusal("the incident must be a JSON object")
    fields = {key: body[key] for key in REST_FIELDS if body.get(key) is not None}
    if not isinstance(fields.get("name"), str) or not fields["name"]:
        raise Refusal("incident name is required and must be a string")
    if "severity" in fields and not (is_number(fields["severity"]) and fields["severity"] in SEVERITIES):
        raise Refusal(f"invalid severity {fields['severity']!r}: use 0, 0.5, 1, 2, 3 or 4")
    for key, kind in (("rawJSON", str), ("labels", list), ("CustomFields", dict)):
        if key in fields and not isinstance(fields[key], kind):
            raise Refusal(f"{key} must be a {'string' if kind is str else 'JSON ' + kind.__name__}")
    return fields


def matches(incident: dict[str, Any], query: str) -> bool:
    """`dbotMirrorId:"X"`, `id:"X"` or `id:X` select by that field; any other query selects everything."""
    found = SEARCH_QUERY.fullmatch(query)
    if not found:
        return True
    field, quoted, bare = found.groups()
    return str(incident.get(field)) == (quoted if quoted is not None else bare)


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
        incident_type: str | None = None,
    ):
        self.webhook_instance = webhook_instance
        self.incident_type = incident_type  # the webhook instance's type, e.g. the pack's "Sekoia.io Alert"
        self.webhook_token = webhook_token
        self.webhook_basic = webhook_basic
        self.api_key = api_key
        self.api_key_id = api_key_id
        self.create_status = 201
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

    def incidents_by_mirror_id(self, mirror_id: str) -> list[dict[str, Any]]:
        return [incident for incident in self.incidents if incident.get("dbotMirrorId") == mirror_id]

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
        """id, source, name, severity, alertId, alertUrl, events, type, mapped urgency band and status, and count of custom fields."""
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
        if not self._webhook_authorized(request.headers.get("Authorization")):
            return web.Response(status=401, text=AUTH_FAILED)
        try:
            made = webhook_incidents(await request.read())
        except Refusal as refusal:
            return web.Response(status=refusal.status, text=str(refusal))
        origin = {
            "sourceBrand": "Generic Webhook",
            "sourceInstance": self.webhook_instance,
            "createInvestigation": True,
        }
        mapped = [
            map_webhook_incident(fields, DEFAULT_TYPE, self.incident_type) for fields in made
        ]  # the pack's mapper
        created = [self._store(fields | origin, "webhook") for fields in mapped]
        return web.json_response(
            [{key: incident[key] for key in ("id", "name", "type", "occurred", "rawJSON")} for incident in created]
        )

    def _webhook_authorized(self, header: str | None) -> bool:
        """The instance's credentials: `Authorization: Bearer <token>`, HTTP Basic (either is enough), or none."""
        if self.webhook_token is None and self.webhook_basic is None:
            return True
        if self.webhook_token is not None and header == f"Bearer {self.webhook_token}":
            return True
        return self.webhook_basic is not None and basic_credentials(header) == tuple(self.webhook_basic)

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
        return self.create_status, public(self._store(rest_incident(body), "api"))

    def _search(self, body: Any) -> tuple[int, Any]:
        search = body.get("filter") if isinstance(body, dict) else None
        if not isinstance(search, dict):
            raise Refusal('the search body must be {"filter": {...}}')
        found = [incident for incident in self.incidents if matches(incident, str(search.get("query") or ""))]
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
    parser.add_argument("--incident-type", default=INCIDENT_TYPE, help="the webhook instance's incident type")
    args = parser.parse_args(argv)
    simulator = XsoarSimulator(
        args.host,
        args.port,
        args.instance,
        args.token,
        args.basic,
        args.api_key,
        args.api_key_id,
        incident_type=args.incident_type,
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
