"""Sekoia.io alerts as LiveAPI trigger items: how an alert is identified, parsed and fetched, for Alert Created;
the sources' base, shared with Alert Updated."""

import threading
from collections.abc import Callable, Iterator
from typing import Any

from pydantic import ValidationError

from xsoar_module.clients.liveapi import LiveApiHandler, LiveApiListener, MessageParser
from xsoar_module.clients.sekoia import SekoiaClient
from xsoar_module.errors import NotFoundError, describe_validation_error
from xsoar_module.models.alert import Alert
from xsoar_module.timing import iso8601_seconds
from xsoar_module.triggers.core.emitter import JsonObject, number_field, text_field
from xsoar_module.triggers.core.waits import LiveTimings


def is_reduced(item: JsonObject) -> bool:
    """A listing item in one of the reduced shapes of real listings: no uuid, rule or entity, or an urgency
    without its value (`{"display": ...}`)."""
    urgency = item.get("urgency")
    return (
        not item.get("uuid")
        or "rule" not in item
        or "entity" not in item
        or (isinstance(urgency, dict) and "current_value" not in urgency)
    )


class AlertCreatedKind:
    """An alert, once per uuid; the checkpoint follows `created_at`."""

    def key(self, received: JsonObject) -> str | None:
        return text_field(received, "uuid")

    def time_of(self, received: JsonObject) -> float | None:
        return number_field(received, "created_at")

    def label(self, received: JsonObject) -> str:
        return f"Alert {received.get('short_id') or '?'} ({received.get('uuid')})"

    def parse(self, received: JsonObject) -> Alert:
        try:
            return Alert.model_validate(received)
        except ValidationError as exc:
            raise ValueError(describe_validation_error(exc, "alert")) from None

    def summary(self, item: Alert) -> str:
        rule = item.rule.name if item.rule else None
        return f"rule {rule!r}, created {iso8601_seconds(item.created_at or 0)}"


class AlertSource:
    """What the alert sources share: the LiveAPI listener (with the messages it keeps) and one Sekoia.io client per
    thread (the intake's fetches run in their own threads)."""

    parse: MessageParser | None = None  # which LiveAPI messages notify: alert creations by default

    def __init__(
        self,
        clients: Callable[[], SekoiaClient],
        *,
        liveapi_url: str,
        api_key: str,
        is_done: Callable[[str], bool],
        timings: LiveTimings,
    ):
        self._clients = clients
        self._liveapi_url = liveapi_url
        self._api_key = api_key
        self._is_done = is_done
        self._timings = timings
        self._thread_clients = threading.local()
        self._opened: list[SekoiaClient] = []
        self._lock = threading.Lock()

    def listener(self, handler: LiveApiHandler) -> LiveApiListener:
        return LiveApiListener(
            self._liveapi_url,
            self._api_key,
            handler,
            backoff=self._timings.reconnect,
            stable_after=self._timings.stable_after,
            ping_interval=self._timings.ping_interval,
            parse=self.parse,
        )

    def close(self) -> None:
        with self._lock:
            for client in self._opened:
                client.close()
            self._opened.clear()

    def _client(self) -> SekoiaClient:
        """Each thread has its own client (its own HTTP session)."""
        client: SekoiaClient | None = getattr(self._thread_clients, "client", None)
        if client is None:
            client = self._thread_clients.client = self._clients()
            with self._lock:
                self._opened.append(client)
        return client


class AlertCreatedSource(AlertSource):
    """Alert creations from the LiveAPI; alerts fetched and listed through Sekoia.io clients of their own."""

    what = "the alerts created"

    def fetch_one(self, key: str) -> JsonObject:
        return self._client().get_alert(key)

    def fetch_many(self, keys: list[str]) -> dict[str, JsonObject]:
        return self._client().get_alerts(keys)

    def list_since(self, since: int) -> Iterator[JsonObject | None]:
        client = self._client()
        for listed in client.iter_alerts_created_since(since):
            yield self._whole(client, listed)

    def _whole(self, client: SekoiaClient, item: Any) -> JsonObject | None:
        """The listed alert, fetched whole when the listing gave a reduced item (None: deleted since listed)."""
        if not isinstance(item, dict):
            return {}  # unusable: counted as such
        if not is_reduced(item):
            return item
        uuid = item.get("uuid")
        if isinstance(uuid, str) and uuid and self._is_done(uuid):
            return item
        alert_id = uuid or item.get("short_id")
        if not isinstance(alert_id, str) or not alert_id:
            return item
        try:
            return client.get_alert(alert_id)
        except NotFoundError:
            return None
