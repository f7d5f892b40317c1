"""Changes of Sekoia.io alerts as LiveAPI trigger items, for Alert Updated: status changes, comments, urgencies.

A change is handed to the emitter as `{"key", "at", "change", "alert", ...}` (`sync/sekoia_changes.py`):
- a status change: key `<alert uuid>@<time>:<status>`, the time of the latest status change of the alert's history
  (`sync/history.py`: of two changes in the same second, the history's order tells the latest; the alert's
  `updated_at` when the answer has no history, or entries of an unknown shape), so that an update that is no
  status change (a comment that moves `updated_at`, an urgency) never repeats it; `by` and `marked` say who made it;
- a comment: key the comment uuid, time its `date`;
- an urgency: key `<alert uuid>@<updated_at>:urgency:<current value>`, time the alert's `updated_at`; notified by an
  `updated` message carrying `dynamic_urgency_value`, read back with the alert (two changes read together: one item,
  the latest urgency).

Catch-up: the alerts updated since the checkpoint are read whole (history and comments, one request each): their
latest status change and their comments at or after the checkpoint. Since a comment may not move the alert's
`updated_at`, the alerts updated within `comments_lookback_hours` whose comment count (`number_of_total_comments`)
differs from the last one seen (or is unknown) are read too. An alert read in a catch-up yields an urgency item when
its urgency differs from the last one this trigger handed on for it, or, when it has handed on none since it started,
when the alert's latest update is none of its status changes and comments (something else changed). Whether an
urgency change moves `updated_at` is unconfirmed: the alerts updated within `comments_lookback_hours` whose listed
urgency differs from the last one handed on are read too.
"""

import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from xsoar_module.clients.liveapi import AlertCreatedNotification, Ignored, read_envelope
from xsoar_module.clients.sekoia import SekoiaClient
from xsoar_module.errors import NotFoundError, describe_validation_error
from xsoar_module.models.alert import Alert
from xsoar_module.models.trigger_event import COMMENT, STATUS, URGENCY
from xsoar_module.sync.sekoia_changes import (
    comment_change,
    status_change,
    updated_for_something_else,
    urgency_change,
    urgency_value,
)
from xsoar_module.timing import epoch, iso8601_seconds
from xsoar_module.triggers.alerts import AlertSource
from xsoar_module.triggers.core.emitter import JsonObject, number_field, text_field
from xsoar_module.triggers.core.waits import LiveTimings

MAX_PENDING_COMMENTS = 10_000  # notified comments remembered until fetched
URGENCY_NOTIFIED = ":urgency"  # the suffix of an urgency notification's key (its alert uuid before it)


@dataclass(frozen=True)
class AlertChange:
    """One change of an alert, typed."""

    alert: Alert
    change: str
    at: int
    status_name: str | None = None
    comment: JsonObject | None = None
    by: str | None = None  # who made it: a user or API key uuid
    redated: bool = False  # its history entry had no date to trust (none, or after the alert's last update)
    marked: bool = False  # made with an API key and carrying this module's marker (a person's text never counts)


class AlertUpdatedKind:
    """A status change once per `uuid@time:status`, a comment once per uuid; the checkpoint follows their time."""

    def key(self, received: JsonObject) -> str | None:
        return text_field(received, "key")

    def time_of(self, received: JsonObject) -> float | None:
        return number_field(received, "at")

    def label(self, received: JsonObject) -> str:
        alert = received.get("alert")
        alert = alert if isinstance(alert, dict) else {}
        change = received.get("change")
        what = "Status change" if change == STATUS else "Urgency change" if change == URGENCY else "Comment"
        what += f" {received.get('key')}" if change == COMMENT else ""
        return f"{what} of alert {alert.get('short_id') or '?'} ({alert.get('uuid')})"

    def parse(self, received: JsonObject) -> AlertChange:
        try:
            alert = Alert.model_validate(received.get("alert"))
        except ValidationError as exc:
            raise ValueError(describe_validation_error(exc, "alert")) from None
        if not alert.uuid:
            raise ValueError("the alert has no uuid")
        by = received.get("by")
        return AlertChange(
            alert=alert,
            change=str(received.get("change")),
            at=int(received.get("at") or 0),
            status_name=received.get("status_name"),
            comment=received.get("comment"),
            by=by if isinstance(by, str) else None,
            marked=bool(received.get("marked")),
            redated=received.get("redated") is True,
        )

    def summary(self, item: AlertChange) -> str:
        if item.change == URGENCY:
            urgency = item.alert.urgency
            what = f"urgency {urgency.current_value if urgency else None}"
        else:
            what = f"status {item.status_name}" if item.change == STATUS else "comment"
        dated = "; its history gives no date to trust: dated by what is known" if item.redated else ""
        return f"{what} at {iso8601_seconds(item.at)}{dated}"


