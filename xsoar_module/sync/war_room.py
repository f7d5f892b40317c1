"""What an incident's war room tells of this module's changes. Pure functions, no I/O."""

from collections.abc import Callable
from typing import Any

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
