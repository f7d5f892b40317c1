"""The sync's decisions: snapshots of both sides and a change in, a decision out (apply, skip with a reason, or
superseded by a later change; and what to write). Pure: the actions read before and write after.

Update Incident decides with `decide_incident` (a Sekoia.io change onto an XSOAR incident), Update Alert with
`decide_alert` (an XSOAR change onto a Sekoia.io alert): both apply the later-change-wins rule
(`rules.sekoia_change_wins`). When the two changes fall in the same second, who had seen whose mirror decides: the
actions read those facts only when `incident_contested` / `alert_contested` say they matter.
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from xsoar_module.sync.history import (
    Entry,
    entry_status,
    entry_time,
    follows_own_change,
    latest_change_by,
    own_changes,
)
from xsoar_module.sync.marker import made_by_module
from xsoar_module.sync.rules import (
    CLOSING_STATUSES,
    OPEN_STATUSES,
    close_reason_for,
    reason_agrees,
    sekoia_change_wins,
)
from xsoar_module.sync.snapshots import Alert, Incident
from xsoar_module.sync.texts import (
    holds_comment,
    is_closure_note,
    is_module_closure,
    is_reopen_note,
    xsoar_note_id,
)
from xsoar_module.sync.times import same_second
from xsoar_module.timing import iso8601_seconds

Step = Literal["close", "reopen"]


@dataclass(frozen=True)
class SekoiaChange:
    """A Sekoia.io alert's change brought to its incident (Update Incident's arguments)."""

    alert: str  # how notes and logs name the alert
    status: str | None
    changed_at: float | None = None  # epoch seconds; None: unknown (then no later change can win over it)
    close_reasons: dict[str, str] | None = None


@dataclass(frozen=True)
class IncidentDecision:
    """What Update Incident does with the status: `step` (None: nothing), or nothing because `superseded_by` a later
    change; `close_reason` of a closure."""

    step: Step | None
    superseded_by: str | None = None
    close_reason: str | None = None


def incident_step(incident: Incident, change: SekoiaChange) -> Step | None:
    """What the status asks of the incident: closed (open, or closed with a reason of another status when the change's
    time is known), reopened (closed), or nothing."""
    status = change.status
    if status in CLOSING_STATUSES:
        other_reason = not reason_agrees(incident.close_reason, status, change.close_reasons)
        return "close" if not incident.is_closed or (other_reason and change.changed_at is not None) else None
    return "reopen" if status in OPEN_STATUSES and incident.is_closed else None


def persons_closure_at(incident: Incident, change: SekoiaChange) -> float | None:
    """When a person closed the incident (close notes not the module's), for a status that asks a step of it and has
    a time; None otherwise."""
    closed_at = incident.closed_at
    if change.changed_at is None or closed_at is None or not incident.is_closed or change.status is None:
        return None
    if is_module_closure(incident.close_notes) or incident_step(incident, change) is None:
        return None
    return closed_at


def incident_contested(incident: Incident, change: SekoiaChange) -> bool:
    """Whether a person closed the incident in the change's second: then whether the alert's change came after the
    module's mirror (`sekoia_follows_mirror`, from the alert's history) decides, and, if so, whether the closure did
    too (`xsoar_follows_mirror`, from the war room)."""
    closed_at = persons_closure_at(incident, change)
    return closed_at is not None and change.changed_at is not None and same_second(change.changed_at, closed_at)


def decide_incident(
    incident: Incident, change: SekoiaChange, sekoia_follows_mirror: bool = False, xsoar_follows_mirror: bool = False
) -> IncidentDecision:
    """The step the status asks of the incident, unless a person's closure is the later change."""
    step = incident_step(incident, change)
    if step is None:
        return IncidentDecision(None)
    closed_at, changed_at = persons_closure_at(incident, change), change.changed_at
    if (
        closed_at is not None
        and changed_at is not None
        and not sekoia_change_wins(changed_at, closed_at, sekoia_follows_mirror, xsoar_follows_mirror)
    ):
        who = incident.closing_user or "a person"
        winner = f"its closure as {incident.close_reason!r} by {who} at {iso8601_seconds(closed_at)}"
        return IncidentDecision(None, superseded_by=winner)
    reason = (close_reason_for(change.status or "", change.close_reasons) or "Resolved") if step == "close" else None
    return IncidentDecision(step, close_reason=reason)


