"""What the Sekoia.io LiveAPI triggers share: the API key check, the checkpoint, the session, the alert file."""

import contextlib
from abc import abstractmethod
from collections.abc import Callable
from functools import cached_property
from typing import TYPE_CHECKING, Any, Generic, TypeVar

import orjson
from pydantic import ValidationError
from sekoia_automation.storage import temp_directory

from xsoar_module.configuration import ModuleConfiguration
from xsoar_module.errors import ConfigurationError, MalformedResponseError, NotFoundError, describe_validation_error
from xsoar_module.models.alert import Alert
from xsoar_module.models.schema import ManifestModel
from xsoar_module.module import configuration_of, masker_of
from xsoar_module.triggers.alert_filters import AlertCreatedConfiguration
from xsoar_module.triggers.core.base import ModuleTrigger
from xsoar_module.triggers.core.emitter import Item, ItemKind

if TYPE_CHECKING:  # the session, its clients and websockets load when a trigger runs: main.py imports every item
    from xsoar_module.clients.sekoia import SekoiaClient
    from xsoar_module.triggers.core.checkpoint import Ledger
    from xsoar_module.triggers.core.session import LiveSource
    from xsoar_module.triggers.core.waits import LiveTimings

ALERT_FILE = "alert.json"
BASE_URL_HINT = "set base_url to the Sekoia.io API of your region (e.g. https://api.sekoia.io)"
AlertSettings = TypeVar("AlertSettings", bound=AlertCreatedConfiguration)


class AlertLiveTrigger(ModuleTrigger[AlertSettings], Generic[Item, AlertSettings]):
    """A trigger over the LiveAPI and the alert listing: checks the API key, opens its checkpoint, then runs a
    LiveSession until stopped. Subclasses say what they watch (`source`, `kind`), select and emit."""

    @cached_property
    def timings(self) -> "LiveTimings":
        """The LiveAPI session's waits (tests assign short ones)."""
        from xsoar_module.triggers.core.waits import LiveTimings

        return LiveTimings()

    @abstractmethod
    def source(
        self, config: ModuleConfiguration, api_key: str, ledger: "Ledger", settings: AlertSettings
    ) -> "LiveSource":
        """Where the items come from."""

    @abstractmethod
    def kind(self) -> ItemKind[Item]:
        """How the items are identified and parsed."""

    @abstractmethod
    def selector(self, settings: AlertSettings) -> Callable[[Item], str | None]:
        """Why an item starts no run (None: it does)."""

    @abstractmethod
    def emit(self, item: Item) -> None:
        """Send the item's event."""

    def serve(self) -> None:
        from xsoar_module.triggers.core.emitter import Emitter
        from xsoar_module.triggers.core.session import LiveSession

        config = configuration_of(self.module)
        api_key = config.require_api_key()
        settings = self.settings
        with self.client(config) as client:
            if not self.checked(lambda: self.check_api_key(client), "The Sekoia.io API key"):
                return
        ledger = self.open_ledger(settings.backfill_minutes)
        self.log(f"{self.name} started ({settings.describe()})", "info")
        emitter = Emitter(
            self.kind(),
            ledger,
            select=self.selector(settings),
            emit=self.emit,
            log=self.log,
            stop=self._stop_event,
            retry=self.timings.send_retry,
            counters=self.counters,
        )
        session = LiveSession(
            self.source(config, api_key, ledger, settings),
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

    def client(self, config: ModuleConfiguration) -> "SekoiaClient":
        from xsoar_module.clients.retry import RetryPolicy
        from xsoar_module.clients.sekoia import SekoiaClient

        policy = RetryPolicy(attempts=4, deadline=20.0, max_wait=5.0)
        return SekoiaClient(config, policy=policy, on_retry=lambda message: self.log(message, "debug"))

    def check_api_key(self, client: "SekoiaClient") -> str:
        """GET /v1/me: AuthenticationError when the key is refused, ConfigurationError when base_url is wrong."""
        self.me(client)
        return f"The Sekoia.io API key was accepted by {client.http.base_url}"

    @staticmethod
    def me(client: "SekoiaClient") -> dict[str, Any]:
        """Who the API key is (`GET /v1/me`)."""
        try:
            return client.me()
        except NotFoundError:
            raise ConfigurationError(
                f"Sekoia.io has no /v1/me at {client.http.base_url} (404): {BASE_URL_HINT}"
            ) from None
        except MalformedResponseError as exc:  # a web page or another server at base_url: no retry mends it
            raise ConfigurationError(f"The API key check got no Sekoia.io answer ({exc}): {BASE_URL_HINT}") from None

    def send_with_alert_file(self, alert: Alert, event_of: Callable[[str], ManifestModel], label: str) -> None:
        """Send the event with the alert as a file; its directory is removed whether the send succeeds or fails."""
        directory = temp_directory(self.data_path)
        try:
            content = masker_of(self.module).for_data().mask_value(alert.model_dump(exclude_unset=True))
            (self.data_path / directory / ALERT_FILE).write_bytes(orjson.dumps(content))
            try:
                event = event_of(f"{directory}/{ALERT_FILE}")
            except ValidationError as exc:
                raise ValueError(describe_validation_error(exc, "alert")) from None
            self.send_event(label, event, directory, True)
        except BaseException:
            with contextlib.suppress(Exception):  # already removed by the SDK, or not removable: keep the cause
                self._rm_tree(self.data_path / directory)  # private, but removes S3 paths too (shutil does not)
            raise
