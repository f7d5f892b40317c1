"""What an incident's war room tells of this module's changes. Pure functions, no I/O."""

from collections.abc import Callable
from typing import Any

from xsoar_module.sync.marker import is_marked
from xsoar_module.sync.snapshots import ENTRY_REGULAR, SYSTEM_USERS
from xsoar_module.sync.texts import is_closure_note, is_reopen_note
from xsoar_module.sync.times import same_second
from xsoar_module.timing import xsoar_epoch


def follows_mirror_note(entries: Any, at: float, is_mirror_note: Callable[[Any], bool]) -> bool:
    """Whether a war-room note of this module's closure or reopening (`is_mirror_note` of its contents) was written
    before `at`, in the same second: whoever changed the incident at `at` had seen the module's change."""
    notes = [entry for entry in entries if isinstance(entry, dict)] if isinstance(entries, list) else []
    times = [(xsoar_epoch(entry.get("created")), entry.get("contents")) for entry in notes]
    return any(
        created is not None and same_second(created, at) and created <= at and is_mirror_note(contents)
        for created, contents in times
    )


def is_persons_note(entry: dict[str, Any]) -> bool:
    """A war-room note a person wrote: a regular entry marked as a note, with text, not written by this module."""
    contents = entry.get("contents")
    return (
        entry.get("note") is True
        and entry.get("type") == ENTRY_REGULAR
        and isinstance(contents, str)
        and bool(contents.strip())
        and not is_marked(contents)
        and str(entry.get("user") or "") not in SYSTEM_USERS
    )


def is_mirrored_note(entry: dict[str, Any]) -> bool:
    """A war-room entry this module wrote to mirror a comment (its closure and reopen notes belong to those
    changes)."""
    contents = entry.get("contents")
    return is_marked(contents) and not (is_closure_note(contents) or is_reopen_note(contents))
