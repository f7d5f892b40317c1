"""Two-way sync between Sekoia.io alerts and XSOAR incidents: statuses, close reasons and the marker that tells
this module's own writes from people's. Pure functions, no I/O.

Every text this module writes on either side (a Sekoia.io comment, an XSOAR war-room entry, XSOAR close notes)
ends with `MARKER`, so that the sync triggers recognise their own changes and never send them back (no echo).
"""

import math
import re
from typing import Any

PENDING, ACKNOWLEDGED, ONGOING, REJECTED, CLOSED = "Pending", "Acknowledged", "Ongoing", "Rejected", "Closed"
STATUS_UUIDS = {
    PENDING: "2efc4930-1442-4abb-acf2-58ba219a4fd0",
    ACKNOWLEDGED: "8f206505-af6d-433e-93f4-775d46dc7d0f",
    ONGOING: "1f2f88d5-ff5b-48bf-bbbc-00c2fff82d9f",
    REJECTED: "4f68da89-38e0-4703-a6ab-652f02bdf24e",
    CLOSED: "1738b1c1-767d-489e-bada-19176621a007",
}
OPEN_STATUSES = frozenset({PENDING, ACKNOWLEDGED, ONGOING})
CLOSING_STATUSES = frozenset({REJECTED, CLOSED})
SETTABLE_STATUSES = (ACKNOWLEDGED, ONGOING, REJECTED, CLOSED)  # what Update Alert may set

# Sekoia.io status -> XSOAR close reason (Update Incident's `close_reasons` argument overrides it)
DEFAULT_CLOSE_REASONS = {CLOSED: "Resolved", REJECTED: "False Positive"}
# XSOAR close reason -> Sekoia.io status (Update Alert's `status_by_close_reason` argument overrides it)
DEFAULT_STATUS_BY_CLOSE_REASON = {"False Positive": REJECTED}
REOPENED_STATUS = ACKNOWLEDGED
DUPLICATE_REASON = "Duplicate"  # XSOAR's close reason for an incident that repeats another

MARKER = "[synced by the Sekoia.io XSOAR module]"
AUTHOR = "Cortex XSOAR"  # author of the Sekoia.io comments this module writes (at most 32 characters)
SEKOIA_COMMENT_TAG = re.compile(r"Sekoia\.io comment ([0-9A-Za-z-]{1,64})")
XSOAR_NOTE_TAG = re.compile(r"XSOAR note ([0-9A-Za-z@:._-]{1,64})\)$")  # ends the last line (`alert_comment`)

# The workflow action (by the name Sekoia.io gives it) that leads to each status Update Alert may set
ACTION_NAMES = {ACKNOWLEDGED: "Acknowledge", ONGOING: "Validate", REJECTED: "Reject", CLOSED: "Close"}
STATUS_BY_ACTION = {name: status for status, name in ACTION_NAMES.items()}
# The documented workflow (docs.sekoia.io, investigate / alerts; SEKOIA.md section 8), by the statuses each action
# leads to: Closed and Rejected are final. Update Alert takes the actions Sekoia.io offers; this plans the way.
DOCUMENTED_WORKFLOW = {
    PENDING: (ACKNOWLEDGED, ONGOING, REJECTED),
    ACKNOWLEDGED: (ONGOING, REJECTED),
    ONGOING: (CLOSED, REJECTED),
    REJECTED: (),
    CLOSED: (),
}
MAX_STEPS = 3  # the longest shortest way a workflow may need (the documented one needs 2: Validate, Close)


def status_name(value: str) -> str:
    """A Sekoia.io status name as the API spells it, from any case or from its uuid; ValueError otherwise."""
    for name, uuid in STATUS_UUIDS.items():
        if value.strip().lower() in (name.lower(), uuid):
            return name
    raise ValueError(f"{value[:40]!r} is not a Sekoia.io status ({', '.join(STATUS_UUIDS)})")


def close_reason_for(status: str, overrides: dict[str, str] | None = None) -> str | None:
    """The XSOAR close reason of a closing Sekoia.io status (None for an open status)."""
    if status not in CLOSING_STATUSES:
        return None
    return (overrides or {}).get(status) or DEFAULT_CLOSE_REASONS[status]


