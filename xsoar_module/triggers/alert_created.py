"""Alert Created: one playbook run per new Sekoia.io alert, in real time, none lost and none repeated.

The trigger checks the API key, opens the checkpoint, then runs a LiveSession (LiveAPI notifications merged with
catch-ups of the alert listing) until stopped. Its configuration selects the alerts that start a run.

The LiveAPI client (websockets), the session and the checkpoint are imported where the trigger uses them: `main.py`
imports this module in every block's process, and the actions' processes must not pay for them.
"""

import contextlib
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import orjson
from pydantic import ConfigDict, Field, PrivateAttr, ValidationError, field_validator, model_validator
from sekoia_automation.configuration.exception import MissingConfigurationError
from sekoia_automation.exceptions import TriggerConfigurationError
from sekoia_automation.storage import temp_directory

from xsoar_module.clients.http import RetryPolicy
from xsoar_module.clients.sekoia import SekoiaClient
from xsoar_module.configuration import ModuleConfiguration
from xsoar_module.errors import ConfigurationError, NotFoundError, describe_validation_error
from xsoar_module.models.alert import Alert
from xsoar_module.models.schema import ManifestModel, drop_null_variants
from xsoar_module.models.trigger_event import AlertCreatedEvent
from xsoar_module.module import configuration_of
from xsoar_module.timing import iso8601_seconds
from xsoar_module.triggers.base import ModuleTrigger
from xsoar_module.triggers.timings import LiveTimings

if TYPE_CHECKING:
    from xsoar_module.triggers.checkpoint import Ledger

ALERT_FILE = "alert.json"
CLIENT_POLICY = RetryPolicy(attempts=4, deadline=20.0, max_wait=5.0)


class AlertCreatedConfiguration(ManifestModel):
    """Which new alerts start a run (all of them when no filter is set).

    An invalid setting is ignored (its filter does not apply: more runs rather than lost alerts) and reported once.
    """

    model_config = ConfigDict(extra="ignore", json_schema_extra=drop_null_variants)

    rule_filter: str | None = Field(
        None, description="Create a run only for alerts raised by this rule (name or UUID)"
    )
    rule_names_filter: list[str] = Field(
        [], description="Create a run only for alerts raised by one of these rules (names or UUIDs)"
    )
    min_urgency: int = Field(
        0, ge=0, le=100, description="Create a run only for alerts of at least this urgency (0-100)"
    )
    entity_filter: list[str] = Field([], description="Create a run only for alerts of these entities (names or UUIDs)")
    alert_type_filter: list[str] = Field(
        [], description="Create a run only for alerts of these types (alert type values or categories)"
    )
    backfill_minutes: int = Field(
        0,
        ge=0,
        le=10080,
        description="On the very first start, also create runs for the alerts created this many minutes before "
        "(0: only alerts created from then on; later restarts always resume where the trigger stopped)",
    )

    _ignored: str | None = PrivateAttr(None)

    @property
    def ignored(self) -> str | None:
        """Why some settings were ignored, if any were invalid."""
        return self._ignored

    @field_validator("rule_names_filter", "entity_filter", "alert_type_filter", mode="before")
    @classmethod
    def _one_or_many(cls, value: Any) -> Any:
        if value is None:
            return []
        return [value] if isinstance(value, str) else value

    @field_validator("rule_filter", mode="before")
    @classmethod
    def _blank_is_none(cls, value: Any) -> Any:
        return None if isinstance(value, str) and not value.strip() else value

    @model_validator(mode="wrap")
    @classmethod
    def _skip_invalid(cls, data: Any, handler: Callable[[Any], Any]) -> Any:
        if data is None:
            data = {}
        if not isinstance(data, dict):
            settings = handler({})
            settings._ignored = "the trigger configuration is not a JSON object"
            return settings
        try:
            return handler(data)
        except ValidationError as exc:
            invalid = {str(error["loc"][0]) for error in exc.errors() if error["loc"]}
            settings = handler({key: value for key, value in data.items() if key not in invalid})
            settings._ignored = describe_validation_error(exc, "trigger configuration")
            return settings

    def filtered_out_because(self, alert: Alert) -> str | None:
        """Why the alert starts no run, or None when it passes every filter (an unknown value never filters out)."""
        rules = self.rule_names_filter + ([self.rule_filter] if self.rule_filter else [])
        if rules and not (alert.rule and _matches(rules, alert.rule.name, alert.rule.uuid)):
            return "its rule is not in rule_filter / rule_names_filter"
        urgency = alert.urgency.current_value if alert.urgency else None
        if urgency is not None and urgency < self.min_urgency:
            return f"its urgency {urgency} is below min_urgency {self.min_urgency}"
        if self.entity_filter and not (
            alert.entity and _matches(self.entity_filter, alert.entity.name, alert.entity.uuid)
        ):
            return "its entity is not in entity_filter"
        kind = alert.alert_type
        if self.alert_type_filter and not (kind and _matches(self.alert_type_filter, kind.value, kind.category)):
            return "its alert type is not in alert_type_filter"
        return None

    def describe(self) -> str:
        active = {
            "rules": self.rule_names_filter + ([self.rule_filter] if self.rule_filter else []),
            "min_urgency": self.min_urgency or None,
            "entities": self.entity_filter,
            "alert types": self.alert_type_filter,
        }
        shown = [f"{name} {value}" for name, value in active.items() if value]
        return "filters: " + "; ".join(shown) if shown else "no filter: every new alert starts a run"


