"""One Alert Created session: LiveAPI notifications and catch-ups merged into one ordered, deduplicated emission.

Whenever notifications may have been missed (start, reconnection, full queue, failed fetch, and every few minutes as
a safety net), a catch-up lists the alerts created since the checkpoint, oldest first. One thread emits, skips what
was already handled, and moves the checkpoint only after the platform accepted the event (or the alert proved
unsendable).
"""

import threading
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError
from sekoia_automation.exceptions import SendEventError

from xsoar_module.clients.liveapi import RECONNECT, AlertCreatedNotification, Level, LiveApiListener
from xsoar_module.clients.sekoia import SekoiaClient
from xsoar_module.errors import AuthenticationError, ModuleError, NotFoundError
from xsoar_module.triggers.checkpoint import Ledger
from xsoar_module.timing import Backoff
from xsoar_module.timing import iso8601_seconds as iso8601_utc
from xsoar_module.triggers.intake import LiveIntake, Notified

MAX_FETCH_ATTEMPTS = 5
IDLE_WAIT = 0.5
STARTUP_GRACE = 10.0
POLL_WHILE_DISCONNECTED = 30.0
SAFETY_CATCH_UP = 300.0

Select = Callable[[dict[str, Any]], str | None]

# The platform or the storage failed, not the alert: its event is sent again until accepted
TRANSIENT_SEND_ERRORS = (SendEventError, OSError, BotoCoreError, ClientError)


def retry_delay(failures: int, first: float = 5.0, longest: float = 300.0) -> float:
    """`first`, doubling with each failure, at most `longest` seconds."""
    return min(first * 2 ** max(failures - 1, 0), longest)


def is_reduced(item: dict[str, Any]) -> bool:
    """A listing item in one of the reduced shapes of real listings: no uuid, rule or entity, or an urgency
    without its value (`{"display": ...}`)."""
    urgency = item.get("urgency")
    return (
        not item.get("uuid")
        or "rule" not in item
        or "entity" not in item
        or (isinstance(urgency, dict) and "current_value" not in urgency)
    )


def _label(alert: dict[str, Any]) -> str:
    return f"{alert.get('short_id') or '?'} ({alert.get('uuid')})"


