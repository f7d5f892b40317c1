"""The event of the Incident Updated trigger: one change of an XSOAR incident this module created."""

from typing import Literal

from pydantic import Field

from xsoar_module.models.schema import ManifestModel

Change = Literal["closed", "reopened", "note"]


class IncidentNote(ManifestModel):
    id: str = Field(description="War-room entry ID")
    content: str = Field(description="The note's text (markdown)")
    user: str | None = Field(None, description="Who wrote it in XSOAR")


class IncidentUpdatedEvent(ManifestModel):
    incident_id: str = Field(description="ID of the XSOAR incident")
    alert_short_id: str | None = Field(None, description="Short ID of its Sekoia.io alert (the incident's alertid)")
    alert_uuid: str | None = Field(None, description="UUID of its Sekoia.io alert, when the incident carries it")
    change: Change = Field(description="closed, reopened or note")
    close_reason: str | None = Field(None, description="XSOAR close reason (closures)")
    close_notes: str | None = Field(None, description="XSOAR close notes (closures)")
    note: IncidentNote | None = Field(None, description="The war-room note (notes): {id, content, user}")
    updated_at: int | None = Field(
        None,
        description="Time of the change, epoch seconds: the closure's, the incident's modification time when the "
        "reopening was seen, the note's creation",
    )
    follows_mirror: bool = Field(
        False,
        description="The closure or reopening came after this module closed or reopened the incident in the same "
        "second: later than the Sekoia.io change that module change mirrored",
    )