def status_for_close_reason(close_reason: str | None, overrides: dict[str, str] | None = None) -> str:
    """The Sekoia.io status an XSOAR closure maps to: `False Positive` -> Rejected, anything else -> Closed."""
    reasons = DEFAULT_STATUS_BY_CLOSE_REASON | (overrides or {})
    return status_name(reasons.get(close_reason or "", CLOSED))


def is_marked(text: Any) -> bool:
    """True when a text was written by this module (it carries the marker)."""
    return isinstance(text, str) and MARKER in text


def marked(text: str) -> str:
    """The text as this module writes it: bounded (`bound_text`, a request stays under 512 KiB), the marker on its
    last line."""
    from xsoar_module.mapping.trimming import MAX_TEXT_BYTES, bound_text  # orjson: loaded when a block writes

    return f"{bound_text(text.rstrip(), MAX_TEXT_BYTES - len(MARKER) - 4)}\n\n{MARKER}"


MIRROR_CHECKED = 200  # the beginning of a comment's text that a mirror of it must hold
MAX_APPENDED_COMMENT = 4000  # characters of a comment's text appended to a closed incident's details
MAX_APPENDED_TEXT = 65536  # an incident's details are not lengthened past this by appended comments
APPENDED = "\n\n---\n"  # what precedes each comment appended to an incident's details
MODULE_CLOSE_NOTES = ("Sekoia.io alert ", "Duplicate of incident ")  # how this module's closure notes begin


def duplicate_notes(first_id: str, alert_id: str) -> str:
    """The close notes of an incident that a second run of the alert created at the same time as the first."""
    return marked(
        f"Duplicate of incident {first_id}: two runs of Sekoia.io alert {alert_id} created an incident at the same "
        f"time; incident {first_id}, the first created, is the alert's"
    )


def war_room_entry(comment: dict[str, Any] | str, alert_id: str) -> str:
    """The markdown war-room entry of a Sekoia.io comment (the trigger's comment object, or a plain text)."""
    if isinstance(comment, str):
        return marked(f"**Sekoia.io alert {alert_id}**\n\n{comment}")
    author = comment.get("author") or comment.get("created_by") or "someone"
    tag = f" (Sekoia.io comment {comment['uuid']})" if comment.get("uuid") else ""
    return marked(f"**{author}** commented on Sekoia.io alert {alert_id}{tag}:\n\n{comment.get('content') or ''}")


def sekoia_comment_uuid(entry_text: Any) -> str | None:
    """The Sekoia.io comment uuid a war-room entry written by `war_room_entry` mirrors, if any."""
    if not is_marked(entry_text):
        return None
    found = SEKOIA_COMMENT_TAG.search(entry_text)
    return found.group(1) if found else None


def holds_comment(text: Any, comment: dict[str, Any] | str) -> bool:
    """Whether a text this module wrote (marked: a war-room entry, close notes, details) mirrors the Sekoia.io
    comment: its tag (for a comment with a uuid) and the beginning of its text are both in it. A person's text quoting
    the tag alone does not count; one that holds both holds the comment, so nothing is lost."""
    if not is_marked(text) or not comment_text(comment):
        return False
    uuid = comment.get("uuid") if isinstance(comment, dict) else None
    tag = f"Sekoia.io comment {uuid}" if uuid else ""
    return tag in text and comment_text(comment)[:MIRROR_CHECKED] in text


def is_module_closure(notes: Any) -> bool:
    """Whether close notes are this module's, written at its closure (`close_notes`, `duplicate_notes`): marked, and
    beginning as those do. A person's close notes quoting the marker are not."""
    return is_marked(notes) and notes.lstrip().startswith(MODULE_CLOSE_NOTES)


