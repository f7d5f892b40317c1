"""The changes of a Sekoia.io alert as the sync reads them (Alert Updated's received objects): its latest status
change, a comment, its urgency; who made each (`by`, `marked`: own-change recognition is `sync.marker`'s). Pure, no
I/O."""

from typing import Any

from xsoar_module.models.trigger_event import COMMENT, STATUS, URGENCY
from xsoar_module.sync.history import (
    dated_history,
    entry_time,
    has_known_entries,
    is_module_entry,
    latest_status_change,
)
from xsoar_module.sync.marker import made_by_module
from xsoar_module.timing import epoch

WHOLE_ALERT_ONLY = ("history", "comments")  # read for the changes, left out of the alert file


def status_change(alert: dict[str, Any]) -> dict[str, Any] | None:
    """The received object of the alert's latest status change (None: it never changed status)."""
    status = alert.get("status")
    name = status.get("name") if isinstance(status, dict) else None
    uuid = alert.get("uuid")
    if not isinstance(name, str) or not isinstance(uuid, str):
        return None
    history, redated = dated_history(alert.get("history"), epoch(alert.get("updated_at")))
    entry = latest_status_change(history, name)
    if entry is not None:
        at, by, marked = entry_time(entry), entry.get("created_by"), is_module_entry(entry)
    elif history == [] or has_known_entries(history) or alert.get("updated_at") == alert.get("created_at"):
        return None  # no status change in its history (comments only...), or an alert never updated
    else:  # no history in the answer, or entries of an unknown shape: the update time stands for the change
        at, by, marked = epoch(alert.get("updated_at")), alert.get("updated_by"), False
    if at is None:
        return None
    return {
        "key": f"{uuid}@{at}:{name}",
        "at": at,
        "change": STATUS,
        "status_name": name,
        "by": by,
        "marked": marked,
        "alert": file_alert(alert),
        "uuid": uuid,
        "redated": any(entry is other for other in redated),
    }


def comment_change(alert: dict[str, Any], comment: dict[str, Any]) -> dict[str, Any] | None:
    """The received object of a comment of the alert (None when it has no uuid)."""
    uuid = comment.get("uuid")
    if not isinstance(uuid, str) or not uuid:
        return None
    shown = {name: comment.get(name) for name in ("uuid", "content", "author", "created_by", "created_by_type")}
    return {
        "key": uuid,
        "at": epoch(comment.get("date")) or epoch(alert.get("updated_at")),
        "change": COMMENT,
        "comment": shown,
        "by": comment.get("created_by"),
        "marked": made_by_module(comment, None, [comment.get("content")]),
        "alert": file_alert(alert),
        "uuid": alert.get("uuid"),
    }


def urgency_value(alert: dict[str, Any]) -> int | None:
    """The alert's current urgency (`urgency.current_value`), None when the answer has none."""
    urgency = alert.get("urgency")
    value = urgency.get("current_value") if isinstance(urgency, dict) else None
    return int(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def urgency_change(alert: dict[str, Any]) -> dict[str, Any] | None:
    """The received object of the alert's current urgency (None without one): the event reads the urgency, the
    occurrences and `last_seen_at` from the alert."""
    value, uuid, at = urgency_value(alert), alert.get("uuid"), epoch(alert.get("updated_at"))
    if value is None or not isinstance(uuid, str) or at is None:
        return None
    return {
        "key": f"{uuid}@{at}:urgency:{value}",
        "at": at,
        "change": URGENCY,
        "alert": file_alert(alert),
        "uuid": uuid,
    }


def updated_for_something_else(alert: dict[str, Any], comments: list[Any]) -> bool:
    """Whether the alert's latest update is none of its status changes and comments (nor its creation)."""
    updated = epoch(alert.get("updated_at"))
    if updated is None or updated == epoch(alert.get("created_at")):
        return False
    status = alert.get("status")
    entry = latest_status_change(alert.get("history"), status.get("name") if isinstance(status, dict) else None)
    explained = {entry_time(entry) if entry else None} | {
        epoch(comment.get("date")) for comment in comments if isinstance(comment, dict)
    }
    return updated not in explained


def file_alert(alert: dict[str, Any]) -> dict[str, Any]:
    return {name: value for name, value in alert.items() if name not in WHOLE_ALERT_ONLY}
