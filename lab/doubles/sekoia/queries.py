"""What the API computes: the alert listing (filters, sort, paging) and the events search jobs."""

import math
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from uuid import uuid4

from lab.doubles.sekoia.records import iso_z, parse_iso

AlertTest = Callable[[dict[str, Any]], bool]

DEFAULT_ALERTS_PAGE, MAX_ALERTS_PAGE = 20, 100
DEFAULT_EVENTS_PAGE, MAX_EVENTS_PAGE = 100, 1000
RESULTS_TTL = 3600
JOB_QUEUED, JOB_RUNNING, JOB_DONE = 0, 1, 2
MATCH_FIELDS = {
    "rule_uuid": ("rule", "uuid"),
    "rule_name": ("rule", "name"),
    "entity_uuid": ("entity", "uuid"),
    "status_name": ("status", "name"),
    "type_value": ("alert_type", "value"),
    "short_id": ("short_id",),
    "uuid": ("uuid",),
}
FIELD_PATHS = MATCH_FIELDS | {"urgency": ("urgency", "current_value")}
FILTER_PARAMETER = re.compile(r"(match|range|date)\[(\w+)\]")
SHORT_ID_TERM = re.compile(r'\s*alert_short_ids:\s*(?:"([^"]*)"|([^\s"]+))\s*')


class Refusal(Exception):
    """A request the API refuses: answered `{"message": <text>}` with this status."""

    def __init__(self, message: str, status: int = 400):
        super().__init__(message)
        self.status = status


# Alert listing


def field_value(alert: dict[str, Any], name: str) -> Any:
    """A listing field of an alert (`rule_uuid` is `rule.uuid`...), None when absent."""
    value: Any = alert
    for key in FIELD_PATHS.get(name, (name,)):
        value = value.get(key) if isinstance(value, dict) else None
    return value


