"""Sekoia.io's published request budget (SEKOIA.md section 9), enforced per client (API key) when asked.

Rules, over the last second of the simulator's clock: a client may make 5 requests (those answered count, refused
ones do not); the next ones answer 429. More than 8 error answers (4xx, the 429s included) or more than 100
requests (all, refused ones included) is an anomaly: the client is blocked, every request answered 429, for
`block_seconds` (30 s; the real block lasts 30 s to 10 minutes). Unconfirmed, hence choices of this simulator: the
window slides (no fixed second boundaries), the 429 carries no `Retry-After`, requests refused during a block do
not extend it, 5xx answers (the fault plan's) are not the client's errors.
"""

import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

WINDOW = 1.0


@dataclass(frozen=True)
class BudgetRules:
    """The thresholds, per client and per second, and how long an anomaly blocks."""

    requests_per_second: int = 5
    errors_per_second: int = 8
    anomaly_requests_per_second: int = 100
    block_seconds: float = 30.0


@dataclass
class ClientCounts:
    """What one client sent and was answered: `requests` all of them, `refused` those the budget answered 429
    (`blocked` of them during a block), `errors` every 4xx, `blocks` the anomalies that blocked it."""

    requests: int = 0
    refused: int = 0
    blocked: int = 0
    errors: int = 0
    blocks: int = 0
    _sent: deque[float] = field(default_factory=deque, repr=False)
    _admitted: deque[float] = field(default_factory=deque, repr=False)
    _errors: deque[float] = field(default_factory=deque, repr=False)
    _blocked_until: float = field(default=float("-inf"), repr=False)


def _recent(times: deque[float], now: float) -> int:
    """Drop the times older than the window; how many remain."""
    while times and times[0] <= now - WINDOW:
        times.popleft()
    return len(times)


class RequestBudget:
    """Admits or refuses each request of a client and counts them; `clock` gives seconds (monotonic)."""

    def __init__(self, rules: BudgetRules | None = None, clock: Callable[[], float] = time.monotonic):
        self.rules = rules or BudgetRules()
        self.clock = clock
        self.counts: dict[str, ClientCounts] = {}

    def admit(self, client: str) -> str | None:
        """Count a request of `client`; None to serve it, else the reason of its 429."""
        counts = self.counts.setdefault(client, ClientCounts())
        now = self.clock()
        counts.requests += 1
        counts._sent.append(now)
        if _recent(counts._sent, now) > self.rules.anomaly_requests_per_second:
            self._block(counts, now)
        if now < counts._blocked_until:
            counts.refused += 1
            counts.blocked += 1
            return f"Too many requests: this client is blocked for {counts._blocked_until - now:.0f} s (anomaly)"
        if _recent(counts._admitted, now) >= self.rules.requests_per_second:
            counts.refused += 1
            return f"Too many requests: more than {self.rules.requests_per_second} requests a second"
        counts._admitted.append(now)
        return None

    def answered(self, client: str, status: int) -> None:
        """Record the status answered to a request of `client`: an error storm blocks it."""
        if not 400 <= status < 500:
            return
        counts = self.counts.setdefault(client, ClientCounts())
        now = self.clock()
        counts.errors += 1
        counts._errors.append(now)
        if _recent(counts._errors, now) > self.rules.errors_per_second:
            self._block(counts, now)

    @property
    def total(self) -> ClientCounts:
        """The counts of every client summed (windows left empty)."""
        summed = ClientCounts()
        for counts in self.counts.values():
            for name in ("requests", "refused", "blocked", "errors", "blocks"):
                setattr(summed, name, getattr(summed, name) + getattr(counts, name))
        return summed

    def _block(self, counts: ClientCounts, now: float) -> None:
        if now >= counts._blocked_until:
            counts.blocks += 1
            counts._blocked_until = now + self.rules.block_seconds
