"""Alerts, events and LiveAPI messages shaped like Sekoia.io's samples (`lab/samples/`)."""

import base64
import copy
import json
import math
import random
import secrets
import string
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

SAMPLES = Path(__file__).resolve().parents[2] / "samples"
URGENCY_BANDS = ((20, "Low"), (40, "Moderate"), (60, "High"), (80, "Major"))
SHORT_ID_CHARACTERS = string.ascii_letters + string.digits


# Time


def iso_z(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def parse_iso(text: Any) -> datetime | None:
    """An aware datetime (UTC when no offset is given), or None when `text` is not ISO-8601."""
    if not isinstance(text, str):
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


# Alerts, events and notifications


def load_sample(name: str) -> Any:
    return json.loads((SAMPLES / name).read_text())


def urgency_display(value: float) -> str:
    return next((name for bound, name in URGENCY_BANDS if value < bound), "Urgent")


def random_uuid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def new_short_id(rng: random.Random | None = None) -> str:
    """`AL` and 4 to 11 letters or digits: real short ids are 6 to 13 characters long."""
    rng = rng or random.Random(secrets.randbits(64))
    return "AL" + "".join(rng.choice(SHORT_ID_CHARACTERS) for _ in range(rng.randint(4, 11)))


def build_alert(template: dict[str, Any], short_id: str, overrides: dict[str, Any]) -> dict[str, Any]:
    """A fresh alert shaped like the sample: new identity and times, then the overrides (top-level keys)."""
    now = datetime.now(UTC)
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


def roughen(alert: dict[str, Any], rng: random.Random) -> dict[str, Any]:
    """The alert as real answers are: a share without `last_seen_at` (null) or, older, without title and seen
    times; null `rule.type` and `target`; `detection_type`; the creator and intake fields (SEKOIA.md section 2)."""
    rough = copy.deepcopy(alert)
    rough |= {
        "created_by": random_uuid(rng),
        "created_by_type": rng.choice(["apikey", "avatar", "application"]),
        "updated_by": rng.choice([None, random_uuid(rng)]),
        "intake_uuids": [random_uuid(rng) for _ in range(rng.randint(0, 2))],
        "similarity_strategy": rng.choice([None, ["source.ip"], ["source.ip", "destination.ip"]]),
        "detection_type": rng.choice([None, None, "sigma", "cti"]),
    }
    if rng.random() < 1 / 3:
        rough["last_seen_at"] = None
    if rng.random() < 1 / 6:
        for key in ("title", "first_seen_at", "last_seen_at"):
            rough.pop(key, None)
    if rng.random() < 1 / 3:
        rough["target"] = None
    if rng.random() < 1 / 2:
        rough["stix"] = {}
    if isinstance(rough.get("rule"), dict) and rng.random() < 1 / 3:
        rough["rule"]["type"] = None
    return rough


def listing_item(alert: dict[str, Any], rng: random.Random) -> dict[str, Any]:
    """A listing item in one of the reduced shapes seen in real listings: no uuid, rule or entity, urgency
    reduced to its display band, status to its name."""
    item = {key: value for key, value in alert.items() if key not in ("rule", "entity", "uuid")}
    if rng.random() < 1 / 2:
        item["uuid"] = alert.get("uuid")
    if isinstance(alert.get("urgency"), dict):
        item["urgency"] = {"display": alert["urgency"].get("display")}
    if isinstance(alert.get("status"), dict):
        item["status"] = {"name": alert["status"].get("name")}
    return item


def events_span(alert: dict[str, Any]) -> tuple[datetime, datetime]:
    """From the first sighting (else the creation) to the last sighting (else now): where the events lie."""
    created = alert.get("created_at")
    created_at = datetime.fromtimestamp(created, UTC) if isinstance(created, (int, float)) else datetime.now(UTC)
    first = parse_iso(alert.get("first_seen_at")) or created_at
    last = parse_iso(alert.get("last_seen_at")) or max(first, datetime.now(UTC))
    return first, max(first, last)


def build_events(alert: dict[str, Any], count: int, rng: random.Random | None = None) -> list[dict[str, Any]]:
    """`count` events of the alert, their timestamps spread over its span; real-sized (40-80 keys of mixed types)
    when given a random generator."""
    first, last = events_span(alert)
    step = (last - first) / max(count - 1, 1)
    events = []
    for index in range(count):
        event = {
            "__event_id": str(uuid.uuid4()),
            "timestamp": iso_z(min(first + step * index, last)),  # the step is rounded to the microsecond
            "alert_short_ids": [alert.get("short_id")],
            "message": f"simulated event {index + 1} of {count}",
            "host.name": f"WKS-{index % 100:04d}",
            "source.ip": f"10.0.{index // 250 % 250}.{index % 250 + 1}",
            "event.dialect": "windows",
        }
        events.append(real_sized(event, alert, rng) if rng else event)
    return events


def real_sized(event: dict[str, Any], alert: dict[str, Any], rng: random.Random) -> dict[str, Any]:
    """The event as real ones are: 40-80 keys, ints, lists, lists of lists, `sekoiaio.matches` (a list of
    objects), a base64 `__event_id` that is no uuid, and sometimes no `alert_short_ids`."""
    rule = alert.get("rule")
    rule = rule if isinstance(rule, dict) else {}
    source, target = event["source.ip"], f"185.220.{rng.randint(0, 255)}.{rng.randint(1, 254)}"
    big = event | {
        "__event_id": base64.b64encode(rng.randbytes(24)).decode(),
        "event.id": rng.randint(1, 10000),
        "event.code": str(rng.choice([4624, 4688, 5156])),
        "event.category": rng.sample(["process", "network", "authentication", "file"], 2),
        "event.type": ["start"],
        "event.outcome": rng.choice(["success", "failure", None]),
        "event.dialect_uuid": random_uuid(rng),
        "source.port": rng.randint(1024, 65535),
        "destination.ip": target,
        "destination.port": rng.choice([53, 80, 443, 8443]),
        "network.transport": "tcp",
        "related.ip": [source, target],
        "related.hosts": [event["host.name"]],
        "host.ip": [source, "fe80::1"],
        "host.os.family": "windows",
        "host.os.version": "10.0.19045",
        "user.name": rng.choice(["j.doe", "SYSTEM", "svc-backup"]),
        "user.domain": "CORP",
        "process.name": rng.choice(["powershell.exe", "rundll32.exe", "cmd.exe"]),
        "process.pid": rng.randint(100, 40000),
        "process.args": ["-nop", "-w", "hidden"],
        "process.parent.name": "explorer.exe",
        "file.hash.sha256": rng.randbytes(32).hex(),
        "agent.id": random_uuid(rng),
        "observer.vendor": "Microsoft",
        "log.level": rng.choice(["information", "warning"]),
        "ecs.version": "8.11.0",
        "winlog.event_data.PrivilegeList": [["SeDebugPrivilege"], ["SeBackupPrivilege", "SeRestorePrivilege"]],
        "sekoiaio.intake.uuid": random_uuid(rng),
        "sekoiaio.intake.dialect": "windows",
        "sekoiaio.customer.community_uuid": alert.get("community_uuid"),
        "sekoiaio.entity.uuid": (
            (alert.get("entity") or {}).get("uuid") if isinstance(alert.get("entity"), dict) else None
        ),
        "sekoiaio.matches": [
            {"rule_uuid": rule.get("uuid"), "rule_name": rule.get("name"), "severity": rule.get("severity")},
            {"rule_uuid": random_uuid(rng), "rule_name": None, "severity": 10},
        ][: rng.randint(1, 2)],
        "sekoiaio.tags": [],
    }
    for index in range(rng.randint(40, 80) - len(big)):
        big[f"winlog.event_data.Field{index:02d}"] = rng.choice([index, f"value {index}", None, [index, index + 1]])
    if rng.random() < 1 / 4:
        del big["alert_short_ids"]
    return big


def created_notification(alert: dict[str, Any]) -> dict[str, Any]:
    """The LiveAPI v2 "alert created" message of an alert."""
    return {
        "metadata": {
            "version": 2,
            "uuid": str(uuid.uuid4()),
            "created_at": datetime.now(UTC).isoformat(timespec="microseconds"),
            "community_uuid": alert.get("community_uuid"),
        },
        "type": "alert",
        "action": "created",
        "attributes": {"uuid": alert.get("uuid"), "short_id": alert.get("short_id")},
    }


def _message(alert: dict[str, Any], kind: str, action: str, attributes: dict[str, Any]) -> dict[str, Any]:
    return created_notification(alert) | {"type": kind, "action": action, "attributes": attributes}


def status_notification(alert: dict[str, Any]) -> dict[str, Any]:
    """The LiveAPI v2 "alert updated" message of the alert's current status."""
    status = alert.get("status")
    status = status if isinstance(status, dict) else {}
    updated = {"status": status.get("uuid"), "status_name": status.get("name")}
    identity = {"uuid": alert.get("uuid"), "short_id": alert.get("short_id")}
    return _message(alert, "alert", "updated", identity | {"updated": updated})


def urgency_notification(alert: dict[str, Any]) -> dict[str, Any]:
    """The LiveAPI v2 "alert updated" message of the alert's current urgency (as the real sample: the dynamic urgency
    value only)."""
    urgency = alert.get("urgency")
    value = urgency.get("current_value") if isinstance(urgency, dict) else None
    identity = {"uuid": alert.get("uuid"), "short_id": alert.get("short_id")}
    return _message(alert, "alert", "updated", identity | {"updated": {"dynamic_urgency_value": value}})


def comment_notification(alert: dict[str, Any], comment: dict[str, Any]) -> dict[str, Any]:
    """The LiveAPI v2 "alert-comment created" message of a comment of the alert."""
    attributes = {
        "uuid": comment["uuid"],
        "alert_uuid": alert.get("uuid"),
        "alert_short_id": alert.get("short_id"),
        "content": comment["content"],
        "created_by": comment["created_by"],
        "created_by_type": comment["created_by_type"],
    }
    return _message(alert, "alert-comment", "created", attributes)


def activity_notifications(alert: dict[str, Any]) -> list[dict[str, Any]]:
    """The other LiveAPI v2 messages about an alert (SEKOIA.md sections 4 and 8): `updated` with a status, then with
    a dynamic urgency, a comment created, a case created then updated. Nothing is stored: see the simulator's
    `change_status_as_person` and `comment_as_person` for changes the API then shows."""
    identity = {"uuid": alert.get("uuid"), "short_id": alert.get("short_id")}
    case = {"uuid": str(uuid.uuid4()), "short_id": "CAx1Ab2", "title": "Investigation", "alerts": [identity]}
    acknowledged = {"uuid": "8f206505-af6d-433e-93f4-775d46dc7d0f", "name": "Acknowledged"}
    comment = {
        "uuid": str(uuid.uuid4()),
        "content": "Looking into it",
        "created_by": str(uuid.uuid4()),
        "created_by_type": "avatar",
    }
    return [
        status_notification(alert | {"status": acknowledged}),
        urgency_notification(alert | {"urgency": {"current_value": 71}}),
        comment_notification(alert, comment),
        _message(alert, "case", "created", case),
        _message(alert, "case", "updated", {"uuid": case["uuid"], "updated": {"status_name": "Ongoing"}}),
    ]


@dataclass
class StoredAlert:
    alert: dict[str, Any]
    events: list[dict[str, Any]]
    comments: list[dict[str, Any]] = field(default_factory=list)
    history: list[dict[str, Any]] = field(default_factory=list)  # oldest first; answered newest first
    indexed_at: list[float] = field(default_factory=list)  # when each event becomes searchable (unlisted: at once)

    def searchable_events(self, now: float) -> list[dict[str, Any]]:
        """The events indexed by `now` (on the simulator's clock)."""
        times = self.indexed_at + [-math.inf] * (len(self.events) - len(self.indexed_at))
        return [event for event, indexed in zip(self.events, times, strict=False) if indexed <= now]

    def answered_history(self) -> list[dict[str, Any]]:
        return list(reversed(self.history))