def with_comment(text: Any, comment: dict[str, Any] | str, alert_id: str) -> str | None:
    """An incident's text (its details) with a Sekoia.io comment appended (for a closed incident, whose war room
    refuses entries): the comment's text cut at MAX_APPENDED_COMMENT characters with a visible ` [truncated]`; None
    when the text would pass MAX_APPENDED_TEXT."""
    said = comment_text(comment)
    if len(said) > MAX_APPENDED_COMMENT:
        said = said[:MAX_APPENDED_COMMENT] + " [truncated]"
    shown: dict[str, Any] | str = comment | {"content": said} if isinstance(comment, dict) else said
    before = text.rstrip() if isinstance(text, str) else ""
    appended = f"{before}{APPENDED}{war_room_entry(shown, alert_id)}".lstrip("\n")
    return appended if len(appended) <= MAX_APPENDED_TEXT else None


def alert_comment(note: dict[str, Any] | str, incident_id: str | None) -> str:
    """The Sekoia.io comment of an XSOAR war-room note (the trigger's note object, or a plain text); a note's id is
    tagged so that `xsoar_note_id` reads it back."""
    if isinstance(note, str):
        return marked(note)
    user = note.get("user") or "someone"
    where = f"Cortex XSOAR incident {incident_id}" if incident_id else "Cortex XSOAR"
    tag = f", XSOAR note {note['id']}" if note.get("id") not in (None, "") else ""
    return marked(f"{note.get('content') or ''}\n\n({user} in {where}{tag})")


REOPEN_NOTE = "Reopened: Sekoia.io alert"  # how the war-room note of a reopening by this module begins
CLOSURE_NOTE = "Closed: Sekoia.io alert"  # how the war-room note of a closure by this module begins
NULL_RENDERINGS = frozenset({"", "none", "null", "undefined"})  # how a template may render an unused argument


def absent(value: Any) -> bool:
    """True for an argument a playbook left unused: None, or a blank / null rendering (`None`, `null`)."""
    return value is None or (isinstance(value, str) and value.strip().lower() in NULL_RENDERINGS)


def comment_text(comment: dict[str, Any] | str) -> str:
    """The text of a Sekoia.io comment (the trigger's comment object, or a plain text)."""
    if isinstance(comment, str):
        return comment.strip()
    content = comment.get("content")
    return content.strip() if isinstance(content, str) else ""


def close_notes(comment: dict[str, Any] | str | None, alert_id: str, status: str) -> str:
    """The close notes of an incident closed because its alert is `status`: the comment when there is one (tagged
    with its uuid, so that `holds_comment` knows it)."""
    text = comment_text(comment) if comment is not None else ""
    author = (comment.get("author") or comment.get("created_by")) if isinstance(comment, dict) else None
    uuid = comment.get("uuid") if isinstance(comment, dict) else None
    who = f"{author or ''}{f' (Sekoia.io comment {uuid})' if uuid else ''}".strip()
    said = f"{who}: {text}" if who else text
    return marked(f"Sekoia.io alert {alert_id} is {status}" + (f". {said}" if text else ""))


def reopen_note(alert_id: str, status: str) -> str:
    """The war-room note this module writes when it reopens an incident (its trigger knows the reopening by it)."""
    return marked(f"{REOPEN_NOTE} {alert_id} is {status} again: the incident is reopened")


def is_reopen_note(text: Any) -> bool:
    """True for the note of a reopening made by this module."""
    return is_marked(text) and text.lstrip().startswith(REOPEN_NOTE)


def closure_note(alert_id: str, status: str, reason: str) -> str:
    """The war-room note this module writes after it closes an incident: Incident Updated sees by it a closure undone
    before its next poll."""
    return marked(f"{CLOSURE_NOTE} {alert_id} is {status}: the incident is closed as {reason}")


def is_closure_note(text: Any) -> bool:
    """True for the note of a closure made by this module."""
    return is_marked(text) and text.lstrip().startswith(CLOSURE_NOTE)


def reason_agrees(close_reason: Any, status: str, overrides: dict[str, str] | None = None) -> bool:
    """Whether an incident closed with `close_reason` agrees with a closing alert `status`: the reason Update Incident
    gives that status, or a reason that maps to it (`False Positive` -> Rejected, any other -> Closed)."""
    reason = close_reason if isinstance(close_reason, str) else ""
    return reason == close_reason_for(status, overrides) or status_for_close_reason(reason) == status


