"""Emission, shared by every trigger: each item once, filtered, sent until the platform accepts it, then checkpointed.

An item arrives as the service's JSON object; its kind says how to identify it (dedupe key, time for the
checkpoint, label for the logs) and parses it into the typed model the trigger's filter and event use.
"""

import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Generic, Protocol, TypeVar

from botocore.exceptions import BotoCoreError, ClientError
from sekoia_automation.exceptions import SendEventError
from sekoia_automation.module import LogLevelStr

if TYPE_CHECKING:  # the triggers' modules import this one for its types: main.py loads them in every block
    from xsoar_module.timing import Backoff
    from xsoar_module.triggers.core.checkpoint import Ledger
    from xsoar_module.triggers.core.counters import TriggerCounters

JsonObject = dict[str, Any]
Item = TypeVar("Item")
Log = Callable[[str, LogLevelStr], None]

# The platform or the storage failed, not the item: its event is sent again until accepted
TRANSIENT_SEND_ERRORS = (SendEventError, OSError, BotoCoreError, ClientError)


class Echo(str):
    """A selector's reason saying that the item is the module's own change: counted as an echo suppressed, not as
    filtered."""


def text_field(received: JsonObject, name: str) -> str | None:
    """A non-empty string field of a received item (its key), else None."""
    value = received.get(name)
    return value if isinstance(value, str) and value else None


def number_field(received: JsonObject, name: str) -> float | None:
    """A numeric field of a received item (its time), else None."""
    value = received.get(name)
    return value if isinstance(value, (int, float)) else None


class ItemKind(Protocol[Item]):
    """What a trigger emits: identity and time read from the received object, and its typed model."""

    def key(self, received: JsonObject) -> str | None:
        """The dedupe key (None: unusable)."""

    def time_of(self, received: JsonObject) -> float | None:
        """The epoch seconds the checkpoint follows (creation, update...)."""

    def label(self, received: JsonObject) -> str:
        """How logs name it: `Alert AL1 (uuid)`."""

    def parse(self, received: JsonObject) -> Item:
        """The typed model; ValueError (a one-line reason) when the object cannot be one."""

    def summary(self, item: Item) -> str:
        """What the log of a started run adds: `rule 'X', created 2025-...`."""


class Emitter(Generic[Item]):
    """Hands items to the platform, each once, and records them in the ledger."""

    def __init__(
        self,
        kind: ItemKind[Item],
        ledger: "Ledger",
        *,
        select: Callable[[Item], str | None],
        emit: Callable[[Item], None],
        log: Log,
        stop: threading.Event,
        retry: "Backoff",
        counters: "TriggerCounters",
    ):
        self.kind = kind
        self.counters = counters
        self._ledger = ledger
        self._select = select
        self._emit = emit
        self._log = log
        self._stop = stop
        self._retry = retry

    def handle(self, received: JsonObject) -> str | None:
        """Emit the item unless handled or filtered out; the outcome, or None when stopped before it was sent."""
        key, at = self.kind.key(received), self.kind.time_of(received)
        if not key:
            return "unusable"
        if self._ledger.is_done(key):
            return "already handled"
        self._ledger.hold(key, at if at is not None else time.time())
        try:
            item = self.kind.parse(received)
        except ValueError as exc:
            return self._give_up(key, at, self.kind.label(received), exc)
        reason = self._select(item)
        if reason:
            self._ledger.done(key, at)
            self.counters.count("echoes_suppressed" if isinstance(reason, Echo) else "filtered")
            self._log(f"{self.kind.label(received)} started no run: {reason}", "debug")
            return "filtered out"
        outcome = self._send(item, key, at, self.kind.label(received))
        if outcome is not None:
            self.flush()
        return outcome

    def flush(self) -> None:
        """Save the checkpoint if it changed; a failed save is logged and tried again after the next item."""
        try:
            self._ledger.flush()
        except OSError as exc:
            self._log(
                f"The checkpoint could not be saved ({exc}): saving again after the next alert; a restart before "
                "that may repeat the alerts sent since the last save",
                "error",
            )

    def _send(self, item: Item, key: str, at: float | None, label: str) -> str | None:
        """Emit until the platform accepts the event; the outcome, or None if stopped first (the item stays pending).

        A failure of the platform or of the storage is retried; any other comes from the item itself (e.g. a field
        of the wrong type), which could never be sent: it is logged and given up so that the next items go on.
        """
        failures = 0
        while not self._stop.is_set():
            try:
                self._emit(item)
            except TRANSIENT_SEND_ERRORS as exc:
                failures += 1
                delay = self._retry.delay(failures)
                self.counters.count("retried")
                self._log(
                    f"{label} could not be sent to the playbook ({type(exc).__name__}: {exc}): "
                    f"retrying in {delay:.0f} s",
                    "error",
                )
                self._stop.wait(delay)
                continue
            except Exception as exc:
                return self._give_up(key, at, label, exc)
            self._ledger.done(key, at)
            self.counters.emitted(time.time() - at if at is not None else None)
            self._log(f"{label} started a run ({self.kind.summary(item)})", "info")
            return "started a run"
        return None

    def _give_up(self, key: str, at: float | None, label: str, exc: Exception) -> str:
        self._ledger.done(key, at)
        self.counters.count("failed")
        self._log(
            f"{label} cannot be sent to the playbook ({type(exc).__name__}: {exc}): given up, it started no run",
            "error",
        )
        return "could not be sent"