def as_number(value: Any) -> float | None:
    """Numbers as they are, ISO-8601 strings as epoch seconds, anything else None."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return value
    moment = parse_iso(value)
    return moment.timestamp() if moment else None


def bound(kind: str, name: str, text: str, unbounded: float) -> float:
    text = text.strip()
    if not text:
        return unbounded
    if kind == "date":
        moment = parse_iso(text)
        value = time.time() if text == "now" else moment.timestamp() if moment else None
    else:
        try:
            value = float(text)
        except ValueError:
            value = None
    if value is None:
        expected = "an ISO-8601 date or now" if kind == "date" else "a number"
        raise Refusal(f"{kind}[{name}]: {text!r} is not {expected}")
    return value


def alert_test(kind: str, name: str, value: str) -> AlertTest:
    """`match`: the field is one of the comma-separated values; `range`/`date`: it is within `start,end`."""
    if kind == "match":
        if name not in MATCH_FIELDS:
            raise Refusal(f"match[{name}]: unknown field; use one of {', '.join(MATCH_FIELDS)}")
        wanted = set(value.split(","))
        return lambda alert: str(field_value(alert, name)) in wanted
    parts = value.split(",")
    if len(parts) != 2:
        raise Refusal(f"{kind}[{name}] must be 'start,end'")
    low, high = bound(kind, name, parts[0], -math.inf), bound(kind, name, parts[1], math.inf)

    def within(alert: dict[str, Any]) -> bool:
        number = as_number(field_value(alert, name))
        return number is not None and low <= number <= high

    return within


def sort_alerts(alerts: list[dict[str, Any]], name: str, direction: str) -> list[dict[str, Any]]:
    if direction not in ("asc", "desc"):
        raise Refusal("direction must be asc or desc")
    present = [alert for alert in alerts if field_value(alert, name) is not None]
    missing = [alert for alert in alerts if field_value(alert, name) is None]

    def key(alert: dict[str, Any]) -> tuple[int, Any]:
        value = field_value(alert, name)
        number = as_number(value)
        return (0, number) if number is not None else (1, str(value))

    return sorted(present, key=key, reverse=direction == "desc") + missing


def int_parameter(query: Mapping[str, str], name: str, default: int, low: int, high: int | None = None) -> int:
    text = query.get(name)
    if text is None:
        return default
    try:
        value = int(text)
    except ValueError:
        raise Refusal(f"{name} must be an integer") from None
    if value < low or (high is not None and value > high):
        raise Refusal(f"{name} must be between {low} and {high}" if high else f"{name} must be at least {low}")
    return value


def alerts_page(alerts: list[dict[str, Any]], query: Mapping[str, str]) -> dict[str, Any]:
    """`GET /v1/sic/alerts`: filter, sort, then one page by offset."""
    limit = int_parameter(query, "limit", DEFAULT_ALERTS_PAGE, 1, MAX_ALERTS_PAGE)
    offset = int_parameter(query, "offset", 0, 0)
    tests = [
        alert_test(found[1], found[2], value)
        for name, value in query.items()
        if (found := FILTER_PARAMETER.fullmatch(name))
    ]
    selected = [alert for alert in alerts if all(test(alert) for test in tests)]
    selected = sort_alerts(selected, query.get("sort", "created_at"), query.get("direction", "desc"))
    items = selected[offset : offset + limit]
    return {"total": len(selected), "has_more": offset + len(items) < len(selected), "items": items}


# Events search


def short_id_of_term(term: Any) -> str | None:
    """The alert a term selects (`alert_short_ids:"X"`), None for any other term (all events)."""
    if not isinstance(term, str):
        raise Refusal("Invalid query: term must be a string")
    if (term.count('"') - term.count('\\"')) % 2:
        raise Refusal(f"Invalid query: unbalanced double quotes in {term!r}")
    found = SHORT_ID_TERM.fullmatch(term)
    if not found:
        return None
    return found[1] if found[1] is not None else found[2]


def in_window(events: list[dict[str, Any]], earliest: Any, latest: Any) -> list[dict[str, Any]]:
    """Events whose timestamp is within the ISO-8601 bounds (other bounds are ignored)."""
    low, high = parse_iso(earliest), parse_iso(latest)
    if low is None and high is None:
        return events

    def inside(event: dict[str, Any]) -> bool:
        moment = parse_iso(event.get("timestamp"))
        return moment is not None and (low is None or low <= moment) and (high is None or moment <= high)

    return [event for event in events if inside(event)]


@dataclass
class SearchJob:
    """An events search job: in progress for `duration` seconds after creation, then `final_status`."""

    body: dict[str, Any]
    events: list[dict[str, Any]]
    duration: float
    final_status: int
    matched: int
    expires_early: bool = False
    uuid: str = field(default_factory=lambda: str(uuid4()))
    started: float = field(default_factory=time.monotonic)
    created_at: str = field(default_factory=lambda: iso_z(datetime.now(UTC)))

    @property
    def status(self) -> int:
        return JOB_RUNNING if time.monotonic() - self.started < self.duration else self.final_status

    def describe(self, status: int | None = None) -> dict[str, Any]:
        status = self.status if status is None else status
        done = status == JOB_DONE
        return {
            "uuid": self.uuid,
            "term": self.body.get("term"),
            "earliest_time": echoed_time(self.body.get("earliest_time")),
            "latest_time": echoed_time(self.body.get("latest_time")),
            "visible": self.body.get("visible"),
            "max_last_events": self.body.get("max_last_events"),
            "status": status,
            "total": self.matched if done else 0,
            "results_ttl": RESULTS_TTL,
            "expired": done and self.expires_early,
            "created_at": self.created_at,
        }


def echoed_time(value: Any) -> Any:
    """A search bound as jobs echo it: ISO-8601 in UTC without zone, anything else (`-1d`, `now`) as sent."""
    moment = parse_iso(value)
    return moment.astimezone(UTC).replace(tzinfo=None).isoformat() if moment else value
