"""The platform's side of the SDK protocol: run callbacks, secrets, trigger events and trigger logs."""

import asyncio
from typing import Any

from aiohttp import web

from lab.doubles.faults import FaultPlan
from lab.doubles.server import fault_middleware
from lab.doubles.symphony.records import RunRecord

MAX_CALLBACK_BYTES = 64 * 1024 * 1024  # the platform's limit is unknown: well above 1,000 real-sized events (~3 MB)


class CallbackServer:
    """Answers the runs it knows, each authenticated by its own Bearer token."""

    def __init__(self, runs: dict[str, RunRecord], faults: FaultPlan):
        self._runs = runs
        self._faults = faults

    def app(self) -> web.Application:
        app = web.Application(middlewares=[fault_middleware(self._faults)], client_max_size=MAX_CALLBACK_BYTES)
        app.add_routes(
            [
                web.patch("/callback/{run_id}", self._report),
                web.post("/callback/{run_id}", self._event),
                web.get("/secrets/{run_id}", self._secrets),
                web.post("/logs/{run_id}", self._logs),
            ]
        )
        return app

    def _run(self, request: web.Request) -> RunRecord:
        run = self._runs.get(request.match_info["run_id"])
        if run is None:
            raise web.HTTPNotFound(text="unknown run")
        if request.headers.get("Authorization") != f"Bearer {run.token}":
            raise web.HTTPUnauthorized(text="missing or wrong run token")
        return run

    async def _report(self, request: web.Request) -> web.Response:
        """`running` (answering the secrets when asked) or `finished` with results, error, logs and outputs."""
        run = self._run(request)
        body = await _json_object(request)
        status = body.get("status")
        if status == "running":
            if body.get("need_secrets"):
                return web.json_response({"module_configuration": {"value": run.serve_secrets()}})
            return web.json_response({})
        if status == "finished":
            if not run.finish(body):
                raise web.HTTPConflict(text="the run has already finished")
            return web.json_response({})
        raise web.HTTPBadRequest(text=f"unknown status {status!r}")

    async def _event(self, request: web.Request) -> web.Response:
        run = self._run(request)
        body = await _json_object(request)
        if not isinstance(body.get("name"), str) or "event" not in body:
            raise web.HTTPBadRequest(text="an event needs a name and an event")
        if body.get("directory"):
            try:
                await asyncio.to_thread(run.keep_event_directory, body["directory"])
            except (OSError, ValueError) as exc:
                raise web.HTTPBadRequest(text=str(exc)) from None
        run.add_event(body)
        return web.json_response({})

    async def _secrets(self, request: web.Request) -> web.Response:
        run = self._run(request)
        return web.json_response({"value": run.serve_secrets(), "node_value": {}})

    async def _logs(self, request: web.Request) -> web.Response:
        run = self._run(request)
        logs = (await _json_object(request)).get("logs")
        if not isinstance(logs, list):
            raise web.HTTPBadRequest(text="logs must be a list")
        run.add_logs(logs)
        return web.json_response({})


async def _json_object(request: web.Request) -> dict[str, Any]:
    try:
        body = await request.json()
    except ValueError:
        raise web.HTTPBadRequest(text="the body is not JSON") from None
    if not isinstance(body, dict):
        raise web.HTTPBadRequest(text="the body is not a JSON object")
    return body
