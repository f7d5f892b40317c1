"""Incident Updated: one playbook run per change of an XSOAR incident this module created (closed, reopened, note).

The trigger polls the XSOAR REST API every `interval` seconds (backing off while XSOAR fails), compares the incidents
with their remembered states (`incident_state.py`), and emits each change once through the shared Emitter and
Ledger: a restart resumes from the persisted checkpoint without loss or repeat. The module's own changes (marked)
are not emitted.
"""

from typing import TYPE_CHECKING

from pydantic import Field

from xsoar_module.errors import ModuleError
from xsoar_module.models.incident_event import IncidentUpdatedEvent
from xsoar_module.module import configuration_of
from xsoar_module.triggers.core.base import FATAL_ERRORS, ModuleTrigger, TriggerSettings

if TYPE_CHECKING:  # the polling machinery loads when the trigger runs, not in the actions' processes (main.py)
    from xsoar_module.clients.xsoar import XsoarClient
    from xsoar_module.timing import Backoff
    from xsoar_module.triggers.core.catch_up import CatchUp
    from xsoar_module.triggers.core.checkpoint import Ledger
    from xsoar_module.triggers.incident_state import IncidentStates
    from xsoar_module.triggers.incidents import IncidentChanges

CHECKPOINT_FILE = "incident_updated_checkpoint.json"
POLLED = "<polled until>"  # the ledger key whose time is the newest modification a complete poll saw
LONGEST_BACKOFF = 300.0


class IncidentUpdatedConfiguration(TriggerSettings):
    """How often XSOAR is polled and how many open incidents have their war room read on each poll."""

    interval: float = Field(30.0, ge=0.1, le=3600, description="Seconds between two polls of XSOAR (default 30)")
    watched_open_incidents: int = Field(
        100,
        ge=0,
        le=5000,
        description="Each poll also reads the war rooms of this many open incidents, taking turns through all the "
        "open incidents this module created, for notes that leave the incident's modified time alone (0: only "
        "incidents whose modified time moved)",
    )

    def backoff(self) -> "Backoff":
        """The waits after failed polls: the interval, doubled after each failure, at most 5 minutes."""
        from xsoar_module.timing import Backoff

        return Backoff(first=self.interval, factor=2.0, longest=max(self.interval, LONGEST_BACKOFF), jitter=0.2)


class IncidentUpdatedTrigger(ModuleTrigger[IncidentUpdatedConfiguration]):
    """Start a run for each closure, reopening or war-room note of the XSOAR incidents this module created."""

    name = "Incident Updated"
    description = (
        "Start a run for each change of a Cortex XSOAR incident created by this module: closed (with its close "
        "reason and notes), reopened, or a war-room note. Polls the XSOAR REST API; the module's own changes are "
        "not emitted; a restart neither loses nor repeats changes"
    )
    configuration: IncidentUpdatedConfiguration  # type: ignore[override]  # the SDK builds it from this annotation
    results_model = IncidentUpdatedEvent
    last_heartbeat_threshold = 3900

    settings_model = IncidentUpdatedConfiguration
    checkpoint_file = CHECKPOINT_FILE
    watched = "incident changes"

    def serve(self) -> None:
        from xsoar_module.clients.retry import RetryPolicy
        from xsoar_module.clients.xsoar import XsoarClient
        from xsoar_module.clients.xsoar.connection import api_configuration
        from xsoar_module.timing import iso8601_seconds
        from xsoar_module.triggers.core.catch_up import CatchUp
        from xsoar_module.triggers.core.emitter import Emitter
        from xsoar_module.triggers.incident_state import STATE_FILE, IncidentStates
        from xsoar_module.triggers.incidents import QUERY, IncidentChangeKind, IncidentChanges

        config = api_configuration(configuration_of(self.module))
        settings = self.settings
        policy = RetryPolicy(attempts=3, deadline=30.0, max_wait=5.0)
        with XsoarClient(config, policy=policy, on_retry=lambda message: self.log(message, "debug")) as xsoar:
            if not self.checked(lambda: self._check(xsoar), "The Cortex XSOAR API key"):
                return
            ledger = self.open_ledger()
            states = IncidentStates(self.data_path / STATE_FILE)
            if problem := states.load():
                self.log(f"{problem}: closures and reopenings are told from the incidents' fields alone", "error")
            changes = IncidentChanges(
                xsoar,
                states,
                watched=settings.watched_open_incidents,
                log=self.log,
                echo=lambda: self.counters.count("echoes_suppressed"),
            )
            emitter = Emitter(
                IncidentChangeKind(),
                ledger,
                select=lambda _change: None,
                emit=self._emit,
                log=self.log,
                stop=self._stop_event,
                retry=self.timings.send_retry,
                counters=self.counters,
            )
            poll = CatchUp(changes.list_since, emitter, heartbeat=self.heartbeat, stop=self._stop_event)
            self.log(
                f"Incident Updated started: polling {xsoar.url} every {settings.interval:g} s ({QUERY}, modified "
                f"since {iso8601_seconds(ledger.watermark)})",
                "info",
            )
            self._poll_until_stopped(poll, changes, ledger, states, settings)

    def _poll_until_stopped(
        self,
        poll: "CatchUp[IncidentUpdatedEvent]",
        changes: "IncidentChanges",
        ledger: "Ledger",
        states: "IncidentStates",
        settings: IncidentUpdatedConfiguration,
    ) -> None:
        from xsoar_module.triggers.core.catch_up import describe

        failures, backoff = 0, settings.backoff()
        while self.running:
            self.heartbeat()  # type: ignore[no-untyped-call]  # the SDK's method has no annotations
            try:
                counts = poll.run(ledger.catch_up_since)
            except FATAL_ERRORS:
                raise
            except ModuleError as exc:
                failures += 1
                delay = backoff.delay(failures)
                self.counters.count("retried")
                self.log(f"Polling Cortex XSOAR failed ({exc}): polling again in {delay:.0f} s", "error")
                self._stop_event.wait(delay)
                continue
            if counts is None:
                return  # stopped
            failures = 0
            if changes.newest is not None:
                ledger.done(POLLED, changes.newest)
            self._save(ledger, states)
            if sum(counts.values()):
                self.log(f"Poll: {describe(counts, 'no change')}", "debug")
            self._stop_event.wait(settings.interval)

    def _save(self, ledger: "Ledger", states: "IncidentStates") -> None:
        try:
            ledger.flush()
            states.save()
        except OSError as exc:
            self.log(f"The checkpoint could not be saved ({exc}): saving again after the next poll", "error")

    @staticmethod
    def _check(xsoar: "XsoarClient") -> str:
        from xsoar_module.triggers.incidents import QUERY

        xsoar.search_incidents({"query": QUERY, "page": 0, "size": 1})
        return f"The Cortex XSOAR API key was accepted by {xsoar.url}"

    def _emit(self, event: IncidentUpdatedEvent) -> None:
        self.send_event(f"XSOAR incident {event.incident_id} {event.change}", event)