def sekoia_change_wins(
    sekoia_at: float, xsoar_at: float, sekoia_follows_mirror: bool = False, xsoar_follows_mirror: bool = False
) -> bool:
    """The rule for two status changes made by people on one pair, one in Sekoia.io at `sekoia_at` and one in XSOAR at
    `xsoar_at` (epoch seconds): the later one wins, compared in whole seconds (Sekoia.io dates its history in
    seconds). In the same second the change that came after this module's mirror of a change on its side wins (its
    author had seen that mirror: `sekoia_follows_mirror` by the alert history's order, `xsoar_follows_mirror` by the
    war room's module notes); when neither or both did, XSOAR's wins. Update Incident and Update Alert both apply it,
    so that the winner is applied on the other side and the loser is not."""
    sekoia, xsoar = math.floor(sekoia_at), math.floor(xsoar_at)
    return sekoia > xsoar or (sekoia == xsoar and sekoia_follows_mirror and not xsoar_follows_mirror)


def xsoar_note_id(comment_text: Any) -> str | None:
    """The XSOAR note id a Sekoia.io comment written by `alert_comment` mirrors, if any: the tag ending its last line
    before the marker, where `alert_comment` writes it (the note's text before it may quote other notes' tags)."""
    if not is_marked(comment_text):
        return None
    last_line = comment_text.rpartition(MARKER)[0].rstrip().rpartition("\n")[2]
    found = XSOAR_NOTE_TAG.search(last_line)
    return found.group(1) if found else None


def steps_between(start: str, target: str) -> int | None:
    """How many transitions the documented workflow needs from `start` to `target` (None: no way)."""
    reached, frontier = {start}, [start]
    for steps in range(len(DOCUMENTED_WORKFLOW)):
        if target in frontier:
            return steps
        frontier = [
            after for status in frontier for after in DOCUMENTED_WORKFLOW.get(status, ()) if after not in reached
        ]
        reached.update(frontier)
    return None


def next_action(target: str, offered: set[str]) -> str | None:
    """The action, among the action names Sekoia.io offers, on a shortest way to `target`: the one leading to it, else
    the one after which the documented workflow needs the fewest transitions; None when no offered action leads
    there (e.g. from Closed or Rejected, final)."""
    ways = [
        (0 if STATUS_BY_ACTION[name] == target else 1 + (steps or 0), name)
        for name in sorted(offered & set(STATUS_BY_ACTION))
        if (steps := steps_between(STATUS_BY_ACTION[name], target)) is not None
    ]
    return min(ways)[1] if ways else None


def made_by_module(record: dict[str, Any], identity: str | None, texts: list[Any]) -> bool:
    """Whether a comment or history entry was made by this module, by what a person cannot forge: its `created_by` is
    the module's API key identity (`GET /v1/me`, when it gives one), or it was made with an API key
    (`created_by_type` apikey: a person's changes are `user`) and one of its `texts` carries the marker."""
    if identity is not None and record.get("created_by") == identity:
        return True
    return record.get("created_by_type") == "apikey" and any(is_marked(text) for text in texts)


def transition_comment(reached: str, target: str, incident_id: str | None) -> str:
    """The marked comment of a transition this module makes without a comment of its own to send."""
    where = f"Cortex XSOAR incident {incident_id}" if incident_id else "Cortex XSOAR"
    step = "" if reached == target else f" (a step towards {target})"
    return marked(f"Set to {reached}{step}, mirroring {where}")


def unapplied_status_comment(
    target: str,
    current: str,
    *,
    incident_id: str | None,
    user: str | None,
    change: str,
    at: str | None,
    text: str | None,
) -> str:
    """The alert comment written instead of a status the workflow cannot set (`current` is final): which XSOAR change,
    on which incident, by whom, and why the alert keeps its status. Deterministic, so that a replay finds it."""
    where = f"Cortex XSOAR incident {incident_id}" if incident_id else "Cortex XSOAR"
    when = f" at {at}" if at else ""
    why = "a final status" if current in CLOSING_STATUSES else "no transition leads back"
    said = f"\n\n{text.strip()}" if text and text.strip() else ""
    return marked(
        f"{where} was {change} by {user or 'an XSOAR user'}{when}: the alert stays {current}, Sekoia.io's workflow "
        f"offers no way from {current} to {target} ({why}){said}"
    )
