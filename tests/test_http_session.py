"""The shared HTTP layer against a real server on 127.0.0.1: retries, Retry-After, unknown outcomes, failures."""

import socket

import pytest
from aiohttp import web

from lab.doubles.faults import Fault, FaultPlan
from lab.doubles.server import BackgroundServer, fault_middleware
from xsoar_module.clients.answers import parse_json
from xsoar_module.clients.http import HttpSession
from xsoar_module.clients.retry import RetryPolicy
from xsoar_module.errors import MalformedResponseError, UnavailableError

FAST = RetryPolicy(attempts=4, deadline=10.0, initial_wait=0.01, max_wait=0.05, max_retry_after=0.05)


@pytest.fixture
def server():
    plan = FaultPlan()
    app = web.Application(middlewares=[fault_middleware(plan)])
    hits: list[str] = []

    async def handle(request: web.Request) -> web.Response:
        hits.append(request.method)
        return web.json_response({"ok": True, "user_agent": request.headers.get("User-Agent")})

    app.router.add_route("*", "/thing", handle)
    with BackgroundServer(app) as running:
        running.plan, running.hits = plan, hits
        yield running


def session(url: str, retries: list[str] | None = None, **kwargs) -> HttpSession:
    on_retry = retries.append if retries is not None else None
    return HttpSession("Test service", url, {}, policy=FAST, on_retry=on_retry, **kwargs)


def test_5xx_and_429_are_retried_then_succeed(server):
    server.plan.script(Fault(status=503), Fault(status=429, retry_after=30), Fault(status=502))
    retries: list[str] = []
    response = session(server.url, retries).request("GET", "/thing")
    assert response.status_code == 200 and server.hits == ["GET"]
    assert len(retries) == 3
    assert "answered 503 Service Unavailable to GET /thing: retry 1/3" in retries[0]
    assert "in 0.05 s" in retries[1]  # Retry-After 30 s, capped by the policy


def test_exhausted_retries_say_what_happened(server):
    server.plan.script(*[Fault(status=503)] * 4)
    with pytest.raises(UnavailableError, match=r"still answered 503 .* after 4 attempt\(s\)"):
        session(server.url).request("GET", "/thing")


def test_4xx_is_returned_at_once(server):
    server.plan.script(Fault(status=400, body="bad field"))
    retries: list[str] = []
    assert session(server.url, retries).request("POST", "/thing", json={}).status_code == 400
    assert retries == []


def test_unreachable_host():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(UnavailableError, match=r"could not be reached at http://127.0.0.1:\d+/thing after 4"):
        session(f"http://127.0.0.1:{port}").request("GET", "/thing")


def test_a_dropped_connection_asks_the_resolver_before_retrying(server):
    server.plan.script(Fault(reset=True))
    asked: list[bool] = []
    response = session(server.url).request("POST", "/thing", json={}, on_unknown_outcome=lambda: asked.append(1))
    assert response.status_code == 200 and asked == [1]


def test_a_late_answer_can_be_resolved_without_resending(server):
    server.plan.script(Fault(delay_after=1.0))
    http = session(server.url, timeout=(1.0, 0.3))
    outcome = http.request_unless_found("POST", "/thing", lambda: "found it", json={})
    assert outcome == "found it" and http.requests_sent == 1 and server.hits == ["POST"]


async def unreachable(_request: web.Request) -> web.Response:
    raise AssertionError("the fault answers first")


def test_non_json_answers_are_reported():
    server_plan = FaultPlan().script(Fault(status=200, raw_body="<html>oops</html>"))
    app = web.Application(middlewares=[fault_middleware(server_plan)])
    app.router.add_get("/thing", unreachable)
    with BackgroundServer(app) as running:
        response = session(running.url).request("GET", "/thing")
        with pytest.raises(MalformedResponseError) as caught:
            parse_json(response, "Test service", "base_url")
        message = str(caught.value)
        assert "an HTML page (not JSON)" in message and "'<html>oops</html>'" in message
        assert f"{running.url}/thing" in message and "check base_url" in message


def test_user_agent_names_the_module(server):
    answer = session(server.url).request("GET", "/thing").json()
    assert answer["user_agent"].startswith("sekoiaio-cortex-xsoar-module/")


def test_a_request_that_cannot_be_sent_is_named_without_its_headers(server):
    http = HttpSession("Test service", server.url, {"X-Key": "bad\nheader-canary"}, policy=FAST)
    with pytest.raises(UnavailableError) as caught:
        http.request("GET", "/thing")
    assert "could not be sent (InvalidHeader)" in str(caught.value) and "canary" not in str(caught.value)


def test_once_unknown_the_outcome_is_checked_before_every_later_attempt(server):
    server.plan.script(Fault(delay_after=1.0), Fault(status=503))
    asked: list[int] = []
    http = session(server.url, timeout=(1.0, 0.3))
    assert http.request("POST", "/thing", json={}, on_unknown_outcome=lambda: asked.append(1)).status_code == 200
    assert len(asked) == 2
