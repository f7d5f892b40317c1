"""What every trigger of the module shares: its settings and checkpoint, its counters and their summary line,
critical errors that stop it for good, masked logs, a prompt stop, credentials checked until the service answers."""

import contextlib
import socket
import time
from abc import abstractmethod
from collections.abc import Callable
from functools import cached_property
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field
from sekoia_automation.configuration.exception import MissingConfigurationError
from sekoia_automation.exceptions import TriggerConfigurationError
from sekoia_automation.trigger import Trigger

from xsoar_module.errors import AuthenticationError, ConfigurationError, ModuleError
from xsoar_module.models.schema import ManifestModel, drop_null_variants
from xsoar_module.module import masker_of
from xsoar_module.quoting import MAX_MESSAGE, shorten

if TYPE_CHECKING:  # loaded when the trigger runs: main.py imports every item in every block's process
    from xsoar_module.triggers.core.checkpoint import Ledger
    from xsoar_module.triggers.core.counters import TriggerCounters
    from xsoar_module.triggers.core.waits import TriggerTimings

# Errors only a change of configuration can fix (the LiveAPI's refusal of the key is an AuthenticationError too): one
# critical log, then nothing until the platform stops the trigger
FATAL_ERRORS = (ConfigurationError, AuthenticationError)


class TriggerSettings(ManifestModel):
    """What every trigger's configuration has."""

    model_config = ConfigDict(extra="ignore", json_schema_extra=drop_null_variants)

    summary_interval: int = Field(
        900,
        ge=1,
        le=86400,
        description="Seconds between two summary lines of the trigger's counters in its logs (emitted, filtered, "
        "echoes suppressed, superseded, retried, failed, delay from change to emission; default 900)",
    )


Settings = TypeVar("Settings", bound=TriggerSettings)