class AlertUpdatedSource(AlertSource):
    """Status changes, comments and urgencies from the LiveAPI (`updated` with a status or a dynamic urgency,
    `alert-comment` `created`), read back from Sekoia.io; catch-ups from the alerts listed by `updated_at`."""

    what = "the alert changes"

    def __init__(
        self,
        clients: Callable[[], SekoiaClient],
        *,
        liveapi_url: str,
        api_key: str,
        is_done: Callable[[str], bool],
        timings: LiveTimings,
        comments_lookback: int,
        urgency: bool = False,
    ):
        super().__init__(clients, liveapi_url=liveapi_url, api_key=api_key, is_done=is_done, timings=timings)
        self.parse = self.parse_change
        self._comments_lookback = comments_lookback
        self._comment_alerts: dict[str, str] = {}  # notified comment uuid -> its alert uuid, until fetched
        self._comment_counts: dict[str, int] = {}  # alert uuid -> comments seen at its last reading
        self._comments_lock = threading.Lock()
        self._urgency = urgency  # whether urgency changes are watched
        self._urgencies: dict[str, int] = {}  # alert uuid -> the last urgency handed on (under the comments' lock)

    def parse_change(self, text: str | bytes) -> AlertCreatedNotification | Ignored:
        """Keep `updated` messages that carry a status (notified by alert uuid) or, when urgencies are watched, a
        dynamic urgency (notified by `<alert uuid>:urgency`), and `alert-comment` `created` messages (notified by
        comment uuid, its alert remembered)."""
        body = read_envelope(text)
        if isinstance(body, Ignored):
            return body
        kind, action, attributes = body.get("type"), body.get("action"), body["attributes"]
        if kind == "alert" and action == "updated":
            updated = attributes.get("updated")
            uuid = attributes.get("uuid")
            updated = updated if isinstance(updated, dict) else {}
            status = bool(updated.get("status") or updated.get("status_name"))
            urgency = self._urgency and "dynamic_urgency_value" in updated
            if not (status or urgency):
                return Ignored()
            if not isinstance(uuid, str) or not uuid.strip():
                return Ignored(
                    f"Ignored an alert {'status' if status else 'urgency'} notification without an alert uuid"
                )
            key = uuid.strip() if status else uuid.strip() + URGENCY_NOTIFIED
            return AlertCreatedNotification(key, attributes.get("short_id"))
        if kind == "alert-comment" and action == "created":
            uuid, alert_uuid = attributes.get("uuid"), attributes.get("alert_uuid")
            if not (isinstance(uuid, str) and uuid.strip() and isinstance(alert_uuid, str) and alert_uuid.strip()):
                return Ignored("Ignored a comment notification without a comment or alert uuid")
            with self._comments_lock:
                if len(self._comment_alerts) >= MAX_PENDING_COMMENTS:
                    self._comment_alerts.pop(next(iter(self._comment_alerts)))
                self._comment_alerts[uuid.strip()] = alert_uuid.strip()
            return AlertCreatedNotification(uuid.strip(), attributes.get("alert_short_id"))
        return Ignored()

    def fetch_one(self, key: str) -> JsonObject:
        """A notified change read back: the comment of that uuid, the alert's urgency, or its latest status change."""
        with self._comments_lock:
            alert_uuid = self._comment_alerts.get(key)
        client = self._client()
        if alert_uuid is not None:
            alert = client.get_alert(alert_uuid, comments=True)
            comments = alert.get("comments")
            comments = comments if isinstance(comments, list) else []
            comment = next((item for item in comments if isinstance(item, dict) and item.get("uuid") == key), None)
            received = comment_change(alert, comment or client.get_comment(alert_uuid, key))
            with self._comments_lock:
                self._comment_alerts.pop(key, None)
        elif key.endswith(URGENCY_NOTIFIED):
            received = self._handed_on(urgency_change(client.get_alert(key.removesuffix(URGENCY_NOTIFIED))))
        else:
            received = status_change(client.get_alert(key, history=True))
        if received is None:  # nothing to emit: an empty item the emitter counts as unusable
            return {"uuid": key}
        return received

    def fetch_many(self, keys: list[str]) -> dict[str, JsonObject]:
        """Nothing at once: a change needs its alert's history or comments, which listings do not carry."""
        return {}

    def list_since(self, since: int) -> Iterator[JsonObject | None]:
        client = self._client()
        lookback = min(since, int(time.time()) - self._comments_lookback)
        for listed in client.iter_alerts_updated_since(lookback):
            if not isinstance(listed, dict):
                continue
            updated = epoch(listed.get("updated_at"))
            if (updated is None or updated >= since) or self._comments_changed(listed) or self._urgency_moved(listed):
                yield from self._changes(client, listed, since)

    def _comments_changed(self, listed: JsonObject) -> bool:
        """Whether the alert may have comments not read yet (its count differs from the last one seen)."""
        count = listed.get("number_of_total_comments")
        if count == 0:
            return False
        with self._comments_lock:
            return not isinstance(count, int) or self._comment_counts.get(str(listed.get("uuid"))) != count

    def _urgency_moved(self, listed: JsonObject) -> bool:
        """Whether the listed alert's urgency differs from the last one handed on for it (False when none was)."""
        if not self._urgency:
            return False
        value = urgency_value(listed)
        with self._comments_lock:
            last = self._urgencies.get(str(listed.get("uuid")))
        return value is not None and last is not None and value != last

    def _urgency_item(self, alert: JsonObject, comments: list[Any]) -> JsonObject | None:
        """The alert's urgency item in a catch-up: when it differs from the last one handed on, or, none handed on,
        when the alert's latest update is none of its status changes and comments."""
        value = urgency_value(alert)
        if not self._urgency or value is None:
            return None
        with self._comments_lock:
            last = self._urgencies.get(str(alert.get("uuid")))
        if value == last or (last is None and not updated_for_something_else(alert, comments)):
            return None
        return self._handed_on(urgency_change(alert))

    def _handed_on(self, received: JsonObject | None) -> JsonObject | None:
        """Remember the urgency of an urgency item as the alert's last one handed on."""
        value = urgency_value(received["alert"]) if received is not None else None
        if received is not None and value is not None:
            with self._comments_lock:
                self._urgencies[str(received["uuid"])] = value
        return received

    def _changes(self, client: SekoiaClient, listed: JsonObject, since: int) -> Iterator[JsonObject | None]:
        """The changes at or after `since` of a listed alert, read whole (None: deleted since listed)."""
        alert_id = listed.get("uuid") or listed.get("short_id")
        if not isinstance(alert_id, str) or not alert_id:
            return
        try:
            alert = client.get_alert(alert_id, history=True, comments=True)
        except NotFoundError:
            yield None
            return
        comments = alert.get("comments")
        if not isinstance(comments, list):
            comments = client.comments(alert_id)
        with self._comments_lock:
            self._comment_counts[str(alert.get("uuid"))] = len(comments)
        changes = [status_change(alert)] + [comment_change(alert, c) for c in comments if isinstance(c, dict)]
        urgency = self._urgency_item(alert, comments)  # new whatever its time: an urgency may not move updated_at
        for change in sorted((c for c in changes if c is not None), key=lambda c: c["at"] or 0):
            if (change["at"] or 0) >= since:
                yield change
        if urgency is not None:
            yield urgency
