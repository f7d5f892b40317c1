"""The notified alerts waiting to be emitted: a bounded queue that a few threads fetch ahead, under a request rate.

A lone notification is fetched at once with `GET /v1/sic/alerts/{uuid}`; when several wait, one listing request
(`match[uuid]`) fetches up to a page of them, so that a burst costs a few requests instead of one per alert.
"""

import itertools
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from xsoar_module.timing import RateLimit

QUEUE_CAPACITY = 1000
FETCH_THREADS = 4
FETCH_BATCH = 100
FETCH_AHEAD = 200
FETCH_RATE = 4.0  # fetch requests a second on average
FETCH_BURST = 8  # at once

FetchOne = Callable[[str], dict[str, Any]]
FetchMany = Callable[[list[str]], dict[str, dict[str, Any]]]


@dataclass
class Notified:
    """A notified alert, then the outcome of its fetch (`alert` or `error`)."""

    uuid: str
    received_at: float
    attempt: int = 1
    claimed: bool = False
    fetched: bool = False
    alert: dict[str, Any] | None = field(default=None, repr=False)
    error: Exception | None = None


class LiveIntake:
    """Notified alerts in arrival order, bounded; `take()` hands them over fetched, oldest first."""

    def __init__(
        self,
        fetch_one: FetchOne,
        fetch_many: FetchMany,
        skip: Callable[[str], bool],
        *,
        rate: RateLimit | None = None,
        capacity: int = QUEUE_CAPACITY,
        threads: int = FETCH_THREADS,
        ahead: int = FETCH_AHEAD,
        batch: int = FETCH_BATCH,
    ):
        self._fetch_one = fetch_one
        self._fetch_many = fetch_many
        self._skip = skip
        self._rate = rate or RateLimit(FETCH_RATE, FETCH_BURST)
        self.capacity = capacity
        self._ahead = ahead
        self._batch = batch
        self._entries: deque[Notified] = deque()
        self._queued: set[str] = set()
        self._condition = threading.Condition()
        self._woken = False
        self._waiting = False
        self._closed = threading.Event()
        self._threads = [
            threading.Thread(target=self._work, name=f"alert-fetch-{number}", daemon=True) for number in range(threads)
        ]

    def __len__(self) -> int:
        return len(self._entries)

    def start(self) -> None:
        for thread in self._threads:
            thread.start()

    def close(self) -> None:
        """Stop fetching (a request under way ends on its own) and forget the queue."""
        self._closed.set()
        with self._condition:
            self._entries.clear()
            self._queued.clear()
            self._condition.notify_all()

    def offer(self, entry: Notified) -> bool:
        """Queue the alert (once); False when the queue is full."""
        with self._condition:
            if entry.uuid in self._queued:
                return True
            if len(self._entries) >= self.capacity:
                return False
            self._entries.append(entry)
            self._queued.add(entry.uuid)
            self._condition.notify_all()
            return True

    def take(self, timeout: float) -> Notified | None:
        """The oldest entry once fetched, or None after `timeout` or `wake()`."""
        with self._condition:
            self._condition.wait_for(lambda: self._head_fetched() or self._woken, timeout)
            self._woken = False
            if not self._head_fetched():
                return None
            entry = self._entries.popleft()
            self._queued.discard(entry.uuid)
            self._condition.notify_all()  # room to fetch one more ahead
            return entry

    def wake(self) -> None:
        """End a waiting `take()` now (there is other work)."""
        with self._condition:
            self._woken = True
            self._condition.notify_all()

    def _head_fetched(self) -> bool:
        return bool(self._entries) and self._entries[0].fetched

    def _claimable(self) -> bool:
        return any(not entry.claimed for entry in itertools.islice(self._entries, self._ahead))

    def _work(self) -> None:
        """One thread at a time waits for a request slot, then claims what accumulated meanwhile."""
        while not self._closed.is_set():
            with self._condition:
                self._condition.wait_for(lambda: self._closed.is_set() or (self._claimable() and not self._waiting))
                self._waiting = True
            allowed = self._rate.wait(self._closed)
            with self._condition:
                self._waiting = False
                batch = self._claim() if allowed else []
                self._condition.notify_all()
            if batch:
                self._fetch(batch)

    def _claim(self) -> list[Notified]:
        """The next unclaimed entries (up to a batch); those already handled need no request."""
        batch: list[Notified] = []
        for entry in itertools.islice(self._entries, self._ahead):
            if entry.claimed:
                continue
            entry.claimed = True
            if self._skip(entry.uuid):
                entry.fetched = True
                self._condition.notify_all()
                continue
            batch.append(entry)
            if len(batch) == self._batch:
                break
        return batch

    def _fetch(self, batch: list[Notified]) -> None:
        outcomes: dict[str, dict[str, Any] | Exception] = {}
        if len(batch) > 1:
            try:
                outcomes.update(self._fetch_many([entry.uuid for entry in batch]))
            except Exception as exc:  # the whole listing failed: each entry reports it
                outcomes = {entry.uuid: exc for entry in batch}
        for entry in batch:
            if entry.uuid in outcomes:
                continue
            if len(batch) > 1 and not self._rate.wait(self._closed):
                break
            try:  # a lone notification, or one the listing did not return (not listed yet, or deleted)
                outcomes[entry.uuid] = self._fetch_one(entry.uuid)
            except Exception as exc:
                outcomes[entry.uuid] = exc
        with self._condition:
            for entry in batch:
                outcome = outcomes.get(entry.uuid, InterruptedError("the trigger is stopping"))
                if isinstance(outcome, Exception):
                    entry.error = outcome
                else:
                    entry.alert = outcome
                entry.fetched = True
            self._condition.notify_all()
