"""The simulated Sekoia.io's LiveAPI: authenticated WebSocket clients, their upgrade, and the messages pushed to
them (the test controls `notify`, `send_raw`, `drop_connections`, `wait_for_clients`)."""

import asyncio
import json
import time
from dataclasses import dataclass

from aiohttp import WSCloseCode, WSMsgType, web

from lab.doubles.sekoia.records import activity_notifications, created_notification
from lab.doubles.sekoia.workflow import Actor
from lab.doubles.server import BackgroundServer

LIVE_PATH = "/live/"
AUTH_COOKIE = "access_token_cookie"
CLOSE_UNAUTHORIZED = 4401
HEARTBEAT = 20.0


@dataclass(eq=False)
class LiveClient:
    socket: web.WebSocketResponse
    transport: asyncio.Transport | None
    upgraded: bool = False


def is_upgrade(text: str) -> bool:
    try:
        message = json.loads(text)
    except ValueError:
        return False
    return isinstance(message, dict) and message.get("action") == "upgrade"


class LiveApi:
    """The LiveAPI half of `SekoiaSimulator`: its WebSocket route and what it pushes."""

    _clients: set[LiveClient]
    _keys: dict[str, Actor]
    _serving: bool
    _server: BackgroundServer
    duplicate_notifications: bool
    liveapi_connections_total: int

    @property
    def connected_clients(self) -> int:
        """Authenticated LiveAPI connections, upgraded or not."""
        return len(self._clients)

    def notify(self, alert: dict) -> None:
        """Push the "alert created" message of `alert` (twice with `duplicate_notifications`)."""
        text = json.dumps(created_notification(alert))
        for _ in range(2 if self.duplicate_notifications else 1):
            self._push(text, upgraded_only=True)

    def notify_activity(self, alert: dict) -> None:
        """Push what else the LiveAPI says about an alert: `updated` (status, urgency), a comment, a case."""
        for message in activity_notifications(alert):
            self._push(json.dumps(message), upgraded_only=True)

    def send_raw(self, text: str) -> None:
        """Push a frame as is to every connected client, upgraded or not."""
        self._push(text, upgraded_only=False)

    def drop_connections(self) -> None:
        """Abort every LiveAPI connection without a closing handshake."""
        if self._serving:
            self._server.call(self._drop())

    def wait_for_clients(self, n: int = 1, timeout: float = 10.0, upgraded: bool = True) -> None:
        """Wait until `n` clients are connected and (unless `upgraded` is False) have sent their upgrade, so that
        they receive the next notification; TimeoutError otherwise."""
        deadline = time.monotonic() + timeout
        while sum(1 for client in list(self._clients) if client.upgraded or not upgraded) < n:
            if time.monotonic() >= deadline:
                raise TimeoutError(f"{n} LiveAPI client(s) expected, {self.connected_clients} connected")
            time.sleep(0.01)

    def _push(self, text: str, upgraded_only: bool) -> None:
        if self._serving:
            self._server.call(self._broadcast(text, upgraded_only))

    async def _broadcast(self, text: str, upgraded_only: bool) -> None:
        for client in list(self._clients):
            if client.upgraded or not upgraded_only:
                try:
                    await client.socket.send_str(text)
                except ConnectionError:
                    self._clients.discard(client)

    async def _drop(self) -> None:
        for client in list(self._clients):
            self._clients.discard(client)
            if client.transport is not None:
                client.transport.abort()

    async def _close_clients(self, _: web.Application) -> None:
        for client in list(self._clients):
            await client.socket.close(code=WSCloseCode.GOING_AWAY)

    async def _live(self, request: web.Request) -> web.WebSocketResponse:
        socket = web.WebSocketResponse(heartbeat=HEARTBEAT)
        await socket.prepare(request)
        if request.cookies.get(AUTH_COOKIE) not in self._keys:
            await socket.send_json({"authenticated": False, "message": f"missing or invalid {AUTH_COOKIE}"})
            await socket.close(code=CLOSE_UNAUTHORIZED, message=b"Unauthorized")
            return socket
        client = LiveClient(socket, request.transport)
        self._clients.add(client)
        self.liveapi_connections_total += 1
        try:
            await socket.send_json({"authenticated": True})
            async for message in socket:
                if message.type == WSMsgType.TEXT and is_upgrade(message.data):
                    client.upgraded = True
        finally:
            self._clients.discard(client)
        return socket
