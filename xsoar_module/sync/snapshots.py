"""Typed snapshots of both sides of a pair, parsed leniently from the real shapes (a field of another type reads as
absent, never as an error), and XSOAR's constants. Pure, no I/O.

The clients answer raw JSON objects; actions and triggers read them here once, then decide on the snapshots.
"""

from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, field_validator

from xsoar_module.sync.history import dated_history
from xsoar_module.sync.rules import status_name
from xsoar_module.timing import epoch, xsoar_epoch

# XSOAR's incident statuses and entry types (XSOAR.md): the sync's only copy of them
STATUS_PENDING, STATUS_ACTIVE, STATUS_CLOSED = 0, 1, 2
ENTRY_REGULAR = 1  # a war-room entry written by a person or an API call (notes are regular entries)
SYSTEM_USERS = frozenset({"", "DBot"})  # the authors of war-room entries that are not a person's


def _text_or_none(value: Any) -> str | None:
    """A text field read leniently: a number becomes its text, anything else not a text is absent."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return str(value)
    return value if isinstance(value, str) else None


class Incident(BaseModel):
    """An XSOAR incident as the sync reads it. `raw` is the object as answered: the client writes it back whole (an
    XSOAR replacing the stored incident keeps the other fields)."""

    model_config = ConfigDict(populate_by_name=True, frozen=True)

    id: str
    status: int | None = None
    investigation_id: str | None = Field(None, alias="investigationId")
    closed: str | None = None  # XSOAR's time of the closure; its zero time (year 1) when open
    modified: str | None = None
    close_reason: str | None = Field(None, alias="closeReason")
    close_notes: str | None = Field(None, alias="closeNotes")
    closing_user: str | None = Field(None, alias="closingUserId")
    details: str | None = None
    custom_fields: dict[str, Any] = Field(default_factory=dict, alias="CustomFields")
    mirror_id: str | None = Field(None, alias="dbotMirrorId")
    severity: float | None = None
    labels: list[dict[str, Any]] = Field(default_factory=list)
    _raw: dict[str, Any] = PrivateAttr(default_factory=dict)

    @field_validator("status", mode="before")
    @classmethod
    def _number(cls, value: Any) -> int | None:
        return value if isinstance(value, int) and not isinstance(value, bool) else None

    @field_validator("severity", mode="before")
    @classmethod
    def _severity(cls, value: Any) -> float | None:
        return value if isinstance(value, (int, float)) and not isinstance(value, bool) else None

    @field_validator("labels", mode="before")
    @classmethod
    def _labels(cls, value: Any) -> list[dict[str, Any]]:
        return [label for label in value if isinstance(label, dict)] if isinstance(value, list) else []

    @field_validator("custom_fields", mode="before")
    @classmethod
    def _object(cls, value: Any) -> dict[str, Any]:
        return value if isinstance(value, dict) else {}

    @field_validator(
        "investigation_id",
        "closed",
        "modified",
        "close_reason",
        "close_notes",
        "closing_user",
        "details",
        "mirror_id",
        mode="before",
    )
    @classmethod
    def _text(cls, value: Any) -> str | None:
        return _text_or_none(value)

    @classmethod
    def of(cls, raw: dict[str, Any]) -> "Incident":
        """The snapshot of an incident as XSOAR answered it (its `id` read as a text)."""
        incident = cls.model_validate(raw | {"id": str(raw.get("id"))})
        incident._raw = raw
        return incident

    @property
    def raw(self) -> dict[str, Any]:
        """The incident as XSOAR answered it."""
        return self._raw

    @property
    def is_closed(self) -> bool:
        return self.status == STATUS_CLOSED

    @property
    def war_room(self) -> str:
        """The investigation of the incident's war room (its own id when XSOAR gives none)."""
        return self.investigation_id or self.id

    @property
    def closed_at(self) -> float | None:
        """Epoch seconds of the closure; None when open (XSOAR's zero time) or unknown."""
        return xsoar_epoch(self.closed)

    @property
    def modified_at(self) -> float | None:
        return xsoar_epoch(self.modified)

    def reopened(self) -> "Incident":
        """The snapshot after this module reopened the incident."""
        return Incident.of(self.raw | {"status": STATUS_ACTIVE})


@dataclass(frozen=True)
class Alert:
    """A Sekoia.io alert as the sync reads it: its status, its history as answered, its comments (None when the answer
    has none) and the comments sent with its status changes."""

    uuid: str | None
    short_id: str | None
    status: str | None
    history: Any
    updated_at: int | None = None
    comments: list[dict[str, Any]] | None = None
    history_comments: list[dict[str, Any]] = field(default_factory=list)

    @classmethod
    def of(cls, raw: dict[str, Any]) -> "Alert":
        """The snapshot of an alert as Sekoia.io answered it (`GET /v1/sic/alerts/{id}`, with history and comments)."""
        comments, history = raw.get("comments"), raw.get("history")
        told = [
            item
            for entry in (history if isinstance(history, list) else [])
            if isinstance(entry, dict) and isinstance(entry.get("history_comments"), list)
            for item in entry["history_comments"]
            if isinstance(item, dict)
        ]
        return cls(
            uuid=_text_or_none(raw.get("uuid")),
            short_id=_text_or_none(raw.get("short_id")),
            status=alert_status(raw),
            history=history,
            updated_at=epoch(raw.get("updated_at")),
            comments=[item for item in comments if isinstance(item, dict)] if isinstance(comments, list) else None,
            history_comments=told,
        )

    @property
    def dated_history(self) -> Any:
        """The history whose status changes carry the date they can have (`history.dated_history`)."""
        return dated_history(self.history, self.updated_at)[0]


def alert_status(raw: dict[str, Any]) -> str | None:
    """The status name of an alert as answered (`status: {name}`), None when absent or unknown."""
    status = raw.get("status")
    name = status.get("name") if isinstance(status, dict) else None
    try:
        return status_name(name) if isinstance(name, str) else None
    except ValueError:
        return None
