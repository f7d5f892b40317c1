"""The simulator itself: the aiohttp application and its HTTP API, its store and its test controls (the LiveAPI in
`live`, the changes a person or the dynamic urgency makes in `changes`)."""

import copy
import random
import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from typing import Any

from aiohttp import web
from aiohttp.typedefs import Handler, Middleware

from lab.doubles.faults import FaultPlan
from lab.doubles.sekoia.budget import RequestBudget
from lab.doubles.sekoia.changes import DEFAULT_PERSON, AlertChanges
from lab.doubles.sekoia.jobs import EventSearches
from lab.doubles.sekoia.live import LIVE_PATH, LiveClient
from lab.doubles.sekoia.queries import (
    JOB_DONE,
    JOB_QUEUED,
    Refusal,
    SearchJob,
    alerts_page,
)
from lab.doubles.sekoia.records import (
    StoredAlert,
    build_alert,
    build_events,
    listing_item,
    load_sample,
    new_short_id,
    roughen,
)
from lab.doubles.sekoia.workflow import (
    WORKFLOW,
    Actor,
    Workflow,
    find_action,
    key_actor,
    person_actor,
    status_name,
)
from lab.doubles.server import BackgroundServer, LocalService, fault_middleware

API_PREFIXES = ("/v1", "/api/v1")
DEFAULT_EVENTS = 3
DEFAULT_INDEXING_DELAY = 2.0  # seconds from an added alert to its events being searchable (SEKOIA.md section 9)


def problem(status: int, message: str) -> web.Response:
    return web.json_response({"message": message}, status=status)


def route_template(request: web.Request) -> str:
    """`GET /v1/sic/alerts/{id}` for both prefixes; the raw path when no route matched."""
    resource = request.match_info.route.resource
    path = resource.canonical if resource is not None else request.path
    return path.removeprefix("/api") if path.startswith("/api/v1/") else path


def request_key(request: web.Request) -> str:
    """The API key a request presents (`Authorization: Bearer <key>`), "" without one."""
    scheme, _, key = request.headers.get("Authorization", "").partition(" ")
    return key if scheme == "Bearer" else ""


async def json_object(request: web.Request) -> dict[str, Any]:
    try:
        body = await request.json()
    except ValueError:
        raise Refusal("Invalid JSON body") from None
    if not isinstance(body, dict):
        raise Refusal("The body must be a JSON object")
    return body


