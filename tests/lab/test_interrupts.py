"""A lab server's Ctrl-C: caught from the moment the server sets up, not only once it waits."""

import os
import signal
import threading

import pytest

from lab.doubles.server import Interrupts


@pytest.fixture
def restored_handlers():
    handlers = {number: signal.getsignal(number) for number in (signal.SIGINT, signal.SIGTERM)}
    yield
    for number, handler in handlers.items():
        signal.signal(number, handler)


@pytest.mark.parametrize("number", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_before_the_wait_ends_it_instead_of_raising(restored_handlers, number):
    interrupts = Interrupts()
    os.kill(os.getpid(), number)  # as a Ctrl-C while the server still prints its URLs: no KeyboardInterrupt
    waiting = threading.Thread(target=interrupts.wait, daemon=True)
    waiting.start()
    waiting.join(timeout=10)
    assert not waiting.is_alive()
