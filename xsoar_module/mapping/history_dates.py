"""When the entries of a Sekoia.io alert's history were made, as far as the alert tells. Pure, no I/O.

A status change whose date is missing, or later than the alert's own last update by more than the real answers'
rounding (a change moves `updated_at`; the public sample dates its last change a second after it), is no date: such an
entry is dated by what is known, the date of the next dated entry in time order, else the alert's last update. A
change that cannot be dated is still told, and an entry dated tomorrow neither hides the changes made after it nor
carries a checkpoint past them.
"""

from typing import Any

from xsoar_module.mapping.alert_history import Entry, entry_status, entry_time, newest_first

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