def _matches(wanted: list[str], *values: str | None) -> bool:
    targets = {item.strip().casefold() for item in wanted}
    return any(value is not None and value.strip().casefold() in targets for value in values)


class AlertCreatedTrigger(ModuleTrigger):
    """Start a run for each new Sekoia.io alert: real time through the LiveAPI, with catch-up after any gap."""

    name = "Alert Created"
    description = (
        "Start a run for each new Sekoia.io alert, in real time (LiveAPI). Alerts created while the trigger was "
        "stopped or disconnected are caught up after it resumes: no alert is lost and none starts two runs. "
        "The event carries the alert's main fields and the full alert as a file (file_path)"
    )
    # the SDK builds the configuration from this annotation; its property's setter is typed for a dict
    configuration: AlertCreatedConfiguration  # type: ignore[override]
    results_model = AlertCreatedEvent
    last_heartbeat_threshold = 600

    timings: LiveTimings = LiveTimings()

    def serve(self) -> None:
        from xsoar_module.triggers.alerts import AlertCreatedKind, AlertCreatedSource
        from xsoar_module.triggers.emitter import Emitter
        from xsoar_module.triggers.session import LiveSession

        config = configuration_of(self.module)
        api_key = config.require_api_key()
        settings = self._settings()
        with self._client(config) as client:
            if not self.checked(lambda: self._check_api_key(client), "The Sekoia.io API key"):
                return
        ledger = self._open_ledger(settings)
        self.log(f"Alert Created started ({settings.describe()})", "info")
        source = AlertCreatedSource(
            lambda: self._client(config),
            liveapi_url=config.sekoia_liveapi_url,
            api_key=api_key,
            is_done=ledger.is_done,
            timings=self.timings,
        )
        emitter = Emitter(
            AlertCreatedKind(),
            ledger,
            select=settings.filtered_out_because,
            emit=self._emit,
            log=self.log,
            stop=self._stop_event,
            retry=self.timings.send_retry,
        )
        session = LiveSession(
            source,
            emitter,
            ledger,
            log=self.log,
            heartbeat=self.heartbeat,
            stop=self._stop_event,
            timings=self.timings,
        )
        self._wake = session.wake
        try:
            session.serve()
        finally:
            self._wake = None

    def _settings(self) -> AlertCreatedConfiguration:
        try:
            settings = self.configuration
        except (TriggerConfigurationError, MissingConfigurationError) as exc:
            self.log(f"The trigger configuration could not be read ({exc}): no filter applies", "error")
            settings = None
        if not isinstance(settings, AlertCreatedConfiguration):
            settings = AlertCreatedConfiguration()
        if settings.ignored:
            self.log(f"{settings.ignored}. These settings are ignored: their filters do not apply", "error")
        return settings

    def _client(self, config: ModuleConfiguration) -> SekoiaClient:
        return SekoiaClient(config, policy=CLIENT_POLICY, on_retry=lambda message: self.log(message, "debug"))

    @staticmethod
    def _check_api_key(client: SekoiaClient) -> str:
        """GET /v1/me: AuthenticationError when the key is refused, ConfigurationError when base_url is wrong."""
        try:
            client.me()
        except NotFoundError:
            raise ConfigurationError(
                f"Sekoia.io has no /v1/me at {client.http.base_url} (404): set base_url to the Sekoia.io API of "
                "your region (e.g. https://api.sekoia.io)"
            ) from None
        return f"The Sekoia.io API key was accepted by {client.http.base_url}"

    def _open_ledger(self, settings: AlertCreatedConfiguration) -> "Ledger":
        from xsoar_module.triggers.checkpoint import (
            CHECKPOINT_FILE,
            Checkpoint,
            CheckpointError,
            CheckpointStore,
            Ledger,
        )

        store = CheckpointStore(self.data_path / CHECKPOINT_FILE)
        try:
            checkpoint = store.load()
        except CheckpointError as exc:
            self.log(
                f"{exc}: starting as on a first start; alerts created while the trigger was stopped are not caught up",
                "error",
            )
            checkpoint = None
        if checkpoint is None:
            checkpoint = Checkpoint.first_start(time.time(), settings.backfill_minutes)
            store.save(checkpoint)  # a restart resumes from this first start, not from its own "now"
            self.log(f"First start: alerts created since {iso8601_seconds(checkpoint.floor)} start runs", "info")
        else:
            self.log(
                f"Resuming after the alerts created until {iso8601_seconds(checkpoint.created_at)} "
                f"({len(checkpoint.recent)} recent alerts remembered)",
                "info",
            )
        return Ledger(store, checkpoint)

    def _emit(self, alert: Alert) -> None:
        """Send the event with the alert as a file; its directory is removed whether the send succeeds or fails."""
        directory = temp_directory(self.data_path)
        try:
            (self.data_path / directory / ALERT_FILE).write_bytes(orjson.dumps(alert.model_dump(exclude_unset=True)))
            try:
                event = AlertCreatedEvent.of(alert, f"{directory}/{ALERT_FILE}")
            except ValidationError as exc:
                raise ValueError(describe_validation_error(exc, "alert")) from None
            self.send_event(f"Sekoia.io alert {event.short_id or event.alert_uuid}", event, directory, True)
        except BaseException:
            with contextlib.suppress(Exception):  # already removed by the SDK, or not removable: keep the cause
                self._rm_tree(self.data_path / directory)  # private, but removes S3 paths too (shutil does not)
            raise
