"""Links and timestamps shown to analysts."""

from datetime import UTC, datetime


def alert_url(app_url: str, short_id: str) -> str:
    """`{app}/operations/alerts/{short_id}`, the alert page of the Sekoia.io web application."""
    return f"{app_url.rstrip('/')}/operations/alerts/{short_id}"


def epoch_to_iso8601(seconds: int | float) -> str:
    """Epoch seconds -> ISO-8601 UTC with a Z (`2025-11-28T08:00:00Z`), as XSOAR's `occurred` expects."""
    moment = datetime.fromtimestamp(seconds, UTC)
    text = moment.isoformat(timespec="milliseconds" if moment.microsecond else "seconds")
    return text.replace("+00:00", "Z")
