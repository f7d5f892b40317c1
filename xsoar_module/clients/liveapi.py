"""Sekoia.io LiveAPI: a WebSocket notifying alert creations as they happen, kept open with pings and reconnections."""

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal, Protocol
from urllib.parse import urljoin

import orjson
from websockets.exceptions import ConnectionClosed, InvalidStatus, WebSocketException
from websockets.sync.client import ClientConnection, reconnect

from xsoar_module.errors import AuthenticationError, ConfigurationError
from xsoar_module.quoting import shorten
from xsoar_module.timing import LIVEAPI_RECONNECT, Backoff
from xsoar_module.version import USER_AGENT

KNOWN_TYPES = frozenset({"alert", "alert-comment"})
REFUSED_CLOSE_CODES = frozenset({4401, 4403})  # the LiveAPI's close codes for a refused (or expired) key
REFUSED_KEY = "set a valid api_key in the module configuration, whose role may read alerts"
Level = Literal["debug", "info", "warning", "error"]


class LiveApiAuthenticationError(AuthenticationError):
    """The LiveAPI refused the API key: reconnecting cannot help."""


class _NoRedirects(reconnect):
    """websockets' connection opener (what `connect` returns), refusing redirects, which it follows by default and
    has no option against: followed, a redirect drops the key cookie or sends the connection to another host."""

    def process_redirect(self, exc: Exception) -> Exception | str:
        return exc


@dataclass(frozen=True)
class AlertCreatedNotification:
    uuid: str
    short_id: str | None = None


@dataclass(frozen=True)
class Ignored:
    """A message that starts nothing; `reason` is worth a log line when set."""

    reason: str | None = None
    level: Level = "warning"


class LiveApiHandler(Protocol):
    """What the listener reports to its owner."""

    def connected(self) -> None: ...

    def disconnected(self) -> None: ...

    def notified(self, notification: AlertCreatedNotification) -> None: ...

    def alive(self) -> None: ...

    def log(self, message: str, level: Level) -> None: ...


def read_envelope(text: str | bytes) -> dict[str, Any] | Ignored:
    """One LiveAPI message of a known type (v2 envelope), or why it is ignored; raises LiveApiAuthenticationError on
    `{"authenticated": false}`."""
    try:
        body = orjson.loads(text)
    except orjson.JSONDecodeError:
        return Ignored("Ignored a LiveAPI message that is not JSON")
    if not isinstance(body, dict):
        return Ignored("Ignored a LiveAPI message that is not a JSON object")
    if "authenticated" in body:
        if body["authenticated"] is False:
            raise LiveApiAuthenticationError(
                f"The Sekoia.io LiveAPI rejected the API key (authenticated: false): {REFUSED_KEY}"
            )
        return Ignored()
    metadata = body.get("metadata")
    version = metadata.get("version") if isinstance(metadata, dict) else None
    if version != 2:
        return Ignored(f"Ignored a LiveAPI message of version {version or 1}: only version 2 is read", "debug")
    if body.get("type") not in KNOWN_TYPES:
        return Ignored(f"Ignored LiveAPI messages of unknown type {str(body.get('type'))[:40]!r}", "info")
    if not isinstance(body.get("attributes"), dict):
        body["attributes"] = {}
    return body


def parse_message(text: str | bytes) -> AlertCreatedNotification | Ignored:
    """Read one LiveAPI message: an alert creation, or ignored."""
    body = read_envelope(text)
    if isinstance(body, Ignored):
        return body
    if body.get("type") != "alert" or body.get("action") != "created":
        return Ignored()
    attributes = body["attributes"]
    uuid = attributes.get("uuid")
    if not isinstance(uuid, str) or not uuid.strip():
        return Ignored("Ignored an alert creation notification without an alert uuid")
    short_id = attributes.get("short_id")
    return AlertCreatedNotification(uuid.strip(), short_id if isinstance(short_id, str) else None)


MessageParser = Callable[[str | bytes], AlertCreatedNotification | Ignored]


def websocket_url(url: str) -> str:
    """`https://host/live/` -> `wss://host/live/` (the setting accepts either form)."""
    for web, socket in (("https://", "wss://"), ("http://", "ws://")):
        if url.startswith(web):
            return socket + url[len(web) :]
    return url