def mirrored_in(entries: list[dict[str, Any]], comment: dict[str, Any] | str) -> bool:
    """Whether the war room holds the comment: an entry of this module (marked, not a person's note) with the
    comment's tag and text."""
    return any(entry.get("note") is not True and holds_comment(entry.get("contents"), comment) for entry in entries)


@dataclass(frozen=True)
class AlertDecision:
    """Whether Update Alert applies the XSOAR change's status: not when `superseded_by` a later change (`winner` the
    history entry), else `target`."""

    target: str | None
    superseded_by: str | None = None
    winner_at: int | None = None


def persons_latest_change(alert: Alert, identity: str | None) -> tuple[Entry, int] | None:
    """The alert's latest status change made by someone other than this module, with its time; None when none is
    dated."""
    is_own = own_changes(identity)
    entry = latest_change_by(alert.dated_history, lambda entry: not is_own(entry), alert.status)
    at = entry_time(entry) if entry is not None else None
    return (entry, at) if entry is not None and at is not None else None


def alert_contested(alert: Alert, changed_at: float | None, identity: str | None) -> bool:
    """Whether a person changed the alert's status in the XSOAR change's second and after the module's mirror of a
    change in that second: then whether the XSOAR change also followed the module's mirror (`follows_mirror`)
    decides."""
    latest = persons_latest_change(alert, identity)
    if changed_at is None or latest is None or not same_second(latest[1], changed_at):
        return False
    return follows_own_change(alert.dated_history, latest[0], own_changes(identity), alert.status)


def decide_alert(
    alert: Alert, target: str | None, changed_at: float | None, identity: str | None, follows_mirror: bool
) -> AlertDecision:
    """The status to move the alert to (None: none asked, or already there), unless a person's status change on the
    alert is the later one by the rule (`sekoia_change_wins`); without the XSOAR change's time, none is."""
    target = None if target == alert.status else target
    latest = persons_latest_change(alert, identity) if target is not None and changed_at is not None else None
    if latest is None or changed_at is None:
        return AlertDecision(target)
    entry, at = latest
    follows_own = follows_own_change(alert.dated_history, entry, own_changes(identity), alert.status)
    if not sekoia_change_wins(at, changed_at, follows_own, follows_mirror):
        return AlertDecision(target)
    who = f"{entry.get('created_by_type') or 'someone'} {entry.get('created_by') or ''}".rstrip()
    return AlertDecision(None, f"its change to {entry_status(entry)} by {who} at {iso8601_seconds(at)}", at)


def mirror_note_before(target: str) -> Callable[[Any], bool]:
    """The module's war-room note that an XSOAR change towards `target` may have followed in its second: a closure
    follows the module's reopening (its reopen note), a reopening follows the module's closure (its closure note)."""
    return is_reopen_note if target in CLOSING_STATUSES else is_closure_note


def already_written(
    comments: list[dict[str, Any]], told: list[dict[str, Any]], identity: str | None, text: str, note_id: str | None
) -> bool:
    """Whether the module already wrote this comment on the alert: among the comments it made (`made_by_module`: by
    its identity or its API key with its marker, never a person's, whatever they quote), the same XSOAR note id, or
    the same text (in the alert's `comments` or `told` with a status change of its history)."""
    contents = [
        item.get("content") for item in comments + told if made_by_module(item, identity, [item.get("content")])
    ]
    if note_id is not None:
        return any(xsoar_note_id(content) == note_id for content in contents)
    return text in contents
