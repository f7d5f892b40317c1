"""Run an aiohttp application on 127.0.0.1 in a background thread, with fault plans applied."""

import asyncio
import errno
import signal
import ssl
import threading
from collections.abc import Coroutine
from typing import Any, Self

from aiohttp import web

from lab.doubles.faults import FaultPlan


class PortInUseError(RuntimeError):
    pass


class Interrupts:
    """Ctrl-C and SIGTERM, caught from creation on, also in a process started with SIGINT ignored (as background jobs
    are): one that comes before `wait()` (while a server prints its URLs, say) ends the wait at once instead of
    raising KeyboardInterrupt mid-way."""

    def __init__(self) -> None:
        self._received = threading.Event()
        for signal_number in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signal_number, lambda *_: self._received.set())

    def wait(self) -> None:
        """Block until one came."""
        while not self._received.wait(0.5):
            pass


def fault_middleware(plan: FaultPlan):
    """Apply the plan's faults before the real handler: latency, an error status, or a dropped connection."""

    @web.middleware
    async def apply_faults(request: web.Request, handler):
        fault = plan.draw(request.method, request.path_qs)
        if fault is None:
            return await handler(request)
        if fault.delay:
            await asyncio.sleep(fault.delay)
        if fault.reset:
            if request.transport is not None:
                request.transport.abort()
            raise asyncio.CancelledError()
        if fault.status is None:
            response = await handler(request)
            if fault.delay_after:
                await asyncio.sleep(fault.delay_after)
            return response
        headers = {"Retry-After": f"{fault.retry_after:g}"} if fault.retry_after is not None else None
        if fault.raw_body is not None:
            return web.Response(text=fault.raw_body, status=fault.status, headers=headers, content_type="text/html")
        return web.json_response(
            {"message": fault.body or f"injected fault {fault.status}"}, status=fault.status, headers=headers
        )

    return apply_faults


class BackgroundServer:
    """`start()` binds (port 0 = any free port) and serves until `stop()`."""

    def __init__(
        self,
        app: web.Application,
        host: str = "127.0.0.1",
        port: int = 0,
        name: str = "server",
        ssl_context: ssl.SSLContext | None = None,
    ):
        self.app = app
        self.ssl_context = ssl_context
        self.host = host
        self.port = port
        self.name = name
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name=name, daemon=True)
        self._runner: web.AppRunner | None = None

    @property
    def url(self) -> str:
        return f"{'https' if self.ssl_context else 'http'}://{self.host}:{self.port}"

    def start(self) -> "BackgroundServer":
        self._thread.start()
        try:
            self.call(self._start())
        except OSError as exc:
            self._loop.call_soon_threadsafe(self._loop.stop)
            if exc.errno == errno.EADDRINUSE:
                raise PortInUseError(
                    f"{self.name}: port {self.port} on {self.host} is already in use; choose another port"
                ) from None
            raise
        return self

    async def _start(self) -> None:
        self._runner = web.AppRunner(self.app, handle_signals=False, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port, reuse_address=False, ssl_context=self.ssl_context)
        await site.start()
        if addresses := self._runner.addresses:
            self.port = addresses[0][1]

    def call(self, coroutine: Coroutine[Any, Any, Any], timeout: float = 30.0) -> Any:
        """Run a coroutine on the server's loop from any thread and return its result."""
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(timeout)

    def stop(self) -> None:
        if self._runner is not None:
            self.call(self._runner.cleanup())
            self._runner = None
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)

    def __enter__(self) -> "BackgroundServer":
        return self.start()

    def __exit__(self, *_: Any) -> None:
        self.stop()


class LocalService:
    """Something served on 127.0.0.1 by a BackgroundServer (`self._server`): its URL, start/stop, `with` support."""

    _server: BackgroundServer

    @property
    def url(self) -> str:
        return self._server.url

    def start(self) -> Self:
        self._server.start()
        return self

    def stop(self) -> None:
        self._server.stop()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *_: Any) -> None:
        self.stop()
