"""The LiveAPI listener against a small local WebSocket server: auth, upgrade, messages, keep-alive, reconnection."""

import contextlib
import json
import threading
import time
from collections.abc import Callable

import pytest
from websockets.sync.server import Server, ServerConnection, serve

from tests.support import SAMPLES
from xsoar_module.clients.liveapi import (
    AlertCreatedNotification,
    Ignored,
    LiveApiAuthenticationError,
    LiveApiListener,
    parse_message,
)
from xsoar_module.errors import ConfigurationError
from xsoar_module.timing import Backoff

KEY = "liveapi-key-canary-0042"
FAST = Backoff(first=0.05, factor=2.0, longest=0.2, jitter=0.2)


def v2(kind: str, action: str, **attributes: object) -> str:
    metadata = {"version": 2, "uuid": "m-1", "created_at": "2026-11-28T08:00:00+00:00", "community_uuid": "c"}
    return json.dumps({"metadata": metadata, "type": kind, "action": action, "attributes": attributes})


class Recorder:
    """A LiveApiHandler that keeps everything it is told."""

    def __init__(self) -> None:
        self.notifications: list[AlertCreatedNotification] = []
        self.logs: list[tuple[str, str]] = []
        self.connections = 0
        self.disconnections = 0
        self.alive_calls = 0
        self.changed = threading.Condition()

    def connected(self) -> None:
        self._record(lambda: setattr(self, "connections", self.connections + 1))

    def disconnected(self) -> None:
        self._record(lambda: setattr(self, "disconnections", self.disconnections + 1))

    def notified(self, notification: AlertCreatedNotification) -> None:
        self._record(lambda: self.notifications.append(notification))

    def alive(self) -> None:
        self._record(lambda: setattr(self, "alive_calls", self.alive_calls + 1))

    def log(self, message: str, level: str) -> None:
        self._record(lambda: self.logs.append((level, message)))

    def wait_until(self, done: Callable[[], bool], timeout: float = 5.0) -> None:
        deadline = time.monotonic() + timeout
        with self.changed:
            while not done():
                remaining = deadline - time.monotonic()
                assert remaining > 0, f"timed out; logs: {self.logs}"
                self.changed.wait(remaining)

    def _record(self, change: Callable[[], object]) -> None:
        with self.changed:
            change()
            self.changed.notify_all()


class StubLiveApi:
    """Each connection runs `session(connection, number)`; `refuse(number)` may answer an HTTP status instead."""

    def __init__(
        self, session: Callable[[ServerConnection, int], None], refuse: Callable[[int], int | None] | None = None
    ):
        self.session = session
        self.refuse = refuse or (lambda _number: None)
        self.location: str | None = None  # sent with a refusal, making it a redirect
        self.cookies: list[str | None] = []
        self.attempts = 0
        self._server: Server | None = None

    @property
    def url(self) -> str:
        assert self._server is not None
        return f"ws://127.0.0.1:{self._server.socket.getsockname()[1]}/live/"

    def __enter__(self) -> "StubLiveApi":
        self._server = serve(self._handle, "127.0.0.1", 0, process_request=self._process_request)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *_: object) -> None:
        assert self._server is not None
        self._server.shutdown()

    def _process_request(self, connection: ServerConnection, request):
        self.attempts += 1
        self.cookies.append(request.headers.get("Cookie"))
        status = self.refuse(self.attempts)
        if not status:
            return None
        response = connection.respond(status, "refused\n")
        if self.location:
            response.headers["Location"] = self.location
        return response

    def _handle(self, connection: ServerConnection) -> None:
        self.session(connection, self.attempts)


def authenticated_then(*frames: str, hold: float = 30.0) -> Callable[[ServerConnection, int], None]:
    """Say authenticated, wait for the upgrade, send the frames, keep the connection open for `hold` seconds."""

    def session(connection: ServerConnection, _number: int) -> None:
        connection.send(json.dumps({"authenticated": True}))
        assert json.loads(connection.recv(timeout=5)) == {"action": "upgrade"}
        for frame in frames:
            connection.send(frame)
        with contextlib.suppress(Exception):  # timeout or closed by the client
            connection.recv(timeout=hold)

    return session


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


def running(listener: LiveApiListener) -> threading.Thread:
    thread = threading.Thread(target=listener.run, daemon=True)
    thread.start()
    return thread


def stop(listener: LiveApiListener, thread: threading.Thread) -> None:
    started = time.monotonic()
    listener.close()
    thread.join(timeout=5)
    assert not thread.is_alive(), "close() did not end run()"
    assert time.monotonic() - started < 4