class ModuleTrigger(Trigger, Generic[Settings]):
    """A trigger whose session runs in `serve()`; `_stop_event` is the SDK's (it offers `running` and `stop()`, but
    no public way to wait for the stop). Subclasses say their settings' model and checkpoint file."""

    settings_model: type[Settings]
    checkpoint_file: str  # in the trigger's data path
    watched: str  # for the logs: "alerts created"
    _wake: Callable[[], None] | None = None  # leaves the session's idle wait (set while a session runs)
    _given_up = False  # a critical error was logged
    _summaries = False  # the counters' summary line is being logged

    @cached_property
    def settings(self) -> Settings:
        """The trigger configuration, read once; the defaults when it cannot be read (logged), its invalid settings
        ignored (logged, see `AlertCreatedConfiguration`)."""
        try:
            settings = self.configuration
        except (TriggerConfigurationError, MissingConfigurationError) as exc:
            self.log(f"The trigger configuration could not be read ({exc}): the defaults apply", "error")
            settings = None
        if not isinstance(settings, self.settings_model):
            settings = self.settings_model()
        if ignored := getattr(settings, "ignored", None):
            self.log(f"{ignored}. These settings are ignored: their filters do not apply", "error")
        return settings

    @cached_property
    def counters(self) -> "TriggerCounters":
        """What the trigger did since its process started (see `counters.py`)."""
        from xsoar_module.triggers.core.counters import TriggerCounters

        return TriggerCounters(self.name or type(self).__name__)

    @cached_property
    def timings(self) -> "TriggerTimings":
        """The session's waits (tests assign short ones)."""
        from xsoar_module.triggers.core.waits import TriggerTimings

        return TriggerTimings()

    @abstractmethod
    def serve(self) -> None:
        """The trigger's session, until the stop event."""

    def run(self) -> None:
        if self._given_up:
            self._stop_event.wait(self.timings.given_up_wait)
            return
        if not self._summaries:
            from xsoar_module.triggers.core.counters import log_summaries

            log_summaries(self.counters, self.settings.summary_interval, self.log, self._stop_event)
            self._summaries = True
        try:
            self.serve()
            if not self.running:
                self.log(self.counters.summary(), "info")  # the last one, at the stop
        except FATAL_ERRORS as exc:
            self._given_up = True
            self.log(str(exc), "critical")
        except Exception:
            self._stop_event.wait(self.timings.restart_delay)  # then the SDK logs the error and runs again
            raise

    def open_ledger(self, backfill_minutes: int = 0) -> "Ledger":
        """The checkpoint of `checkpoint_file` (on a first start: from `backfill_minutes` before now), said in the
        logs; an unreadable one is logged and replaced (see `open_checkpoint`)."""
        from xsoar_module.timing import iso8601_seconds
        from xsoar_module.triggers.core.checkpoint import Checkpoint, CheckpointStore, Ledger, open_checkpoint

        store = CheckpointStore(self.data_path / self.checkpoint_file)
        checkpoint, resumed = open_checkpoint(
            store,
            lambda: Checkpoint.first_start(time.time(), backfill_minutes),
            self.log,
            f"{self.watched} while the trigger was stopped are not caught up",
        )
        if not resumed:
            self.log(f"First start: {self.watched} since {iso8601_seconds(checkpoint.floor)} start runs", "info")
        else:
            self.log(
                f"Resuming after the {self.watched} until {iso8601_seconds(checkpoint.created_at)} "
                f"({len(checkpoint.recent)} recent ones remembered)",
                "info",
            )
        return Ledger(store, checkpoint)

    def stop(self, *args: Any, **kwargs: Any) -> None:
        super().stop(*args, **kwargs)
        if self._wake is not None:
            self._wake()  # SIGTERM: leave the idle wait at once

    def stop_monitoring(self) -> None:
        """The SDK's, without its wait: each server's `shutdown()` waits for its poll loop to look (0.5 s apiece), so
        their listening sockets are shut first, which wakes the loops at once. The SDK has no public handle on its
        servers: `_liveness_server` is its attribute, `httpd` the metrics exporter's."""
        exporter = getattr(self, "_exporter", None)
        for server in (getattr(self, "_liveness_server", None), getattr(exporter, "httpd", None)):
            if server is not None:
                with contextlib.suppress(OSError):
                    server.socket.shutdown(socket.SHUT_RDWR)
        super().stop_monitoring()  # type: ignore[no-untyped-call]  # the SDK's method has no annotations

    def log(self, message: str, level: str = "info", *args: Any, **kwargs: Any) -> None:
        message = shorten(masker_of(self.module).mask(str(message)), MAX_MESSAGE)
        super().log(message, level, *args, **kwargs)  # type: ignore[arg-type]

    def send_event(
        self, event_name: str, event: dict[str, Any] | BaseModel, directory: str | None = None, *args: Any
    ) -> None:
        """Masked as logs are: an event may carry what a server echoed (close notes, comments, an alert)."""
        masker = masker_of(self.module)
        if isinstance(event, BaseModel):
            dumped = event.model_dump()
            masked = masker.mask_value(dumped)
            event = event if masked is dumped else type(event).model_validate(masked)
        else:
            event = masker.mask_value(event)
        super().send_event(masker.mask(event_name), event, directory, *args)

    def checked(self, check: Callable[[], str], what: str) -> bool:
        """Run `check` until it answers (its answer is logged); False when stopped first. Bad credentials and
        configuration errors propagate; other failures are retried with the timings' backoff."""
        failures = 0
        while self.running:
            self.heartbeat()  # type: ignore[no-untyped-call]  # the SDK's method has no annotations
            try:
                accepted = check()
            except (AuthenticationError, ConfigurationError):
                raise
            except ModuleError as exc:
                failures += 1
                delay = self.timings.check_retry.delay(failures)
                self.log(f"{what} could not be checked ({exc}): retrying in {delay:.0f} s", "warning")
                self._stop_event.wait(delay)
                continue
            self.log(accepted, "info")
            return True
        return False
