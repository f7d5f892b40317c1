"""A Sekoia.io alert's history read for its status changes: which one is the latest, who made it, when. Pure.

The shape is the one of the real answers (Palo Alto's Sekoia XDR test data, Sekoia's module library; the simulator
answers the same): `created_at` (epoch seconds), `created_by`, `created_by_type`, `entry_type`; a status change has
`alert: {status, previous_status}` and `history_comments` (the comments sent with it); a comment entry has
`comment: {uuid, status, display_name, content}`. Tolerated besides: `date` for `created_at`, `comment` as a text.
The real answers list the newest first; since it is not documented, the order is read from the dates themselves
(more steps down than up: newest first). Dates are whole seconds: two changes of the same second are told apart by
the entry whose status is the alert's current one, then by their order in the history.

When the entries of a Sekoia.io alert's history were made, as far as the alert tells. Pure, no I/O.

A status change whose date is missing, or later than the alert's own last update by more than the real answers'
rounding (a change moves `updated_at`; the public sample dates its last change a second after it), is no date: such an
entry is dated by what is known, the date of the next dated entry in time order, else the alert's last update. A
change that cannot be dated is still told, and an entry dated tomorrow neither hides the changes made after it nor
carries a checkpoint past them.
"""

from collections.abc import Callable
from typing import Any

from xsoar_module.sync.marker import made_by_module
from xsoar_module.sync.times import whole_seconds
from xsoar_module.timing import epoch

Entry = dict[str, Any]


def entry_time(entry: Entry) -> int | None:
    """When a history entry was made: its `date`, else its `created_at`."""
    return epoch(entry.get("date")) if entry.get("date") is not None else epoch(entry.get("created_at"))


def entry_status(entry: Entry) -> str | None:
    """The status a status change led to (None for other entries: comments, countermeasures, cases)."""
    alert = entry.get("alert")
    status = alert.get("status") if isinstance(alert, dict) else None
    return status if isinstance(status, str) and status else None


def entry_comments(entry: Entry) -> list[str]:
    """The texts of the comments of a history entry: a comment entry's `comment` (an object, or a text), a status
    change's `history_comments`."""
    comment = entry.get("comment")
    texts = [comment.get("content") if isinstance(comment, dict) else comment]
    listed = entry.get("history_comments")
    if isinstance(listed, list):
        texts += [item.get("content") for item in listed if isinstance(item, dict)]
    return [text for text in texts if isinstance(text, str)]


def is_module_entry(entry: Entry, identity: str | None = None) -> bool:
    """Whether the module made a history entry (`made_by_module`: its identity, or an API key and its marker)."""
    return made_by_module(entry, identity, entry_comments(entry))


def has_known_entries(history: Any) -> bool:
    """Whether a history has entries of the known shape (`entry_type`, or a status change's `alert`): then no status
    change among them means none, not an unknown shape."""
    return isinstance(history, list) and any(
        isinstance(entry, dict) and ("entry_type" in entry or isinstance(entry.get("alert"), dict))
        for entry in history
    )


def newest_first(history: list[Any]) -> bool:
    """Whether the history lists its newest entries first: its dated entries step down more often than up."""
    times = [t for t in (entry_time(entry) for entry in history if isinstance(entry, dict)) if t is not None]
    steps = list(zip(times, times[1:], strict=False))
    return sum(later < earlier for earlier, later in steps) > sum(later > earlier for earlier, later in steps)


def status_changes(history: Any, current: str | None = None) -> list[Entry]:
    """The status changes of a history, oldest first; of two made in the same second, the one that led to the
    alert's `current` status comes last, then the history's own order decides."""
    if not isinstance(history, list):
        return []
    ordered = list(reversed(history)) if newest_first(history) else history
    changes = [entry for entry in ordered if isinstance(entry, dict) and entry_status(entry)]
    position = {id(entry): index for index, entry in enumerate(changes)}
    return sorted(
        changes,
        key=lambda entry: (entry_time(entry) or 0, entry_status(entry) == current, position[id(entry)]),
    )


def latest_status_change(history: Any, current: str | None = None) -> Entry | None:
    """The newest status change of an alert's history, if any."""
    changes = status_changes(history, current)
    return changes[-1] if changes else None


def latest_change_by(history: Any, who: Callable[[Entry], bool], current: str | None = None) -> Entry | None:
    """The newest status change for which `who` is true (e.g. made by someone other than this module)."""
    return next((entry for entry in reversed(status_changes(history, current)) if who(entry)), None)


def follows_own_change(
    history: Any, change: Entry, is_own: Callable[[Entry], bool], current: str | None = None
) -> bool:
    """Whether `change` (an entry of `history`) came after a status change, made in the same second, for which
    `is_own` is true (this module's): whoever made it had seen the module's change."""
    return _follows_own(status_changes(history, current), change, is_own)


def _follows_own(changes: list[Entry], change: Entry, is_own: Callable[[Entry], bool]) -> bool:
    """`follows_own_change` over the status changes already ordered."""
    at = entry_time(change)
    before = next((changes[:index] for index, entry in enumerate(changes) if entry is change), [])
    return any(is_own(entry) and entry_time(entry) == at for entry in before)


def own_changes(identity: str | None) -> Callable[[Entry], bool]:
    """Whether an entry was made by this module: by its API key's identity (`GET /v1/me`, None when it gives none), or
    by an API key with the module's marker (`is_module_entry`); never by a person's text alone."""
    return lambda entry: is_module_entry(entry, identity)


def status_change_follows_own(
    history: Any, status: str, at: float, is_own: Callable[[Entry], bool], current: str | None = None
) -> bool:
    """Whether the change to `status` made at `at` by someone else than `is_own` came after a change of `is_own` in
    the same second (`follows_own_change`); False when the history has no such change."""
    changes = status_changes(history, current)
    change = next(
        (
            entry
            for entry in reversed(changes)
            if entry_status(entry) == status and entry_time(entry) == whole_seconds(at) and not is_own(entry)
        ),
        None,
    )
    return change is not None and _follows_own(changes, change, is_own)


ROUNDING = 60  # seconds a status change may be dated after the alert's `updated_at` and still be trusted


def dated_history(history: Any, updated_at: int | None) -> tuple[Any, list[Entry]]:
    """A copy of the history whose status changes carry the date they can have (`date`), and the entries so re-dated
    (their own date missing, or after `updated_at` beyond ROUNDING); a history that is not a list is returned as is.
    Comments are left as they are: they do not move `updated_at`."""
    if not isinstance(history, list):
        return history, []
    dated: list[Any] = list(history)
    redated: list[Entry] = []
    order = range(len(dated)) if newest_first(dated) else range(len(dated) - 1, -1, -1)  # newest first
    later = updated_at
    for index in order:
        entry = dated[index]
        if not isinstance(entry, dict) or entry_status(entry) is None:
            continue
        at = entry_time(entry)
        if at is None or (updated_at is not None and at > updated_at + ROUNDING):
            if later is None:
                continue
            dated[index] = entry = entry | {"date": later}
            redated.append(entry)
            at = later
        later = at
    return dated, redated
