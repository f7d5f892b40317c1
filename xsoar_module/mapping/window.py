"""The query, time window and count of an alert's events, and the checks of a search window. Pure functions, no
I/O."""

import re
from datetime import UTC, datetime, timedelta

from xsoar_module.errors import InvalidInputError
from xsoar_module.models.alert import Alert
from xsoar_module.models.events import NOW
from xsoar_module.timing import iso8601, parse_iso8601

RELATIVE = re.compile(r"-(?P<count>\d+)(?P<unit>[smhdw])")
EPOCH = re.compile(r"\d+(\.\d+)?")
ALERT_EVENTS_QUERY = re.compile(r'\s*alert_short_ids\s*:\s*(?:"[^"\s]+"|[^"\s]+)\s*')
TIME_FORMS = (
    "ISO-8601 (2025-11-28 or 2025-11-28T08:00:00Z, with or without zone), relative (-30m, -1d, -2w), now, "
    "or epoch seconds"
)
UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
LOOKBACK_WITHOUT_TIMES = timedelta(days=30)
# An alert is created after the events that raised it (real alerts: first_seen_at 1 to 20 minutes before
# created_at, more for rules that correlate over hours): without first_seen_at, the search starts this long before
# created_at. The query names the alert, so a wider start costs search time, never foreign events.
EVENTS_BEFORE_CREATION = timedelta(days=1)


def alert_events_query(short_id: str) -> str:
    """The events query of one alert."""
    return f'alert_short_ids:"{short_id}"'


def is_alert_events_query(query: str) -> bool:
    """Whether `query` selects the events of one alert, and nothing else (`alert_short_ids:"<short id>"`)."""
    return ALERT_EVENTS_QUERY.fullmatch(query) is not None


def expected_events(similar: int | None) -> int:
    """How many events an alert has: its occurrence count `similar`, at least one (the event that raised it; real
    answers carry `similar: 0` too, SEKOIA.md section 2)."""
    return max(similar or 0, 1)


def parse_time(text: object, now: datetime) -> datetime | None:
    """An ISO-8601 time (UTC when no zone), `now`, `-<n><s|m|h|d|w>` or epoch seconds as an aware datetime; or None."""
    if not isinstance(text, str):
        return None
    text = text.strip()
    if text == NOW:
        return now
    try:
        if relative := RELATIVE.fullmatch(text):
            return now - timedelta(**{UNITS[relative["unit"]]: int(relative["count"])})
        if EPOCH.fullmatch(text):
            return datetime.fromtimestamp(float(text), UTC)
    except (ValueError, OverflowError, OSError):  # out of datetime's range
        return None
    return parse_iso8601(text)


def search_time(text: str, now: datetime) -> str:
    """A bound of an events search as Sekoia.io takes it (ISO-8601, relative, `now`); epoch seconds become ISO-8601.

    Raises ValueError naming the accepted forms when `text` is none of them.
    """
    text = text.strip()
    moment = parse_time(text, now)
    if moment is None:
        raise ValueError(f"{text[:80]!r} is not a time: give {TIME_FORMS}")
    return iso8601(moment) if EPOCH.fullmatch(text) else text


def events_window(alert: Alert, now: datetime) -> tuple[str, str]:
    """ISO-8601 bounds of the search of an alert's events, never null.

    From `first_seen_at`, else a day before `created_at` (the events come before the alert); to `last_seen_at`,
    else `now` (real alerts often have no `last_seen_at`). An alert without any time searches the 30 days before its
    end.
    """
    latest = parse_time(alert.last_seen_at, now) or now
    earliest = parse_time(alert.first_seen_at, now)
    if earliest is None and isinstance(alert.created_at, (int, float)):
        earliest = datetime.fromtimestamp(alert.created_at, UTC) - EVENTS_BEFORE_CREATION
    if earliest is None:
        earliest = latest - LOOKBACK_WITHOUT_TIMES
    return iso8601(min(earliest, latest)), iso8601(latest)  # to the microsecond: no bound cuts an event off


def check_window(earliest_time: str, latest_time: str, now: datetime) -> None:
    """Refuse a window whose start is after its end (when both are times this module understands)."""
    earliest, latest = parse_time(earliest_time, now), parse_time(latest_time, now)
    if earliest is not None and latest is not None and earliest > latest:
        raise InvalidInputError(
            f"Invalid arguments: earliest_time {earliest_time!r} is after latest_time {latest_time!r}: "
            "give the start of the window in earliest_time and its end in latest_time"
        )
