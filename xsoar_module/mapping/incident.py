"""Alert + events -> the XSOAR incident bodies (Generic Webhook and REST API). Pure functions, no I/O."""

from typing import Any, cast

import orjson

from xsoar_module.errors import InvalidInputError
from xsoar_module.mapping.create_request import split_fields
from xsoar_module.mapping.links import alert_url
from xsoar_module.mapping.severity import display_of, xsoar_severity
from xsoar_module.mapping.trimming import bound, note, size
from xsoar_module.models.alert import Alert
from xsoar_module.timing import epoch_to_iso8601

MAX_BODY_BYTES = 512 * 1024
# API mode: the webhook body travels as the string rawJSON, whose escaping at most doubles it; the rest of the
# create request gets what is left of MAX_BODY_BYTES.
RAW_JSON_MAX_BYTES = 200 * 1024
NOTE_BYTES = 3 * 1024  # room kept for `events: []` and the truncation notes
MAX_ID_LENGTH = 256
WEBHOOK_KEPT = frozenset({("alertId",), ("alertUrl",), ("urgency",), ("severity",)})
API_KEPT = frozenset({("CustomFields", "alertid"), ("dbotMirrorId",), ("severity",), ("createInvestigation",)})


def incident_name(alert: Alert) -> str:
    """The rule name, as the documentation does; the alert title, then its id when the rule is missing."""
    if alert.rule and alert.rule.name:
        return alert.rule.name
    return alert.title or f"Sekoia.io alert {alert_id(alert)}"


def alert_id(alert: Alert) -> str:
    """The short id (what analysts and XSOAR's Sekoia integration use), else the uuid."""
    identifier = alert.short_id or alert.uuid
    if not identifier:
        raise InvalidInputError("The alert has neither short_id nor uuid: pass the output of Get Alert or the trigger")
    if len(identifier) > MAX_ID_LENGTH:
        raise InvalidInputError(
            f"The alert's short_id/uuid is {len(identifier)} characters long: "
            "pass the output of Get Alert or the trigger"
        )
    return identifier


def occurred(alert: Alert) -> str | None:
    """ISO-8601 UTC creation time; the first event time when created_at is missing (None: XSOAR uses now)."""
    if alert.created_at is not None:
        return epoch_to_iso8601(alert.created_at)
    return alert.first_seen_at


def _event_time(event: dict[str, Any]) -> str:
    value = event.get("timestamp") or event.get("@timestamp") or ""
    return value if isinstance(value, str) else str(value)


def select_events(events: list[dict[str, Any]], max_events: int) -> list[dict[str, Any]]:
    """The first `max_events` events in time order."""
    return sorted(events, key=_event_time)[:max_events]


def _fit(body: dict[str, Any], events: list[dict[str, Any]], max_bytes: int) -> list[dict[str, Any]]:
    """The first events that fit in `max_bytes` with the rest of the body (each event measured once)."""
    room = max_bytes - size({**body, "events": []})
    kept: list[dict[str, Any]] = []
    for event in events:
        room -= size(event) + 1  # and its comma
        if room < 0:
            break
        kept.append(event)
    return kept


def _context(alert: Alert) -> dict[str, Any]:
    """Alert context an analyst needs in XSOAR besides the documentation's keys."""
    rule = alert.rule
    return {
        "alertUuid": alert.uuid,
        "title": alert.title,
        "details": alert.details,
        "rule": {"uuid": rule.uuid, "name": rule.name, "type": rule.type, "severity": rule.severity} if rule else None,
        "status": alert.status.name if alert.status else None,
        "entity": {"uuid": alert.entity.uuid, "name": alert.entity.name} if alert.entity else None,
        "alertType": (
            {"category": alert.alert_type.category, "value": alert.alert_type.value} if alert.alert_type else None
        ),
        "urgencyValue": alert.urgency.current_value if alert.urgency else None,
        "urgencyDisplay": display_of(alert.urgency),
        "firstSeenAt": alert.first_seen_at,
        "lastSeenAt": alert.last_seen_at,
        "eventCount": alert.similar,
        "source": alert.source,
        "target": alert.target,
    }


def missing_events_note(found: int, missing: int, waited: float | None = None) -> str:
    """What the incident says of the alert's events that the search had not found (not indexed yet) when the wait
    for them ended (`waited` seconds; None: Get Events' wait)."""
    when = "when Get Events searched" if waited is None else f"after {waited:.0f} s of searching"
    if not found:
        return f"No events found: Sekoia.io had not indexed any of the alert's {missing} event(s) {when}"
    return f"{found} of the alert's {found + missing} events found: Sekoia.io had not indexed the others {when}"


