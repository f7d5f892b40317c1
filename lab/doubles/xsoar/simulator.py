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
    parse_time,
    sorted_incidents,
    term_matches,
)
from lab.doubles.xsoar.records import (
    AUTH_FAILED,
    CLOSED_INVESTIGATION,
    DEFAULT_PERSON,
    DEFAULT_TYPE,
    ENTRY_ERROR,
    ENTRY_REGULAR,
    NOT_FOUND_PAGE,
    REOPEN_COMMAND,
    REST_PREFIXES,
    SIMULATOR_KEYS,
    STALE_STATUS,
    STALE_VERSION,
    STATUS_ACTIVE,
    STATUS_CLOSED,
    STATUS_PENDING,
    UPDATE_IGNORED,
    ZERO_TIME,
    Call,
    Mapper,
    Operation,
    Refusal,
    basic_credentials,
    command_argument,
    entry_body,
    playground_investigation,
    public,
    recording_middleware,
    rest_incident,
    summarize,
    unprocessable,
    webhook_incident,
    webhook_item,
    xsoar_time,
)


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

    def add_incident(self, fields: dict[str, Any], source: str = "api") -> dict[str, Any]:
        """Store an incident of `fields` (over XSOAR's defaults; `createInvestigation` opens its war room) as created
        through `source` ("api", "webhook"), created now on the simulator's clock; returns it as stored."""
        with self._lock:
            self._last_id += 1
            stamp = self._now()
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
        entry |= {"note": str(body.get("data")).lower() == "true", "modified": self._now()}
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

    def _now(self) -> str:
        """The time on the simulator's clock, as XSOAR writes it."""
        return xsoar_time(self.clock())

    def _touch(self, incident: dict[str, Any], change: str, user: str) -> str:
        """Record a change of the incident: `modified`, `version`, and who did it (simulator-only `activity`)."""
        stamp = self._now()
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
        stamp = self._now()
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