class LiveApiListener:
    """Keeps one LiveAPI connection open until stopped, reporting alert creations to the handler."""

    def __init__(
        self,
        url: str,
        api_key: str,
        handler: LiveApiHandler,
        *,
        backoff: Backoff = LIVEAPI_RECONNECT,
        stable_after: float = 60.0,
        parse: MessageParser | None = None,
        ping_interval: float = 20.0,
        receive_timeout: float = 1.0,
        open_timeout: float = 10.0,
    ):
        self.url = websocket_url(url)
        self._api_key = api_key
        self._handler = handler
        self._backoff = backoff
        self._stable_after = stable_after  # a connection that lived that long resets the backoff
        self._parse = parse or parse_message  # which messages notify the owner: alert creations by default
        self._ping_interval = ping_interval
        self._receive_timeout = receive_timeout
        self._open_timeout = open_timeout
        self._connection: ClientConnection | None = None
        self._stop = threading.Event()

    def run(self) -> None:
        """Connect, listen, reconnect with backoff, until `close()`; raises LiveApiAuthenticationError."""
        failures = 0
        while not self._stop.is_set():
            opened_at: list[float] = []
            try:
                self._listen(opened_at)
                reason = "was closed by the server"
            except InvalidStatus as exc:
                reason = self._refused(exc)
            except ConnectionClosed as exc:
                code = exc.rcvd.code if exc.rcvd else None
                if code in REFUSED_CLOSE_CODES:
                    raise LiveApiAuthenticationError(
                        f"The Sekoia.io LiveAPI closed the connection with code {code} (unauthorized): {REFUSED_KEY}"
                    ) from None
                reason = f"was closed ({code or 'no close code'})"
            except (OSError, TimeoutError, WebSocketException) as exc:
                reason = f"failed ({type(exc).__name__}: {str(exc)[:160] or 'no detail'})"
            if self._stop.is_set():
                return
            if opened_at and time.monotonic() - opened_at[0] >= self._stable_after:
                failures = 0
            failures += 1
            delay = self._backoff.delay(failures)
            if opened_at:
                self._handler.disconnected()
            self._handler.log(
                f"The LiveAPI connection to {self.url} {reason}: reconnecting in {delay:.1f} s (attempt {failures})",
                "warning",
            )
            self._stop.wait(delay)

    def _refused(self, exc: InvalidStatus) -> str:
        """Why the handshake was refused; raises what reconnecting cannot mend (a refused key, a redirect)."""
        status = exc.response.status_code
        if status in (401, 403):
            raise LiveApiAuthenticationError(
                f"The Sekoia.io LiveAPI refused the connection ({status}): {REFUSED_KEY}"
            ) from None
        location = exc.response.headers.get("Location")
        if 300 <= status < 400 and location:
            raise ConfigurationError(
                f"The Sekoia.io LiveAPI at {shorten(self.url)} redirected the connection ({status}) to "
                f"{shorten(urljoin(self.url, location))}: set liveapi_url to the address that answers (redirects are "
                "not followed: they would drop the API key or send it elsewhere)"
            ) from None
        return f"was refused with HTTP {status}"

    def close(self) -> None:
        """Stop listening (from any thread): the open connection is closed and `run()` returns."""
        self._stop.set()
        connection = self._connection
        if connection is not None:
            connection.close()

    def _listen(self, opened_at: list[float]) -> None:
        with _NoRedirects(
            self.url,
            additional_headers={"Cookie": f"access_token_cookie={self._api_key}"},
            user_agent_header=USER_AGENT,
            open_timeout=self._open_timeout,
            ping_interval=self._ping_interval,
            ping_timeout=self._ping_interval,
            close_timeout=2.0,
        ) as connection:
            self._connection = connection
            try:
                if self._stop.is_set():
                    return
                connection.send('{"action": "upgrade"}')
                opened_at.append(time.monotonic())
                self._handler.log(f"Listening to the LiveAPI at {self.url}", "info")
                self._handler.connected()
                self._receive(connection)
            finally:
                self._connection = None

    def _receive(self, connection: ClientConnection) -> None:
        while not self._stop.is_set():
            try:
                message = connection.recv(timeout=self._receive_timeout)
            except TimeoutError:
                self._handler.alive()  # the keepalive pings would have closed a dead connection
                continue
            self._handler.alive()
            outcome = self._parse(message)
            if isinstance(outcome, Ignored):
                if outcome.reason:
                    self._handler.log(outcome.reason, outcome.level)
            else:
                self._handler.notified(outcome)
