"""'Not sent' is decided by the type of the connection error: a refused connection is retried as never sent."""

import socket

import pytest

from xsoar_module.clients.http import HttpSession
from xsoar_module.clients.retry import RetryPolicy
from xsoar_module.errors import UnavailableError


def test_a_refused_connection_is_never_an_unknown_outcome():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    http = HttpSession("Test", f"http://127.0.0.1:{port}", {}, policy=RetryPolicy(attempts=3, initial_wait=0.01))
    noticed: list[int] = []
    with pytest.raises(UnavailableError, match="could not be reached") as raised:
        http.request("POST", "/thing", json={}, on_unknown_outcome=lambda: noticed.append(1))
    assert noticed == [] and "may or may not have been processed" not in str(raised.value)
    assert http.requests_sent == 3
