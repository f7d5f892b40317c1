"""A LiveAPI trigger session: notifications and catch-ups merged into one ordered, deduplicated emission.

Whenever notifications may have been missed (start, reconnection, full queue, failed fetch, and every few minutes as
a safety net), a catch-up lists what changed since the checkpoint, oldest first. One thread emits, skips what was
already handled, and moves the checkpoint only after the platform accepted the event (or the item proved unsendable).
What is listened to, fetched and listed comes from a `LiveSource`; how items are identified and sent, from the
`Emitter`.
"""

import threading
import time
from collections.abc import Callable, Iterable
from typing import Generic, Protocol

from xsoar_module.clients.liveapi import AlertCreatedNotification, Level, LiveApiHandler
from xsoar_module.errors import AuthenticationError, ModuleError, NotFoundError
from xsoar_module.timing import iso8601_seconds
from xsoar_module.triggers.core.catch_up import CatchUp, CatchUpSchedule, describe
from xsoar_module.triggers.core.checkpoint import Ledger
from xsoar_module.triggers.core.emitter import Emitter, Item, JsonObject, Log
from xsoar_module.triggers.core.intake import LiveIntake, Notified
from xsoar_module.triggers.core.waits import LiveTimings


class Listener(Protocol):
    def run(self) -> None: ...

    def close(self) -> None: ...


class LiveSource(Protocol):
    """Where a LiveAPI trigger's items come from; the fetches run in the intake's threads."""

    what: str  # what a catch-up lists, for the logs: "the alerts created"

    def listener(self, handler: LiveApiHandler) -> Listener: ...

    def fetch_one(self, key: str) -> JsonObject: ...

    def fetch_many(self, keys: list[str]) -> dict[str, JsonObject]: ...

    def list_since(self, since: int) -> Iterable[JsonObject | None]: ...

    def close(self) -> None: ...