# -- message parsing ----------------------------------------------------------------------------------------------


def test_parse_alert_created():
    message = v2("alert", "created", uuid="5f3c9a1e", short_id="ALz7Qm3KpW2x")
    assert parse_message(message) == AlertCreatedNotification("5f3c9a1e", "ALz7Qm3KpW2x")
    assert parse_message(message.encode()) == AlertCreatedNotification("5f3c9a1e", "ALz7Qm3KpW2x")


def test_parse_the_reference_sample():
    with open(SAMPLES / "notification_alert_created.json") as sample:
        assert parse_message(sample.read()).uuid == "5f3c9a1e-8d2b-4c7a-9e41-0b6d2f8a7c13"


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("not json {", "not JSON"),
        ("[1, 2]", "not a JSON object"),
        (json.dumps({"type": "alert", "action": "created", "attributes": {"uuid": "u"}}), "version 1"),
        (v2("report", "created", uuid="u"), "unknown type 'report'"),
        (v2("alert", "created", short_id="ALx"), "without an alert uuid"),
        (v2("alert", "created", uuid="  "), "without an alert uuid"),
        (json.dumps({"metadata": {"version": 2}, "type": "alert", "action": "created", "attributes": "x"}), "uuid"),
    ],
)
def test_parse_bad_or_foreign_messages_gives_a_reason(text: str, reason: str):
    outcome = parse_message(text)
    assert isinstance(outcome, Ignored) and reason in (outcome.reason or "")


@pytest.mark.parametrize(
    "text",
    [
        json.dumps({"authenticated": True}),
        v2("alert", "updated", uuid="u", updated={"status_name": "Acknowledged"}),
        v2("alert-comment", "created", uuid="c", alert_uuid="u"),
    ],
)
def test_parse_normal_traffic_is_ignored_silently(text: str):
    assert parse_message(text) == Ignored()


def test_parse_authenticated_false_is_a_bad_key():
    with pytest.raises(LiveApiAuthenticationError, match="api_key"):
        parse_message(json.dumps({"authenticated": False, "message": "invalid cookie"}))


def test_backoff_grows_and_is_capped():
    backoff = Backoff(first=1.0, factor=2.0, longest=8.0, jitter=0.2)
    for failures, base in [(1, 1.0), (2, 2.0), (3, 4.0), (4, 8.0), (10, 8.0)]:
        assert base * 0.8 <= backoff.delay(failures) <= base * 1.2


# -- the listener -------------------------------------------------------------------------------------------------


def test_listener_authenticates_upgrades_and_reports_alert_creations(recorder: Recorder):
    frames = [
        json.dumps({"type": "alert", "action": "created", "attributes": {"uuid": "v1"}}),
        v2("alert", "created", uuid="a-1", short_id="ALone"),
        v2("alert", "updated", uuid="a-1", updated={}),
        "garbage",
        v2("alert", "created", uuid="a-2"),
    ]
    with StubLiveApi(authenticated_then(*frames)) as stub:
        listener = LiveApiListener(stub.url, KEY, recorder, backoff=FAST)
        thread = running(listener)
        recorder.wait_until(lambda: len(recorder.notifications) == 2)
        stop(listener, thread)
    assert stub.cookies == [f"access_token_cookie={KEY}"]
    assert recorder.notifications == [AlertCreatedNotification("a-1", "ALone"), AlertCreatedNotification("a-2")]
    assert recorder.connections == 1 and recorder.disconnections == 0
    assert ("warning", "Ignored a LiveAPI message that is not JSON") in recorder.logs
    assert all(KEY not in message for _, message in recorder.logs)


def test_listener_reconnects_after_a_drop(recorder: Recorder):
    def session(connection: ServerConnection, number: int) -> None:
        if number == 1:
            connection.send(json.dumps({"authenticated": True}))
            connection.recv(timeout=5)
            connection.send(v2("alert", "created", uuid="before-drop"))
            recorder.wait_until(lambda: len(recorder.notifications) == 1)  # received before the drop
            connection.close()
            return
        authenticated_then(v2("alert", "created", uuid="after-drop"))(connection, number)

    with StubLiveApi(session) as stub:
        listener = LiveApiListener(stub.url, KEY, recorder, backoff=FAST)
        thread = running(listener)
        recorder.wait_until(lambda: len(recorder.notifications) == 2)
        stop(listener, thread)
    assert [n.uuid for n in recorder.notifications] == ["before-drop", "after-drop"]
    assert recorder.connections == 2 and recorder.disconnections == 1
    assert any("reconnecting in" in message and "attempt 1" in message for _, message in recorder.logs)