class AlertFeed:
    """One trigger session: listens to the LiveAPI, catches up, emits each alert once, keeps the checkpoint."""

    def __init__(
        self,
        *,
        client: SekoiaClient,
        client_factory: Callable[[], SekoiaClient],
        liveapi_url: str,
        api_key: str,
        ledger: Ledger,
        select: Select,
        emit: Callable[[dict[str, Any]], None],
        log: Callable[[str, Level], None],
        heartbeat: Callable[[], None],
        stop: threading.Event,
        backoff: Backoff = RECONNECT,
        ping_interval: float = 20.0,
    ):
        self._client = client
        self._client_factory = client_factory
        self._ledger = ledger
        self._select = select
        self._emit = emit
        self._log = log
        self._heartbeat = heartbeat
        self._stop = stop
        self._listener = LiveApiListener(liveapi_url, api_key, self, backoff=backoff, ping_interval=ping_interval)
        self._intake = LiveIntake(self._fetch_one, self._fetch_many, ledger.is_done)
        self._thread_clients = threading.local()
        self._clients: list[SekoiaClient] = []
        self._clients_lock = threading.Lock()
        self._retries: dict[str, Notified] = {}
        self._schedule_lock = threading.Lock()
        self._catch_up_at: float | None = None
        self._catch_up_reason = ""
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
        self._schedule(STARTUP_GRACE, "the LiveAPI is not connected yet")
        try:
            while not self._stop.is_set():
                if self._listener_error is not None:
                    raise self._listener_error
                self._heartbeat()
                if self._catch_up_due():
                    self._catch_up()
                    continue
                entry = self._intake.take(self._idle_wait())
                if entry is None:
                    self._flush()
                else:
                    self._process(entry)
        finally:
            self._listener.close()
            self._intake.close()
            listener.join(timeout=5)
            self._flush()
            for client in self._clients:
                client.close()

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
        self._ledger.open_gap(self._last_alive)  # even if a catch-up ran while disconnected, alerts came since
        self._connected = True
        self._schedule(0.0, "the LiveAPI connection opened")

    def disconnected(self) -> None:
        self._connected = False
        self._ledger.open_gap(self._last_alive)
        self._schedule(POLL_WHILE_DISCONNECTED, "the LiveAPI is disconnected")

    def alive(self) -> None:
        self._last_alive = time.time()
        self._heartbeat()

    def log(self, message: str, level: Level) -> None:
        self._log(message, level)

    def alert_created(self, notification: AlertCreatedNotification) -> None:
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
        self._schedule(0.0, "the queue of notified alerts was full")
        self._log(
            f"The queue of notified alerts is full ({self._intake.capacity}): the next alerts are taken from the "
            "alert listing instead",
            "warning",
        )

    # -- live alerts --------------------------------------------------------------------------------------------

    def _fetch_one(self, uuid: str) -> dict[str, Any]:
        return self._thread_client().get_alert(uuid)

    def _fetch_many(self, uuids: list[str]) -> dict[str, dict[str, Any]]:
        return self._thread_client().get_alerts(uuids)

    def _thread_client(self) -> SekoiaClient:
        """Each fetch thread has its own client (its own HTTP session)."""
        client = getattr(self._thread_clients, "client", None)
        if client is None:
            client = self._thread_clients.client = self._client_factory()
            with self._clients_lock:
                self._clients.append(client)
        return client

    def _process(self, entry: Notified) -> None:
        if self._ledger.is_done(entry.uuid):
            self._ledger.release(entry.uuid)
            return
        error, alert = entry.error, entry.alert
        if isinstance(error, AuthenticationError):
            raise error
        if isinstance(error, NotFoundError) and entry.attempt > 1:
            self._ledger.release(entry.uuid)
            self._log(f"Alert {entry.uuid} was notified but Sekoia.io no longer has it (deleted): skipped", "info")
            return
        if error is not None or not isinstance(alert, dict):  # the catch-up or a later fetch gets it
            self._retry_later(entry, error or ValueError("the answer is not an alert"))
            return
        alert["uuid"] = alert.get("uuid") or entry.uuid
        self._handle(alert)

    def _retry_later(self, entry: Notified, exc: Exception) -> None:
        """Keep the alert pending (the checkpoint waits for it); a catch-up, then a new fetch, will get it."""
        self._retries[entry.uuid] = Notified(entry.uuid, entry.received_at, entry.attempt + 1)
        delay = retry_delay(entry.attempt, first=1.0, longest=120.0)
        self._schedule(delay, f"alert {entry.uuid} could not be fetched")
        self._log(
            f"Alert {entry.uuid} could not be fetched (attempt {entry.attempt}/{MAX_FETCH_ATTEMPTS}: {exc}): "
            f"kept pending, a catch-up in {delay:.0f} s will get it",
            "warning",
        )

    def _requeue_retries(self) -> None:
        for uuid, entry in list(self._retries.items()):
            if self._ledger.is_done(uuid):
                del self._retries[uuid]
            elif entry.attempt > MAX_FETCH_ATTEMPTS:
                del self._retries[uuid]
                self._ledger.release(uuid)
                self._log(
                    f"Alert {uuid} was notified but could not be fetched after {MAX_FETCH_ATTEMPTS} attempts and "
                    "no catch-up listed it: it started no run",
                    "error",
                )
            elif self._intake.offer(entry):
                del self._retries[uuid]

    # -- catch-up ----------------------------------------------------------------------------------------------

    def _schedule(self, delay: float, reason: str) -> None:
        at = time.monotonic() + delay
        with self._schedule_lock:
            if self._catch_up_at is None or at < self._catch_up_at:
                self._catch_up_at, self._catch_up_reason = at, reason
        if delay <= 0:
            self.wake()

    def _idle_wait(self) -> float:
        """How long to wait for a notification: until the next catch-up is due, at most IDLE_WAIT."""
        with self._schedule_lock:
            if self._catch_up_at is None:
                return IDLE_WAIT
            return min(max(self._catch_up_at - time.monotonic(), 0.0), IDLE_WAIT)

    def _catch_up_due(self) -> bool:
        with self._schedule_lock:
            if self._catch_up_at is None or time.monotonic() < self._catch_up_at:
                return False
            self._catch_up_at = None
            return True

    def _catch_up(self) -> None:
        reason, since, gaps = self._catch_up_reason, self._ledger.catch_up_since, self._ledger.gaps_opened
        counts: Counter[str] = Counter()
        try:
            for listed in self._client.iter_alerts_created_since(since):
                if self._stop.is_set():
                    return
                self._heartbeat()
                alert = self._full_alert(listed)
                uuid = alert.get("uuid") if isinstance(alert, dict) else None
                if alert is None:
                    counts["deleted since listed"] += 1
                elif not isinstance(uuid, str) or not uuid:
                    counts["unusable"] += 1
                elif self._ledger.is_done(uuid):
                    counts["already handled"] += 1
                else:
                    outcome = self._handle(alert)
                    if outcome is None:
                        return
                    counts[outcome] += 1
        except AuthenticationError:
            raise
        except ModuleError as exc:
            self._catch_up_failures += 1
            delay = retry_delay(self._catch_up_failures)
            self._schedule(delay, reason)
            self._log(
                f"Catch-up of the alerts created since {iso8601_utc(since)} failed ({exc}): retrying in {delay:.0f} s",
                "warning",
            )
            return
        self._catch_up_failures = 0
        self._ledger.close_gaps(gaps)
        self._flush()
        self._requeue_retries()
        if self._connected:
            self._schedule(SAFETY_CATCH_UP, "the periodic check for notifications that never came")
        else:
            self._schedule(POLL_WHILE_DISCONNECTED, "the LiveAPI is disconnected")
        summary = ", ".join(f"{count} {name}" for name, count in sorted(counts.items())) or "no alert listed"
        level: Level = "info" if counts.keys() - {"already handled"} else "debug"
        self._log(f"Caught up on the alerts created since {iso8601_utc(since)} ({reason}): {summary}", level)

    def _full_alert(self, item: Any) -> dict[str, Any] | None:
        """The listed alert, fetched whole when the listing gave a reduced item (None: deleted since listed)."""
        if not isinstance(item, dict) or not is_reduced(item):
            return item
        uuid = item.get("uuid")
        if isinstance(uuid, str) and uuid and self._ledger.is_done(uuid):
            return item
        alert_id = uuid or item.get("short_id")
        if not isinstance(alert_id, str) or not alert_id:
            return item
        try:
            return self._client.get_alert(alert_id)
        except NotFoundError:
            return None

    # -- emission ----------------------------------------------------------------------------------------------

    def _handle(self, alert: dict[str, Any]) -> str | None:
        """Emit the alert unless filtered out; the outcome, or None when stopped before it could be sent."""
        uuid, created_at = alert["uuid"], alert.get("created_at")
        if self._ledger.is_done(uuid):
            return "already handled"
        self._ledger.hold(uuid, created_at if isinstance(created_at, (int, float)) else time.time())
        reason = self._select(alert)
        if reason:
            self._ledger.done(uuid, created_at)
            self._log(f"Alert {_label(alert)} started no run: {reason}", "debug")
            return "filtered out"
        outcome = self._send(alert)
        if outcome is None:
            return None
        self._ledger.done(uuid, created_at)
        self._flush()
        return outcome

    def _send(self, alert: dict[str, Any]) -> str | None:
        """Emit until the platform accepts the event; the outcome, or None if stopped first (the alert stays pending).

        A failure of the platform or of the storage is retried; any other comes from the alert itself (e.g. a field
        of the wrong type), which could never be sent: it is logged and given up so that the next alerts go on.
        """
        failures = 0
        while not self._stop.is_set():
            try:
                self._emit(alert)
            except TRANSIENT_SEND_ERRORS as exc:
                failures += 1
                delay = retry_delay(failures, first=1.0)
                self._log(
                    f"Alert {_label(alert)} could not be sent to the playbook ({type(exc).__name__}: {exc}): "
                    f"retrying in {delay:.0f} s",
                    "error",
                )
                self._stop.wait(delay)
                continue
            except Exception as exc:
                self._log(
                    f"Alert {_label(alert)} cannot be sent to the playbook ({type(exc).__name__}: {exc}): given up, "
                    "it started no run",
                    "error",
                )
                return "could not be sent"
            rule = (alert.get("rule") or {}).get("name") if isinstance(alert.get("rule"), dict) else None
            self._log(
                f"Alert {_label(alert)} started a run (rule {rule!r}, created {iso8601_utc(alert.get('created_at') or 0)})",
                "info",
            )
            return "started a run"
        return None

    def _flush(self) -> None:
        try:
            self._ledger.flush()
        except OSError as exc:
            self._log(
                f"The checkpoint could not be saved ({exc}): saving again after the next alert; a restart before "
                "that may repeat the alerts sent since the last save",
                "error",
            )
