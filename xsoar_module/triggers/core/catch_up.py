"""Catch-up, shared by every trigger: list what changed since the checkpoint and emit what was not handled yet.

A LiveAPI trigger runs one whenever notifications may have been missed; a polling trigger runs one per poll.
`CatchUpSchedule` says when the next one is due (the earliest asked for wins).
"""

import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable
from typing import Generic

from xsoar_module.triggers.core.emitter import Emitter, Item, JsonObject

# The objects changed at or after an epoch second, oldest first; None for one deleted since it was listed
Lister = Callable[[int], Iterable[JsonObject | None]]


class CatchUp(Generic[Item]):
    """One pass over a listing, each object through the emitter (which skips what was already handled)."""

    def __init__(
        self, lister: Lister, emitter: Emitter[Item], *, heartbeat: Callable[[], None], stop: threading.Event
    ):
        self._lister = lister
        self._emitter = emitter
        self._heartbeat = heartbeat
        self._stop = stop

    def run(self, since: int) -> Counter[str] | None:
        """How many objects had each outcome; None when stopped first. The lister's errors propagate."""
        counts: Counter[str] = Counter()
        for received in self._lister(since):
            if self._stop.is_set():
                return None
            self._heartbeat()
            if received is None:
                counts["deleted since listed"] += 1
                continue
            outcome = self._emitter.handle(received)
            if outcome is None:
                return None
            counts[outcome] += 1
        return counts


def describe(counts: Counter[str], nothing: str) -> str:
    """`2 started a run, 1 already handled`."""
    return ", ".join(f"{count} {name}" for name, count in sorted(counts.items())) or nothing


class CatchUpSchedule:
    """When the next catch-up is due and why (thread-safe): a sooner request replaces a later one."""

    def __init__(self, wake: Callable[[], None]):
        self._wake = wake
        self._lock = threading.Lock()
        self._at: float | None = None
        self._reason = ""

    def schedule(self, delay: float, reason: str) -> None:
        at = time.monotonic() + delay
        with self._lock:
            if self._at is None or at < self._at:
                self._at, self._reason = at, reason
        if delay <= 0:
            self._wake()

    def wait_before(self, longest: float) -> float:
        """How long to wait for other work: until the next catch-up is due, at most `longest`."""
        with self._lock:
            if self._at is None:
                return longest
            return min(max(self._at - time.monotonic(), 0.0), longest)

    def take_due(self) -> str | None:
        """The reason of the catch-up due now (it is no longer scheduled), or None when none is due."""
        with self._lock:
            if self._at is None or time.monotonic() < self._at:
                return None
            self._at = None
            return self._reason