def test_listener_retries_refused_handshakes_with_growing_delays(recorder: Recorder):
    with StubLiveApi(authenticated_then(), refuse=lambda number: 503 if number <= 3 else None) as stub:
        listener = LiveApiListener(stub.url, KEY, recorder, backoff=FAST)
        thread = running(listener)
        recorder.wait_until(lambda: recorder.connections == 1)
        stop(listener, thread)
    refusals = [message for _, message in recorder.logs if "refused with HTTP 503" in message]
    assert [m.rsplit("attempt ", 1)[1] for m in refusals] == ["1)", "2)", "3)"]
    assert recorder.disconnections == 0  # never connected in between: no gap to report


def test_a_stable_connection_resets_the_backoff(recorder: Recorder):
    def session(connection: ServerConnection, number: int) -> None:
        connection.send(json.dumps({"authenticated": True}))
        connection.recv(timeout=5)
        time.sleep(0.4 if number == 3 else 0.0)
        connection.close()

    backoff = Backoff(first=0.05, factor=2.0, longest=0.2, jitter=0.2)
    with StubLiveApi(session) as stub:
        listener = LiveApiListener(stub.url, KEY, recorder, backoff=backoff, stable_after=0.3)
        thread = running(listener)
        recorder.wait_until(lambda: recorder.connections >= 4)
        stop(listener, thread)
    attempts = [message.rsplit("attempt ", 1)[1] for _, message in recorder.logs if "reconnecting" in message]
    assert attempts[:3] == ["1)", "2)", "1)"]


def test_authenticated_false_stops_with_an_authentication_error(recorder: Recorder):
    def session(connection: ServerConnection, _number: int) -> None:
        connection.send(json.dumps({"authenticated": False, "message": "invalid cookie"}))
        connection.close(4401)

    with StubLiveApi(session) as stub:
        listener = LiveApiListener(stub.url, "wrong-key", recorder, backoff=FAST)
        # the close may come before the message is read (the upgrade's send fails): both name the key's refusal
        with pytest.raises(LiveApiAuthenticationError, match="authenticated: false|code 4401"):
            listener.run()


def test_a_close_with_4401_stops_with_an_authentication_error(recorder: Recorder):
    def session(connection: ServerConnection, _number: int) -> None:
        connection.close(4401, "Unauthorized")

    with StubLiveApi(session) as stub:
        listener = LiveApiListener(stub.url, "wrong-key", recorder, backoff=FAST)
        with pytest.raises(LiveApiAuthenticationError, match="code 4401.*api_key"):
            listener.run()
    assert stub.attempts == 1


def test_a_redirect_is_refused_naming_liveapi_url_and_its_target(recorder: Recorder):
    with StubLiveApi(authenticated_then(), refuse=lambda _number: 302) as stub:
        stub.location = "ws://elsewhere.example/live/?token=x"
        listener = LiveApiListener(stub.url, "key", recorder, backoff=FAST)
        with pytest.raises(
            ConfigurationError, match=r"redirected the connection \(302\) to ws://elsewhere.*liveapi_url"
        ):
            listener.run()
    assert stub.attempts == 1


@pytest.mark.parametrize("status", [401, 403])
def test_a_refused_key_at_the_handshake_is_an_authentication_error(recorder: Recorder, status: int):
    with StubLiveApi(authenticated_then(), refuse=lambda _number: status) as stub:
        listener = LiveApiListener(stub.url, "wrong-key", recorder, backoff=FAST)
        with pytest.raises(LiveApiAuthenticationError, match=f"refused the connection \\({status}\\)"):
            listener.run()


def test_a_quiet_connection_still_reports_alive(recorder: Recorder):
    with StubLiveApi(authenticated_then()) as stub:
        listener = LiveApiListener(stub.url, KEY, recorder, backoff=FAST, receive_timeout=0.05, ping_interval=0.1)
        thread = running(listener)
        recorder.wait_until(lambda: recorder.alive_calls >= 8)
        stop(listener, thread)
    assert recorder.connections == 1 and recorder.disconnections == 0  # pings answered: never dropped


def test_an_unreachable_server_is_retried_until_closed(recorder: Recorder):
    listener = LiveApiListener("ws://127.0.0.1:9/live/", KEY, recorder, backoff=FAST)
    thread = running(listener)
    recorder.wait_until(lambda: len(recorder.logs) >= 2)
    stop(listener, thread)
    assert all("reconnecting in" in message for _, message in recorder.logs)