class SekoiaSimulator(AlertChanges, EventSearches, LocalService):
    """Sekoia.io's alerts and events API plus the LiveAPI (see the package docstring), with controls for tests.

    As real answers (SEKOIA.md section 2), unless `messy` is False, a share of the added alerts have a null
    `last_seen_at`, no title nor seen times, null `rule.type` or `target`, extra fields, short ids of 6 to 13
    characters and real-sized events; which ones depends only on `seed` and the order of the alerts, so a test sees
    the same alerts on every run. Overrides given to `add_alert` win over that. `reduced_listing` makes the listing
    answer items in the reduced shapes of real listings (no uuid, rule, entity; urgency `{display}`, status `{name}`)
    for the alerts the seed picks. `add_real_alerts` stores the hand-written real-shaped alerts of
    `lab/samples/real_alerts.json`.

    Events are indexed late, as on the real service: the events of an alert added with `add_alert` become searchable
    `indexing_delay` seconds after it (the simulator's default, or the alert's own: a number, one per event, or
    `math.inf` for never); the sample and real-shaped alerts' events are searchable at once. `clock` (epoch seconds,
    `time.time` unless a test sets its own that it moves, e.g. `lab.doubles.clock.ManualClock`) says when events are
    searchable and dates what the simulator writes: a status change (`updated_at`, its history entry), a comment, an
    urgency change.

    `job_duration` and `job_final_status` apply to jobs created afterwards; `request_counts` counts HTTP API requests
    by route template (`GET /v1/sic/alerts/{id}`, either prefix), `request_log` keeps `(method, path with query,
    status)` once answered (status 0 when the connection was dropped); `liveapi_connections_total` counts
    authenticated LiveAPI connections, to observe reconnects.

    `workflow` is the documented one unless told (`PERMISSIVE_WORKFLOW`, for clients tested against a kinder one);
    `me_identity` False makes `GET /v1/me` answer a body without `uuid` nor `id` (its real body is unpublished).
    `budget` (off unless given) enforces Sekoia.io's request budget per API key before anything else and counts each
    key's requests and refusals (`budget.py`).
    """

    def __init__(
        self,
        api_key: str = "sekoia-test-key",
        host: str = "127.0.0.1",
        port: int = 0,
        seed_samples: bool = True,
        *,
        seed: int = 0,
        messy: bool = True,
        reduced_listing: bool = False,
        workflow: Workflow = WORKFLOW,
        indexing_delay: float | None = None,
        me_identity: bool = True,
        budget: RequestBudget | None = None,
    ):
        self.api_key = api_key
        self.indexing_delay = DEFAULT_INDEXING_DELAY if indexing_delay is None else indexing_delay
        self.clock: Callable[[], float] = time.time
        self.budget = budget
        self.workflow = workflow
        self.me_identity = me_identity
        self.comments_touch_alerts = False  # whether a comment moves the alert's `updated_at` (unconfirmed)
        self.urgency_touches_alerts = True  # whether an urgency change moves the alert's `updated_at` (unconfirmed)
        self._keys: dict[str, Actor] = {api_key: key_actor(api_key)}
        self.seed, self.messy, self.reduced_listing = seed, messy, reduced_listing
        self._added = 0
        self.job_duration = 0.0
        self.job_final_status = JOB_DONE
        self.duplicate_notifications = False
        self.request_counts: Counter[str] = Counter()
        self.request_log: list[tuple[str, str, int]] = []
        self.liveapi_connections_total = 0
        self._faults = FaultPlan()
        self._template: dict[str, Any] = load_sample("alert.json")
        self._stored: list[StoredAlert] = []
        self._jobs: dict[str, SearchJob] = {}
        self._clients: set[LiveClient] = set()
        self._lock = threading.Lock()
        self._serving = False
        self._server = BackgroundServer(self._app(), host, port, name="sekoia-simulator")
        if seed_samples:
            self._stored.append(StoredAlert(copy.deepcopy(self._template), load_sample("alert_events.json")["items"]))

    @property
    def faults(self) -> FaultPlan:
        return self._faults

    @property
    def liveapi_url(self) -> str:
        return f"ws://{self._server.host}:{self._server.port}{LIVE_PATH}"

    @property
    def total_requests(self) -> int:
        return sum(self.request_counts.values())

    def start(self) -> "SekoiaSimulator":
        super().start()
        self._serving = True
        return self

    def stop(self) -> None:
        self._serving = False
        super().stop()

    # Alerts

    def add_alert(
        self,
        notify: bool = True,
        events: int | list[dict] | None = None,
        indexing_delay: float | Sequence[float] | None = None,
        **overrides: Any,
    ) -> dict:
        """Store a fresh alert (overrides replace top-level keys) with its events (a count or a list; default 3),
        searchable after `indexing_delay` seconds (default: the simulator's; a sequence: one delay per event), then,
        if `notify`, push its "alert created" notification to upgraded LiveAPI clients."""
        with self._lock:
            rng = random.Random(f"{self.seed}/{self._added}") if self.messy else None
            self._added += 1
            taken = {stored.alert.get("short_id") for stored in self._stored}
            short_id = next(candidate for candidate in iter(lambda: new_short_id(rng), None) if candidate not in taken)
            alert = build_alert(self._template, short_id, {})
            alert = (roughen(alert, rng) if rng else alert) | overrides
            count = DEFAULT_EVENTS if events is None else events
            attached = build_events(alert, count, rng) if isinstance(count, int) else copy.deepcopy(count)
            if "similar" not in overrides:
                alert["similar"] = len(attached)
            delays = self.indexing_delay if indexing_delay is None else indexing_delay
            delays = list(delays) if isinstance(delays, Sequence) else [delays] * len(attached)
            if len(delays) != len(attached):
                raise ValueError(f"{len(delays)} indexing delays for {len(attached)} events")
            now = self.clock()
            self._stored.append(StoredAlert(alert, attached, indexed_at=[now + delay for delay in delays]))
        if notify:
            self.notify(alert)
        return copy.deepcopy(alert)

    def add_real_alerts(self) -> list[dict]:
        """Store the real-shaped alerts of `lab/samples/real_alerts.json` (old `created_at`, so that they stay out
        of a trigger's catch-up), each with `similar` real-sized events; no notification."""
        alerts = load_sample("real_alerts.json")
        with self._lock:
            for alert in alerts:
                rng = random.Random(alert["short_id"])
                self._stored.append(StoredAlert(alert, build_events(alert, alert.get("similar") or 0, rng)))
        return copy.deepcopy(alerts)

    def events_of(self, alert_id: str) -> list[dict]:
        """The events attached to an alert (by UUID or short ID); KeyError if unknown."""
        with self._lock:
            stored = self._lookup(alert_id)
            if stored is None:
                raise KeyError(alert_id)
            return copy.deepcopy(stored.events)

    def remove_alert(self, uuid: str) -> None:
        """The API no longer knows the alert (by UUID or short ID) nor its events; KeyError if unknown."""
        with self._lock:
            stored = self._lookup(uuid)
            if stored is None:
                raise KeyError(uuid)
            self._stored.remove(stored)

    def alerts(self) -> list[dict]:
        with self._lock:
            return [copy.deepcopy(stored.alert) for stored in self._stored]

    # Identities

    def add_api_key(self, api_key: str) -> Actor:
        """Accept another API key (e.g. a module's beside a person's automation); its identity records its changes."""
        self._keys.setdefault(api_key, key_actor(api_key))
        return self._keys[api_key]

    def actor_of(self, api_key: str) -> Actor:
        """The identity (`created_by`, `created_by_type` "apikey") of a known API key; KeyError otherwise."""
        return self._keys[api_key]

    @staticmethod
    def person(name: str = DEFAULT_PERSON) -> Actor:
        """The identity (`created_by_type` "user") of a person acting in the web app."""
        return person_actor(name)

    def follow_published_rules(self) -> None:
        """Back to the defaults: the documented workflow, `GET /v1/me` with an identity."""
        self.workflow, self.me_identity = WORKFLOW, True

    def reset_counts(self) -> None:
        self.request_counts.clear()
        self.request_log.clear()

    # HTTP

    def _app(self) -> web.Application:
        app = web.Application(middlewares=[self._api_middleware()])
        routes = {
            "/me": self._me,
            "/sic/alerts": self._list_alerts,
            "/sic/alerts/{id}": self._get_alert,
            "/sic/conf/events/search/jobs/{job}": self._get_job,
            "/sic/conf/events/search/jobs/{job}/events": self._job_events,
        }
        for prefix in API_PREFIXES:
            for path, handler in routes.items():
                app.router.add_get(prefix + path, handler)
            app.router.add_post(prefix + "/sic/conf/events/search/jobs", self._create_job)
            app.router.add_get(prefix + "/sic/alerts/{id}/workflow", self._get_workflow)
            app.router.add_patch(prefix + "/sic/alerts/{id}/workflow", self._patch_workflow)
            app.router.add_get(prefix + "/sic/alerts/{id}/comments", self._list_comments)
            app.router.add_post(prefix + "/sic/alerts/{id}/comments", self._post_comment)
            app.router.add_get(prefix + "/sic/alerts/{id}/comments/{comment}", self._get_comment)
        app.router.add_get(LIVE_PATH, self._live)
        app.on_shutdown.append(self._close_clients)
        return app

    def _api_middleware(self) -> Middleware:
        """HTTP API requests: count and log them, apply the fault plan, check the key, answer refusals."""
        faults = fault_middleware(self._faults)

        @web.middleware
        async def api(request: web.Request, handler: Handler) -> web.StreamResponse:
            if request.path == LIVE_PATH:
                return await handler(request)
            self.request_counts[f"{request.method} {route_template(request)}"] += 1
            client = request_key(request)
            status = 0
            try:
                refused = self.budget.admit(client) if self.budget else None
                response = problem(429, refused) if refused else await faults(request, self._guarded(handler))
                status = response.status
                return response
            except web.HTTPException as exc:
                status = exc.status
                raise
            finally:
                self.request_log.append((request.method, request.path_qs, status))
                if self.budget:
                    self.budget.answered(client, status)

        return api

    def _guarded(self, handler: Handler) -> Handler:
        async def guarded(request: web.Request) -> web.StreamResponse:
            if self._request_actor(request) is None:
                return problem(401, "Unauthorized")
            try:
                return await handler(request)
            except Refusal as refusal:
                return problem(refusal.status, str(refusal))

        return guarded

    def _request_actor(self, request: web.Request) -> Actor | None:
        return self._keys.get(request_key(request))

    def _caller(self, request: web.Request) -> Actor:
        """The actor of a request that passed `_guarded` (which answers 401 to one without)."""
        actor = self._request_actor(request)
        if actor is None:
            raise Refusal("Unauthorized", 401)
        return actor

    async def _me(self, request: web.Request) -> web.Response:
        """The key's identity; without `uuid` when `me_identity` is False (the real body is unpublished)."""
        body = {"type": "apikey", "name": "Simulator API key", "community_uuid": self._template["community_uuid"]}
        caller = self._caller(request)
        return web.json_response(body | ({"uuid": caller.uuid} if self.me_identity else {}))

    def _requested_alert(self, request: web.Request) -> StoredAlert:
        stored = self._lookup(request.match_info["id"])
        if stored is None:
            raise Refusal("Alert not found", 404)
        return stored

    async def _get_alert(self, request: web.Request) -> web.Response:
        with self._lock:
            stored = self._requested_alert(request)
            return web.json_response(
                stored.alert | {"comments": stored.comments, "history": stored.answered_history()}
            )

    async def _get_workflow(self, request: web.Request) -> web.Response:
        with self._lock:
            current = status_name(self._requested_alert(request).alert)
        return web.json_response({"actions": [action.describe() for action in self.workflow[current]]})

    async def _patch_workflow(self, request: web.Request) -> web.Response:
        body = await json_object(request)
        wanted, comment = body.get("action_uuid"), body.get("comment")
        if not isinstance(wanted, str) or not wanted:
            raise Refusal("action_uuid: this field is required")
        if comment is not None and not isinstance(comment, str):
            raise Refusal("comment: must be a string")
        with self._lock:
            stored = self._requested_alert(request)
            current = status_name(stored.alert)
            action = find_action(self.workflow, current, wanted)
            if action is None:
                raise Refusal(f"Action {wanted} is not available for an alert in status {current}")
            notifications = self._apply(stored, action, self._caller(request), comment)
        for notification in notifications:
            await self._broadcast(notification, upgraded_only=True)
        return web.json_response({})

    async def _list_comments(self, request: web.Request) -> web.Response:
        with self._lock:
            comments = self._requested_alert(request).comments
            return web.json_response({"items": comments, "total": len(comments)})

    async def _post_comment(self, request: web.Request) -> web.Response:
        body = await json_object(request)
        try:
            comment, notification = self._comment(
                request.match_info["id"], body.get("content"), body.get("author"), self._caller(request)
            )
        except KeyError:
            raise Refusal("Alert not found", 404) from None
        except ValueError as exc:
            raise Refusal(str(exc)) from None
        await self._broadcast(notification, upgraded_only=True)
        return web.json_response(comment)

    async def _get_comment(self, request: web.Request) -> web.Response:
        with self._lock:
            comments = self._requested_alert(request).comments
            found = next((c for c in comments if c["uuid"] == request.match_info["comment"]), None)
            if found is None:
                raise Refusal("Comment not found", 404)
            return web.json_response(found)

    async def _list_alerts(self, request: web.Request) -> web.Response:
        with self._lock:
            alerts = [stored.alert for stored in self._stored]
        page = alerts_page(alerts, request.query)
        if self.reduced_listing:
            page["items"] = [self._listed(alert) for alert in page["items"]]
        return web.json_response(page)

    def _listed(self, alert: dict[str, Any]) -> dict[str, Any]:
        """The item of an alert in a reduced listing, for about half of the alerts (the seed picks them)."""
        rng = random.Random(f"{self.seed}/listing/{alert.get('short_id')}")
        return listing_item(alert, rng) if rng.random() < 1 / 2 else alert

    async def _create_job(self, request: web.Request) -> web.Response:
        return web.json_response(self._new_job(await json_object(request)).describe(JOB_QUEUED))