class LiveSession(Generic[Item]):
    """One trigger session: listens, catches up, emits each item once, keeps the checkpoint."""

    def __init__(
        self,
        source: LiveSource,
        emitter: Emitter[Item],
        ledger: Ledger,
        *,
        log: Log,
        heartbeat: Callable[[], None],
        stop: threading.Event,
        timings: LiveTimings,
    ):
        self._source = source
        self._emitter = emitter
        self._ledger = ledger
        self._log = log
        self._heartbeat = heartbeat
        self._stop = stop
        self._timings = timings
        self._listener = source.listener(self)
        self._intake = LiveIntake(source.fetch_one, source.fetch_many, ledger.is_done)
        self._schedule = CatchUpSchedule(self.wake)
        self._catch_up = CatchUp(source.list_since, emitter, heartbeat=self._heartbeat, stop=stop)
        self._retries: dict[str, Notified] = {}
        self._catch_up_failures = 0
        self._connected = False
        self._last_alive = time.time()
        self._listener_error: BaseException | None = None

    # -- the session -------------------------------------------------------------------------------------------

    def serve(self) -> None:
        """Run until the stop event; raises LiveApiAuthenticationError or AuthenticationError (bad credentials)."""
        self._ledger.open_gap(self._ledger.watermark)  # nothing listened while stopped: a catch-up must fill that
        listener = threading.Thread(target=self._listen, name="liveapi", daemon=True)
        listener.start()
        self._intake.start()
        self._schedule.schedule(self._timings.startup_grace, "the LiveAPI is not connected yet")
        try:
            while not self._stop.is_set():
                if self._listener_error is not None:
                    raise self._listener_error
                self._heartbeat()
                reason = self._schedule.take_due()
                if reason is not None:
                    self._run_catch_up(reason)
                    continue
                entry = self._intake.take(self._schedule.wait_before(self._timings.idle_wait))
                if entry is None:
                    self._emitter.flush()
                else:
                    self._process(entry)
        finally:
            self._listener.close()
            self._intake.close()
            listener.join(timeout=5)
            self._emitter.flush()
            self._source.close()

    def wake(self) -> None:
        """Have the main loop look at its state now (stop event, due catch-up)."""
        self._intake.wake()

    def _listen(self) -> None:
        try:
            self._listener.run()
        except BaseException as exc:  # reported by the main thread, which owns the error handling
            self._listener_error = exc

    # -- LiveApiHandler (called from the listener thread) --------------------------------------------------------

    def connected(self) -> None:
        self._ledger.open_gap(self._last_alive)  # even if a catch-up ran while disconnected, items came since
        self._connected = True
        self._schedule.schedule(0.0, "the LiveAPI connection opened")

    def disconnected(self) -> None:
        self._connected = False
        self._ledger.open_gap(self._last_alive)
        self._schedule.schedule(self._timings.poll_while_disconnected, "the LiveAPI is disconnected")

    def alive(self) -> None:
        self._last_alive = time.time()
        self._heartbeat()

    def log(self, message: str, level: Level) -> None:
        self._log(message, level)

    def notified(self, notification: AlertCreatedNotification) -> None:
        self.enqueue(Notified(notification.uuid, time.time()))

    def enqueue(self, entry: Notified) -> None:
        """Queue a notified alert, or leave it to a catch-up when the queue is full."""
        if self._ledger.is_done(entry.uuid):
            return  # a repeated notification
        self._ledger.hold(entry.uuid, entry.received_at)
        if self._intake.offer(entry):
            return
        self._ledger.open_gap(entry.received_at)
        self._ledger.release(entry.uuid)
        self._schedule.schedule(0.0, "the queue of notified alerts was full")
        self._log(
            f"The queue of notified alerts is full ({self._intake.capacity}): the next alerts are taken from the "
            "alert listing instead",
            "warning",
        )

    # -- notified items ------------------------------------------------------------------------------------------

    def _process(self, entry: Notified) -> None:
        if self._ledger.is_done(entry.uuid):
            self._ledger.release(entry.uuid)
            return
        error, received = entry.error, entry.alert
        if isinstance(error, AuthenticationError):
            raise error
        if isinstance(error, NotFoundError) and entry.attempt > 1:
            self._ledger.release(entry.uuid)
            self._log(f"Alert {entry.uuid} was notified but Sekoia.io no longer has it (deleted): skipped", "info")
            return
        if error is not None or not isinstance(received, dict):  # the catch-up or a later fetch gets it
            self._retry_later(entry, error or ValueError("the answer is not an alert"))
            return
        received["uuid"] = received.get("uuid") or entry.uuid
        outcome = self._emitter.handle(received)
        if outcome == "already handled":  # read back as a later change, emitted already: this one was superseded
            self._emitter.counters.count("superseded")
        if outcome is not None:
            self._ledger.release(entry.uuid)  # the notification's hold: an item's own key may differ (an update's)

    def _retry_later(self, entry: Notified, exc: Exception) -> None:
        """Keep the item pending (the checkpoint waits for it); a catch-up, then a new fetch, will get it."""
        self._retries[entry.uuid] = Notified(entry.uuid, entry.received_at, entry.attempt + 1)
        self._emitter.counters.count("retried")
        delay = self._timings.fetch_retry.delay(entry.attempt)
        self._schedule.schedule(delay, f"alert {entry.uuid} could not be fetched")
        self._log(
            f"Alert {entry.uuid} could not be fetched "
            f"(attempt {entry.attempt}/{self._timings.fetch_attempts}: {exc}): "
            f"kept pending, a catch-up in {delay:.0f} s will get it",
            "warning",
        )

    def _requeue_retries(self) -> None:
        attempts = self._timings.fetch_attempts
        for uuid, entry in list(self._retries.items()):
            if self._ledger.is_done(uuid):
                del self._retries[uuid]
            elif entry.attempt > attempts:
                del self._retries[uuid]
                self._ledger.release(uuid)
                self._emitter.counters.count("failed")
                self._log(
                    f"Alert {uuid} was notified but could not be fetched after {attempts} attempts and "
                    "no catch-up listed it: it started no run",
                    "error",
                )
            elif self._intake.offer(entry):
                del self._retries[uuid]

    # -- catch-up ----------------------------------------------------------------------------------------------

    def _run_catch_up(self, reason: str) -> None:
        since, gaps = self._ledger.catch_up_since, self._ledger.gaps_opened
        what = f"{self._source.what} since {iso8601_seconds(since)}"
        try:
            counts = self._catch_up.run(since)
        except AuthenticationError:
            raise
        except ModuleError as exc:
            self._catch_up_failures += 1
            self._emitter.counters.count("retried")
            delay = self._timings.catch_up_retry.delay(self._catch_up_failures)
            self._schedule.schedule(delay, reason)
            self._log(f"Catch-up of {what} failed ({exc}): retrying in {delay:.0f} s", "warning")
            return
        if counts is None:  # stopped
            return
        self._catch_up_failures = 0
        self._ledger.close_gaps(gaps)
        self._emitter.flush()
        self._requeue_retries()
        if self._connected:
            self._schedule.schedule(
                self._timings.safety_catch_up, "the periodic check for notifications that never came"
            )
        else:
            self._schedule.schedule(self._timings.poll_while_disconnected, "the LiveAPI is disconnected")
        level: Level = "info" if counts.keys() - {"already handled"} else "debug"
        self._log(f"Caught up on {what} ({reason}): {describe(counts, 'no alert listed')}", level)
