"""Alerts, events and LiveAPI messages shaped like Sekoia.io's samples (`lab/samples/`)."""

import copy
import json
import secrets
import string
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

SAMPLES = Path(__file__).resolve().parent.parent / "samples"
URGENCY_BANDS = ((20, "Low"), (40, "Moderate"), (60, "High"), (80, "Major"))
SHORT_ID_CHARACTERS = string.ascii_letters + string.digits


# Time


def iso_z(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).isoformat(timespec="microseconds").replace("+00:00", "Z")


def parse_iso(text: Any) -> datetime | None:
    """An aware datetime (UTC when no offset is given), or None when `text` is not ISO-8601."""
    if not isinstance(text, str):
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


# Alerts, events and notifications


def load_sample(name: str) -> Any:
    return json.loads((SAMPLES / name).read_text())


def urgency_display(value: float) -> str:
    return next((name for bound, name in URGENCY_BANDS if value < bound), "Urgent")


def new_short_id() -> str:
    return "AL" + "".join(secrets.choice(SHORT_ID_CHARACTERS) for _ in range(10))


def build_alert(template: dict[str, Any], short_id: str, overrides: dict[str, Any]) -> dict[str, Any]:
    """A fresh alert shaped like the sample: new identity and times, then the overrides (top-level keys)."""
    now = datetime.now(timezone.utc)
    urgency = template["urgency"]["current_value"]
    fresh = {
        "uuid": str(uuid.uuid4()),
        "short_id": short_id,
        "created_at": int(now.timestamp()),
        "updated_at": int(now.timestamp()),
        "first_seen_at": iso_z(now - timedelta(minutes=1)),
        "last_seen_at": iso_z(now),
        "urgency": template["urgency"] | {"display": urgency_display(urgency)},
    }
    return copy.deepcopy(template) | fresh | overrides


def build_events(alert: dict[str, Any], count: int) -> list[dict[str, Any]]:
    """`count` events of the alert, their timestamps spread from its first to its last sighting."""
    first = parse_iso(alert.get("first_seen_at")) or datetime.now(timezone.utc)
    last = parse_iso(alert.get("last_seen_at")) or first
    step = (last - first) / max(count - 1, 1)
    return [
        {
            "__event_id": str(uuid.uuid4()),
            "timestamp": iso_z(first + step * index),
            "alert_short_ids": [alert.get("short_id")],
            "message": f"simulated event {index + 1} of {count}",
            "host.name": f"WKS-{index % 100:04d}",
            "source.ip": f"10.0.{index // 250 % 250}.{index % 250 + 1}",
            "event.dialect": "windows",
        }
        for index in range(count)
    ]


def created_notification(alert: dict[str, Any]) -> dict[str, Any]:
    """The LiveAPI v2 "alert created" message of an alert."""
    return {
        "metadata": {
            "version": 2,
            "uuid": str(uuid.uuid4()),
            "created_at": datetime.now(timezone.utc).isoformat(timespec="microseconds"),
            "community_uuid": alert.get("community_uuid"),
        },
        "type": "alert",
        "action": "created",
        "attributes": {"uuid": alert.get("uuid"), "short_id": alert.get("short_id")},
    }
