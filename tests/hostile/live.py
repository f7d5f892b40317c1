"""A LiveAPI stand-in whose frames a test writes itself: text, binary, huge, garbage, or a refusal."""

import threading
import time
from typing import Any

from aiohttp import WSMsgType, web

from lab.doubles.server import BackgroundServer


class LiveStub:
    """`GET /live/` (WebSocket): checks the `access_token_cookie`, answers `{"authenticated": ...}`, then sends
    whatever `send()` is given to every upgraded client.

    `reject`: "message" sends `{"authenticated": false}` and closes with 4401 once the client spoke; "close" closes
    with 4401 at once, without a message.
    """

    def __init__(self, api_key: str, reject: str | None = None):
        self.api_key = api_key
        self.reject = reject
        self.connections = 0
        self.upgrades = 0
        self._sockets: set[web.WebSocketResponse] = set()
        self._changed = threading.Condition()
        app = web.Application()
        app.router.add_get("/live/", self._live)
        app.router.add_get("/live", self._live)  # the module strips the setting's trailing slash
        app.on_shutdown.append(self._close_all)
        self._server = BackgroundServer(app, name="live-stub")

    @property
    def url(self) -> str:
        return self._server.url.replace("http://", "ws://") + "/live/"

    def send(self, frame: str | bytes) -> None:
        self._server.call(self._send(frame))

    def wait_for_upgrades(self, n: int, timeout: float = 20.0) -> None:
        deadline = time.monotonic() + timeout
        with self._changed:
            while self.upgrades < n:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError(f"{n} LiveAPI upgrade(s) expected, {self.upgrades} seen")
                self._changed.wait(min(remaining, 0.2))

    async def _send(self, frame: str | bytes) -> None:
        for socket in list(self._sockets):
            try:
                await (socket.send_bytes(frame) if isinstance(frame, bytes) else socket.send_str(frame))
            except (ConnectionError, RuntimeError):
                self._sockets.discard(socket)

    async def _close_all(self, _: web.Application) -> None:
        for socket in list(self._sockets):
            await socket.close()

    async def _live(self, request: web.Request) -> web.WebSocketResponse:
        socket = web.WebSocketResponse(max_msg_size=0)
        await socket.prepare(request)
        self.connections += 1
        if self.reject or request.cookies.get("access_token_cookie") != self.api_key:
            if self.reject != "close":
                await socket.send_json({"authenticated": False, "message": "missing or invalid access_token_cookie"})
                await socket.receive()
            await socket.close(code=4401, message=b"Unauthorized")
            return socket
        await socket.send_json({"authenticated": True})
        try:
            async for message in socket:
                if message.type == WSMsgType.TEXT and '"upgrade"' in message.data:
                    self._sockets.add(socket)
                    with self._changed:
                        self.upgrades += 1
                        self._changed.notify_all()
        finally:
            self._sockets.discard(socket)
        return socket

    def __enter__(self) -> "LiveStub":
        self._server.start()
        return self

    def __exit__(self, *_: Any) -> None:
        self._server.stop()
