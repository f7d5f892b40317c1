"""The one timing core: backoff with jitter, deadlines, poll schedules and ISO-8601 times. No I/O.

Every client and trigger takes its waits from here: HTTP retries (through tenacity), LiveAPI reconnections,
search job polls, catch-up and send retries.
"""

import math
import random
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any


@dataclass(frozen=True)
class Backoff:
    """`first` seconds, times `factor` after each failure, at most `longest`; `jitter` spreads each delay by that
    fraction either way (0.2: from 0.8 to 1.2 times the delay) so that many clients do not retry in step."""

    first: float = 1.0
    factor: float = 2.0
    longest: float = 60.0
    jitter: float = 0.0

    def delay(self, failures: int) -> float:
        """The wait after the `failures`-th failure in a row (1 for the first)."""
        base = min(self.first * self.factor ** max(failures - 1, 0), self.longest)
        if not self.jitter:
            return base
        return base * random.uniform(1.0 - self.jitter, 1.0 + self.jitter)


@dataclass(frozen=True)
class Clock:
    """Monotonic seconds and a way to wait: the system's, or a test's that moves only when slept on."""

    now: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep


SYSTEM_CLOCK = Clock()


class Deadline:
    """A point in monotonic time, `seconds` from its creation: how long remains until it."""

    def __init__(self, seconds: float, clock: Clock = SYSTEM_CLOCK):
        self._clock = clock
        self._at = clock.now() + seconds

    def remaining(self) -> float:
        """Seconds left, 0 once passed."""
        return max(self._at - self._clock.now(), 0.0)


LIVEAPI_RECONNECT = Backoff(first=0.5, factor=2.0, longest=60.0, jitter=0.2)  # reconnect soon, then less often
# Search an alert's events again while Sekoia.io has not indexed them all: soon (most arrive within seconds), then
# every 8 s at most (a search is 3 requests or more: well within 5 requests a second)
INDEXING_BACKOFF = Backoff(first=0.5, factor=1.5, longest=8.0, jitter=0.2)


@dataclass(frozen=True)
class PollSchedule:
    """Check at once, then at short, growing intervals (`first`, times `factor`, at most `longest`), until
    `timeout` seconds have passed."""

    first: float = 0.025
    factor: float = 1.5
    longest: float = 2.0
    timeout: float = 300.0

    def delays(self) -> Iterator[float]:
        """The waits between two polls, without end: the caller stops at its deadline."""
        delay = self.first
        while True:
            yield delay
            delay = min(delay * self.factor, self.longest)


class RateLimit:
    """At most `per_second` requests a second on average, `burst` at once (thread-safe), on `clock`'s time."""

    def __init__(self, per_second: float, burst: int, clock: Clock = SYSTEM_CLOCK):
        self._interval = 1.0 / per_second
        self._allowance = (burst - 1) * self._interval
        self._next = 0.0
        self._lock = threading.Lock()
        self._clock = clock

    def wait(self, stop: threading.Event) -> bool:
        """Wait for the next slot (on `stop`, so that a stop ends the wait); False when stopped first."""
        with self._lock:
            now = self._clock.now()
            slot = max(self._next, now - self._allowance)
            self._next = slot + self._interval
        return slot <= now or not stop.wait(slot - now)


def iso8601(moment: datetime) -> str:
    """ISO-8601 UTC with a Z, to the microsecond when there is a fraction (`2025-11-28T08:00:00.250000Z`)."""
    moment = moment.astimezone(UTC)
    return moment.isoformat(timespec="microseconds" if moment.microsecond else "seconds").replace("+00:00", "Z")


def epoch_to_iso8601(seconds: float) -> str:
    """Epoch seconds -> ISO-8601 UTC with a Z, to the millisecond when there is a fraction (XSOAR's `occurred`)."""
    moment = datetime.fromtimestamp(seconds, UTC)
    text = moment.isoformat(timespec="milliseconds" if moment.microsecond else "seconds")
    return text.replace("+00:00", "Z")


def iso8601_seconds(epoch: float) -> str:
    """Epoch seconds -> `2025-11-28T08:00:00Z` (whole seconds), as the alert listing's date filter takes them."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch))


def parse_iso8601(text: str) -> datetime | None:
    """An ISO-8601 time as an aware datetime (UTC when it has no zone); None when it is not one."""
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def epoch(value: Any) -> int | None:
    """Whole epoch seconds from a number or an ISO-8601 text (UTC when it has no zone); None otherwise."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return int(value) if math.isfinite(value) else None
    moment = parse_iso8601(value) if isinstance(value, str) else None
    return int(moment.timestamp()) if moment is not None else None


def xsoar_epoch(value: Any) -> float | None:
    """Epoch seconds of an XSOAR time; None for an absent one or XSOAR's zero time (year 1)."""
    moment = parse_iso8601(value) if isinstance(value, str) and value else None
    if moment is None or moment.year < 1971:
        return None
    return moment.timestamp()
