"""What changes an alert in the simulated Sekoia.io besides the API: a person's status changes and comments in the
web app, the dynamic urgency; and how a status change or a comment is stored (history, comments, LiveAPI
messages)."""

import copy
import json
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from lab.doubles.sekoia.live import LiveApi
from lab.doubles.sekoia.records import (
    StoredAlert,
    build_events,
    comment_notification,
    iso_z,
    status_notification,
    urgency_display,
    urgency_notification,
)
from lab.doubles.sekoia.workflow import (
    Action,
    Actor,
    Workflow,
    action_to,
    comment_entry,
    new_comment,
    person_actor,
    status_entry,
    status_name,
    status_object,
)

DEFAULT_PERSON = "analyst"


class AlertChanges(LiveApi):
    """The workflow and comments of `SekoiaSimulator`'s alerts; their changes told on the LiveAPI."""

    _lock: threading.Lock
    clock: Callable[[], float]  # epoch seconds
    workflow: Workflow
    comments_touch_alerts: bool
    urgency_touches_alerts: bool
    _stored: list[StoredAlert]

    def _lookup(self, alert_id: str) -> StoredAlert | None:
        return next((s for s in self._stored if alert_id in (s.alert.get("uuid"), s.alert.get("short_id"))), None)

    def comments_of(self, alert_id: str) -> list[dict]:
        """The comments of an alert (by UUID or short ID); KeyError if unknown."""
        with self._lock:
            return copy.deepcopy(self._stored_alert(alert_id).comments)

    def status_of(self, alert_id: str) -> str:
        """The status name of an alert (by UUID or short ID); KeyError if unknown."""
        with self._lock:
            return status_name(self._stored_alert(alert_id).alert)

    def history_of(self, alert_id: str) -> list[dict]:
        """The history of an alert (by UUID or short ID) as `GET` answers it, newest first; KeyError if unknown."""
        with self._lock:
            return copy.deepcopy(self._stored_alert(alert_id).answered_history())

    def change_status_as_person(
        self, alert_id: str, status: str, person: str = DEFAULT_PERSON, comment: str | None = None
    ) -> dict:
        """A person moves the alert to `status` in the web app, through a transition open from its current status
        (ValueError otherwise), with an optional comment (also an alert comment); the LiveAPI says so. Returns the
        alert."""
        with self._lock:
            stored = self._stored_alert(alert_id)
            current = status_name(stored.alert)
            action = action_to(self.workflow, current, status)
            if action is None:
                raise ValueError(f"no transition from {current} to {status}")
            notifications = self._apply(stored, action, person_actor(person), comment)
            alert = copy.deepcopy(stored.alert)
        for notification in notifications:
            self._push(notification, upgraded_only=True)
        return alert

    def comment_as_person(self, alert_id: str, content: str, person: str = DEFAULT_PERSON) -> dict:
        """A person comments the alert in the web app; the LiveAPI says so. Returns the comment."""
        comment, notification = self._comment(alert_id, content, None, person_actor(person))
        self._push(notification, upgraded_only=True)
        return comment

    def change_urgency(
        self, alert_id: str, value: int, *, new_events: int = 0, last_seen_at: str | None = None, notify: bool = True
    ) -> dict:
        """Sekoia.io's dynamic urgency moves the alert's urgency to `value` (its band with it), after `new_events`
        more occurrences (events attached, `similar` and `last_seen_at` moved to now unless given); the LiveAPI says
        so with the real `updated` message (`{"dynamic_urgency_value": value}`) if `notify`. The update time moves
        unless `urgency_touches_alerts` is False. Returns the alert."""
        with self._lock:
            stored = self._stored_alert(alert_id)
            alert = stored.alert
            now = datetime.fromtimestamp(self.clock(), UTC)
            if new_events or last_seen_at:
                alert["last_seen_at"] = last_seen_at or iso_z(now)
            if new_events:
                stored.events += build_events(alert | {"first_seen_at": iso_z(now)}, new_events)
                alert["similar"] = (alert.get("similar") or 0) + new_events
            alert["urgency"] = dict(alert.get("urgency") or {}) | {
                "current_value": value,
                "display": urgency_display(value),
            }
            if self.urgency_touches_alerts:
                alert["updated_at"] = int(now.timestamp())
            alert = copy.deepcopy(alert)
        if notify:
            self._push(json.dumps(urgency_notification(alert)), upgraded_only=True)
        return alert

    def _stored_alert(self, alert_id: str) -> StoredAlert:
        stored = self._lookup(alert_id)
        if stored is None:
            raise KeyError(alert_id)
        return stored

    def _apply(self, stored: StoredAlert, action: Action, actor: Actor, comment: str | None) -> list[str]:
        """Move the alert along `action` (the lock held): status, update time and author, history; the comment sent
        with it is also an alert comment (same uuid in `comments` and in the entry's `history_comments`). Returns the
        LiveAPI messages to push (the status change, then the comment's)."""
        previous, at = status_name(stored.alert), int(self.clock())
        stored.alert |= {
            "status": status_object(action.target),
            "updated_at": at,
            "updated_by": actor.uuid,
            "updated_by_type": actor.type,
        }
        told = (
            self._store_comment(stored, new_comment(comment, None, actor, at)) if comment and comment.strip() else None
        )
        stored.history.append(status_entry(previous, action, actor, told, at))
        messages = [json.dumps(status_notification(stored.alert))]
        return messages + ([json.dumps(comment_notification(stored.alert, told))] if told else [])

    def _store_comment(self, stored: StoredAlert, comment: dict[str, Any]) -> dict[str, Any]:
        """Add a comment to the alert's comments (the lock held)."""
        stored.comments.append(comment)
        stored.alert["number_of_total_comments"] = len(stored.comments)
        if self.comments_touch_alerts:
            stored.alert["updated_at"] = comment["date"]
        return comment

    def _comment(self, alert_id: str, content: Any, author: Any, actor: Actor) -> tuple[dict, str]:
        """Store a new comment and its history entry; returns it and its LiveAPI message, to push."""
        with self._lock:
            stored = self._stored_alert(alert_id)
            comment = self._store_comment(stored, new_comment(content, author, actor, int(self.clock())))
            stored.history.append(comment_entry(comment, actor))
            return copy.deepcopy(comment), json.dumps(comment_notification(stored.alert, comment))
