"""The texts the sync writes on either side (war-room entries, close notes, alert comments), and how it reads them
back. Pure, no I/O."""

import re
from typing import Any

from xsoar_module.sync.marker import MARKER, is_marked, marked
from xsoar_module.sync.rules import CLOSING_STATUSES

SEKOIA_COMMENT_TAG = re.compile(r"Sekoia\.io comment ([0-9A-Za-z-]{1,64})")
XSOAR_NOTE_TAG = re.compile(r"XSOAR note ([0-9A-Za-z@:._-]{1,64})\)$")  # ends the last line (`alert_comment`)
MIRROR_CHECKED = 200  # the beginning of a comment's text that a mirror of it must hold
MAX_APPENDED_COMMENT = 4000  # characters of a comment's text appended to a closed incident's details
MAX_APPENDED_TEXT = 65536  # an incident's details are not lengthened past this by appended comments
APPENDED = "\n\n---\n"  # what precedes each comment appended to an incident's details
MODULE_CLOSE_NOTES = ("Sekoia.io alert ", "Duplicate of incident ")  # how this module's closure notes begin
REOPEN_NOTE = "Reopened: Sekoia.io alert"  # how the war-room note of a reopening by this module begins
CLOSURE_NOTE = "Closed: Sekoia.io alert"  # how the war-room note of a closure by this module begins


def comment_text(comment: dict[str, Any] | str) -> str:
    """The text of a Sekoia.io comment (the trigger's comment object, or a plain text)."""
    if isinstance(comment, str):
        return comment.strip()
    content = comment.get("content")
    return content.strip() if isinstance(content, str) else ""


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


def xsoar_note_id(comment_text: Any) -> str | None:
    """The XSOAR note id a Sekoia.io comment written by `alert_comment` mirrors, if any: the tag ending its last line
    before the marker, where `alert_comment` writes it (the note's text before it may quote other notes' tags)."""
    if not is_marked(comment_text):
        return None
    last_line = comment_text.rpartition(MARKER)[0].rstrip().rpartition("\n")[2]
    found = XSOAR_NOTE_TAG.search(last_line)
    return found.group(1) if found else None


def close_notes(comment: dict[str, Any] | str | None, alert_id: str, status: str) -> str:
    """The close notes of an incident closed because its alert is `status`: the comment when there is one (tagged
    with its uuid, so that `holds_comment` knows it)."""
    text = comment_text(comment) if comment is not None else ""
    author = (comment.get("author") or comment.get("created_by")) if isinstance(comment, dict) else None
    uuid = comment.get("uuid") if isinstance(comment, dict) else None
    who = f"{author or ''}{f' (Sekoia.io comment {uuid})' if uuid else ''}".strip()
    said = f"{who}: {text}" if who else text
    return marked(f"Sekoia.io alert {alert_id} is {status}" + (f". {said}" if text else ""))


def is_module_closure(notes: Any) -> bool:
    """Whether close notes are this module's, written at its closure (`close_notes`, `duplicate_notes`): marked, and
    beginning as those do. A person's close notes quoting the marker are not."""
    return is_marked(notes) and notes.lstrip().startswith(MODULE_CLOSE_NOTES)


def duplicate_notes(first_id: str, alert_id: str) -> str:
    """The close notes of an incident that a second run of the alert created at the same time as the first."""
    return marked(
        f"Duplicate of incident {first_id}: two runs of Sekoia.io alert {alert_id} created an incident at the same "
        f"time; incident {first_id}, the first created, is the alert's"
    )


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


def persons_text(text: str | None) -> str | None:
    """A text given to be written, unless empty or this module's own (marked: written back, it would echo)."""
    return text if text and text.strip() and not is_marked(text) else None


def comment_to_write(
    note: dict[str, Any] | str | None, comment: str | None, incident_id: str | None
) -> tuple[str, str | None] | None:
    """The marked alert comment of an XSOAR change and the XSOAR note id it mirrors: of a war-room `note` (the
    trigger's note object, or a text), else of a `comment`; None when there is none, or it is this module's."""
    if note is not None:
        note = note if isinstance(note, dict) else str(note)
        if is_marked(note.get("content") if isinstance(note, dict) else note):
            return None
        text, own_id = alert_comment(note, incident_id), note.get("id") if isinstance(note, dict) else None
        tag = xsoar_note_id(text)  # read back as the replay reads it; never an id the note's text quotes
        return text, tag if own_id is not None and tag == str(own_id) else None
    said = persons_text(comment)
    return (marked(said), None) if said is not None else None