def webhook_body(
    alert: Alert,
    events: list[dict[str, Any]],
    *,
    app_url: str,
    max_events: int,
    name: str | None = None,
    incident_type: str | None = None,
    fields: dict[str, Any] | None = None,
    events_total: int | None = None,
    events_missing: int = 0,
    indexing_waited: float | None = None,
    max_bytes: int = MAX_BODY_BYTES,
) -> dict[str, Any]:
    """The Generic Webhook body: the documentation's keys (read by its incoming mapper), context, then `fields`.

    `urgency` carries the numeric XSOAR severity, so the documentation's mapping `urgency -> severity` sets a
    real severity; the Sekoia.io value and band are in `urgencyValue` / `urgencyDisplay`. `events_total` is the
    number of events the alert has when `events` is only the first of them (fetched with a limit);
    `events_missing` the number the search had not found after `indexing_waited` seconds (`missing_events_note`).
    The body stays under `max_bytes`: when it would not, the largest other parts are trimmed (listed in
    `truncatedFields`) to leave the events up to half the room, then the events that do not fit are left out
    (`eventsTruncated`, `eventsNote`). `eventsNote` also says when events were missing.
    """
    identifier = alert_id(alert)
    severity = xsoar_severity(alert.urgency)
    body: dict[str, Any] = {"name": name or incident_name(alert)}
    if incident_type:
        body["type"] = incident_type
    if (when := occurred(alert)) is not None:
        body["occurred"] = when
    body |= {
        "alertId": identifier,
        "alertUrl": alert_url(app_url, identifier),
        "urgency": severity,
        "severity": severity,
        **_context(alert),
    }
    selected = select_events(events, max_events)
    room = max_bytes - NOTE_BYTES
    others = max(room // 2, room - size({"events": selected}))  # events get up to half the room when both are large
    body, trimmed = bound(body | (fields or {}), others, WEBHOOK_KEPT)
    kept = _fit(body, selected, room)
    body["events"] = kept
    total = max(events_total or 0, len(events))
    notes = [missing_events_note(total, events_missing, indexing_waited)] if events_missing else []
    if len(kept) < total:
        body["eventsTruncated"] = True
        notes.append(f"{len(kept)} of {total} events included (max_events={max_events}, body limit {max_bytes} bytes)")
    if notes:
        body["eventsNote"] = "; ".join(notes)
    if trimmed:
        body["truncatedFields"] = note(trimmed)
    return cast(dict[str, Any], orjson.loads(orjson.dumps(body, default=str)))  # JSON types only


def _name_of(value: Any) -> Any:
    return value.get("name") if isinstance(value, dict) else None


def _labels(body: dict[str, Any]) -> list[dict[str, str]]:
    values = {
        "Sekoia.io alert ID": body.get("alertId"),
        "Sekoia.io alert URL": body.get("alertUrl"),
        "Sekoia.io rule": _name_of(body.get("rule")),
        "Sekoia.io urgency": body.get("urgencyDisplay"),
        "Sekoia.io status": body.get("status"),
        "Sekoia.io entity": _name_of(body.get("entity")),
        "Sekoia.io source": body.get("source"),
        "Sekoia.io target": body.get("target"),
    }
    return [{"type": label, "value": str(value)} for label, value in values.items() if value not in (None, "")]


# Custom fields of the API-mode incident: what the content pack's incoming mapper sets from the webhook body (a
# REST-created incident goes through no instance mapper). Machine name -> path in the webhook body.
PACK_FIELDS = {
    "sourceip": ("source",),
    "destinationip": ("target",),
    "sekoiaioalerturl": ("alertUrl",),
    "sekoiaioalertuuid": ("alertUuid",),
    "sekoiaiourgency": ("urgencyValue",),
    "sekoiaiourgencyband": ("urgencyDisplay",),
    "sekoiaiostatus": ("status",),
    "sekoiaiorule": ("rule", "name"),
    "sekoiaioentity": ("entity", "name"),
    "sekoiaioevents": ("events",),
    "sekoiaioeventsnote": ("eventsNote",),
}


def pack_custom_fields(webhook: dict[str, Any]) -> dict[str, Any]:
    """The content pack's fields from the webhook body, as its mapper would set them (lists as JSON text)."""
    fields: dict[str, Any] = {}
    for name, path in PACK_FIELDS.items():
        value: Any = webhook
        for key in path:
            value = value.get(key) if isinstance(value, dict) else None
        if value is not None:
            fields[name] = orjson.dumps(value).decode() if isinstance(value, (list, dict)) else value
    return fields


def api_body(
    webhook: dict[str, Any],
    *,
    create_investigation: bool,
    playbook_id: str | None = None,
    fields: dict[str, Any] | None = None,
    max_bytes: int = MAX_BODY_BYTES,
) -> dict[str, Any]:
    """The REST `POST /incident` body built from the webhook body, which also travels whole as `rawJSON`.

    The alert's identity goes in the documented custom field `alertid` and in `dbotMirrorId` (for the XSOARs that
    store it); the content pack's fields come as its mapper would set them. `fields`: keys naming create-request
    fields stay top-level, the others become custom fields (over the pack's).
    Under `max_bytes` when the webhook body is under RAW_JSON_MAX_BYTES: the other parts are trimmed to what is
    left (listed in rawJSON's `truncatedFields` as `incident.<path>`).
    """
    top, custom = split_fields(fields or {})
    details = webhook.get("details") or webhook.get("title") or ""
    head: dict[str, Any] = {
        "name": webhook["name"],
        "type": webhook.get("type"),
        "occurred": webhook.get("occurred"),
        "severity": webhook["severity"],
        "details": f"{details}\n\n{webhook['alertUrl']}".strip(),
        "labels": _labels(webhook),
        "CustomFields": pack_custom_fields(webhook) | custom | {"alertid": webhook["alertId"]},
        "dbotMirrorId": webhook["alertId"],
        "createInvestigation": create_investigation,
        "playbookId": playbook_id or None,
    }
    head = {key: value for key, value in (head | top).items() if value is not None}
    room = max_bytes - size(orjson.dumps(webhook, default=str).decode()) - 2 * NOTE_BYTES
    head, trimmed = bound(head, room, API_KEPT)
    raw = webhook
    if trimmed:
        raw = webhook | {
            "truncatedFields": note(webhook.get("truncatedFields", []) + [f"incident.{p}" for p in trimmed])
        }
    return head | {"rawJSON": orjson.dumps(raw, default=str).decode()}
