"""A Sekoia.io alert's later changes (urgency, occurrences, last sighting, new events) -> the changes of its XSOAR
incident. Pure functions, no I/O."""

from typing import TYPE_CHECKING, Any

import orjson

from xsoar_module.mapping.severity import display_of, xsoar_severity
from xsoar_module.mapping.trimming import size
from xsoar_module.models.alert import AlertUrgency
from xsoar_module.timing import epoch, iso8601_seconds

if TYPE_CHECKING:
    from xsoar_module.sync.snapshots import Incident

EVENTS_FIELD = "sekoiaioevents"  # the pack's Sekoia.io Events (the events as JSON text)
URGENCY_FIELD, BAND_FIELD = "sekoiaiourgency", "sekoiaiourgencyband"  # the pack's urgency fields
OCCURRENCES_LABEL, LAST_SEEN_LABEL = "Sekoia.io occurrences", "Sekoia.io last seen"  # labels (the pack has no field)
CHANGED_AT_LABEL = "Sekoia.io urgency changed at"  # when the alert change written last was made (ISO-8601)
EVENT_ID = "__event_id"


def urgency_of(value: Any) -> AlertUrgency | None:
    """An urgency argument as Sekoia.io's: a number (0-100), or an object `{value, display}` (Alert Updated's) or
    `{current_value, display}` (the alert's); None when absent. ValueError names what is wrong."""
    if value is None:
        return None
    if isinstance(value, dict):
        number = value.get("value", value.get("current_value"))
        display = value.get("display")
        if display is not None and not isinstance(display, str):
            raise ValueError(f"urgency.display must be a band name (Low ... Urgent), got {str(display)[:40]!r}")
    else:
        number, display = value, None
    if isinstance(number, bool) or not isinstance(number, (int, float)) or not 0 <= number <= 100:
        raise ValueError(
            "urgency must be a number from 0 to 100 or an object with one as value ({{ node.0.urgency }}), got "
            f"{str(value)[:60]!r}"
        )
    return AlertUrgency(current_value=round(number), display=display)


def urgency_changes(incident: "Incident", urgency: AlertUrgency) -> dict[str, Any]:
    """The incident's severity and the pack's urgency fields for `urgency`, those that differ ({} when none)."""
    custom = incident.custom_fields
    changes: dict[str, Any] = {}
    severity = xsoar_severity(urgency)
    if incident.severity != severity:
        changes["severity"] = severity
    fields = {URGENCY_FIELD: urgency.current_value, BAND_FIELD: display_of(urgency)}
    differing = {name: value for name, value in fields.items() if custom.get(name) != value}
    if differing:
        changes["CustomFields"] = differing
    return changes


def later_change(incident: "Incident", changed_at: float | None) -> str | None:
    """The time of an alert change later than `changed_at` already written on the incident (its label), if any."""
    written = next((label.get("value") for label in incident.labels if label.get("type") == CHANGED_AT_LABEL), None)
    at = epoch(written)
    return str(written) if changed_at is not None and at is not None and at > changed_at else None


def label_changes(incident: "Incident", wanted: dict[str, Any]) -> dict[str, Any]:
    """The incident's labels with `wanted` (label type -> value; None: not brought), when one of them differs ({}
    else); the other labels kept."""
    labels = incident.labels
    values = {name: str(value) for name, value in wanted.items() if value is not None}
    current = {label.get("type"): label.get("value") for label in labels}
    if all(current.get(name) == value for name, value in values.items()):
        return {}
    kept = [label for label in labels if label.get("type") not in values]
    return {"labels": kept + [{"type": name, "value": value} for name, value in values.items()]}


def alert_fields_changes(
    incident: "Incident",
    urgency: AlertUrgency | None,
    occurrences: int | None,
    last_seen_at: str | None,
    changed_at: float | None,
) -> dict[str, Any]:
    """The incident's severity, urgency fields and labels for the alert's values, those that differ; with the change's
    time as a label when something is written and the time is known."""
    fields = urgency_changes(incident, urgency) if urgency else {}
    sightings = {OCCURRENCES_LABEL: occurrences, LAST_SEEN_LABEL: last_seen_at}
    if not (fields or label_changes(incident, sightings)):
        return {}
    stamp = {CHANGED_AT_LABEL: iso8601_seconds(changed_at) if changed_at is not None else None}
    return merged(fields, label_changes(incident, sightings | stamp))


def incident_events(incident: "Incident") -> list[dict[str, Any]] | None:
    """The events the incident carries (the pack's events field, JSON text or a list); None when that field holds
    something else, which this module must not overwrite."""
    value = incident.custom_fields.get(EVENTS_FIELD)
    if value in (None, ""):
        return []
    if isinstance(value, str):
        try:
            value = orjson.loads(value)
        except orjson.JSONDecodeError:
            return None
    if isinstance(value, list) and all(isinstance(event, dict) for event in value):
        return value
    return None


def appended_events(
    existing: list[dict[str, Any]], found: list[dict[str, Any]], max_events: int, max_bytes: int
) -> list[dict[str, Any]]:
    """The events of `found` that `existing` lacks (by `__event_id`), in order, as many as fit with `existing` under
    `max_events` events and `max_bytes` bytes (as sent: JSON text inside the JSON body)."""
    known = {event.get(EVENT_ID) for event in existing}
    room, count = max_bytes - _sent_size(existing), len(existing)
    added: list[dict[str, Any]] = []
    for event in found:
        identifier = event.get(EVENT_ID)
        if identifier is None or identifier in known:
            continue
        if count + len(added) >= max_events:
            break
        room -= _sent_size(event) + 1
        if room < 0:
            break
        known.add(identifier)
        added.append(event)
    return added


def _sent_size(value: Any) -> int:
    """Bytes of `value` as JSON text inside a JSON body (its quotes escaped)."""
    return size(orjson.dumps(value).decode())


def events_changes(existing: list[dict[str, Any]], added: list[dict[str, Any]]) -> dict[str, Any]:
    """The pack's events field with `added` after `existing` ({} when nothing is added)."""
    if not added:
        return {}
    return {"CustomFields": {EVENTS_FIELD: orjson.dumps(existing + added).decode()}}


def merged(*changes: dict[str, Any]) -> dict[str, Any]:
    """Incident changes put together (their `CustomFields` merged)."""
    result: dict[str, Any] = {}
    for change in changes:
        custom = (result.get("CustomFields") or {}) | (change.get("CustomFields") or {})
        result |= change
        if custom:
            result["CustomFields"] = custom
    return result


def changed_fields(changes: dict[str, Any]) -> list[str]:
    """The names of the fields a change sets (custom fields by machine name), for results and logs."""
    custom = changes.get("CustomFields") or {}
    return sorted([name for name in changes if name != "CustomFields"] + list(custom))
