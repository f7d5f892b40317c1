"""A trigger's monitoring servers (liveness, metrics) stop without waiting for their poll loops."""

import signal
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

from xsoar_module.triggers.alert_created import AlertCreatedTrigger

SLOW_POLL = 3600.0  # a poll loop that would never look again within the test: only a woken one can stop


class SlowExporter(threading.Thread):
    """Stands for the SDK's metrics exporter: its `httpd` serves until stopped."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.httpd = HTTPServer(("127.0.0.1", 0), BaseHTTPRequestHandler)

    def run(self) -> None:
        self.httpd.serve_forever(poll_interval=SLOW_POLL)

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def trigger():
    handlers = {number: signal.getsignal(number) for number in (signal.SIGINT, signal.SIGTERM)}
    yield AlertCreatedTrigger()
    for number, handler in handlers.items():  # the SDK's constructor takes SIGINT and SIGTERM
        signal.signal(number, handler)


@pytest.mark.parametrize("with_exporter", [True, False])
def test_stop_monitoring_wakes_the_servers_instead_of_waiting_for_their_poll(trigger, with_exporter):
    liveness = HTTPServer(("127.0.0.1", 0), BaseHTTPRequestHandler)
    serving = [threading.Thread(target=liveness.serve_forever, args=(SLOW_POLL,), daemon=True)]
    trigger._liveness_server = liveness
    if with_exporter:
        trigger._exporter = SlowExporter()
        serving.append(trigger._exporter)
    for thread in serving:
        thread.start()
    stopping = threading.Thread(target=trigger.stop_monitoring, daemon=True)
    stopping.start()
    stopping.join(timeout=10)
    assert not stopping.is_alive(), "stop_monitoring waited for a poll loop"
    assert not any(thread.is_alive() for thread in serving)
    assert trigger._liveness_server is None and trigger._exporter is None
    assert liveness.socket.fileno() == -1  # closed
