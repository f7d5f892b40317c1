"""The simulated Cortex XSOAR server: its routes and what each call does to the stored incidents (the package's
docstring describes the behaviour)."""

import json
import ssl
import threading
import time
from collections.abc import Callable
from typing import Any

from aiohttp import web
from aiohttp.typedefs import Handler

from lab.doubles.faults import FaultPlan
from lab.doubles.server import BackgroundServer, LocalService, fault_middleware
from lab.doubles.xsoar.mapper import map_raw_json
from lab.doubles.xsoar.queries import (
    filter_terms,
    in_lists,
    matches,
    page_bounds,
    parse_query,
    sorted_incidents,
    term_matches,
)
from lab.doubles.xsoar.records import (
    AUTH_FAILED,
    DEFAULT_TYPE,
    NOT_FOUND_PAGE,
    REST_PREFIXES,
    SIMULATOR_KEYS,
    STALE_STATUS,
    STALE_VERSION,
    UPDATE_IGNORED,
    Call,
    Mapper,
    Operation,
    Refusal,
    basic_credentials,
    playground_investigation,
    public,
    recording_middleware,
    rest_incident,
    unprocessable,
    webhook_incident,
    webhook_item,
)
from lab.doubles.xsoar.war_room import WarRooms


class XsoarSimulator(WarRooms, LocalService):
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
        # epoch seconds of `created`, `modified`, `closed` and entry times: a test may set its own, that it moves
        self.clock: Callable[[], float] = time.time
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
        incident = self.add_incident(
            self._mapped(webhook_incident(item, headers, self.webhook_incident_type)), "webhook"
        )
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
        return self.create_status, public(self.add_incident(rest_incident(call.body, self.strict), "api"))

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
