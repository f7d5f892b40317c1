"""The sync's rules: Sekoia.io's statuses and workflow, how they map to XSOAR closures, and which of two changes wins.
Pure, no I/O; loaded by main.py (the sync actions' arguments validate with the status vocabulary): imports nothing
heavy."""

from typing import Any

from xsoar_module.sync.times import whole_seconds

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
    sekoia, xsoar = whole_seconds(sekoia_at), whole_seconds(xsoar_at)
    return sekoia > xsoar or (sekoia == xsoar and sekoia_follows_mirror and not xsoar_follows_mirror)


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
