"""Update Alert's writes on an alert: the workflow's transitions to a status, the comment said instead of a status
the workflow cannot reach, and whether a comment is already there. The decision is `sync.decisions.decide_alert`."""

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import TYPE_CHECKING, Any

from xsoar_module.errors import ServiceError
from xsoar_module.sync.decisions import already_written
from xsoar_module.sync.rules import CLOSING_STATUSES, MAX_STEPS, STATUS_BY_ACTION, next_action
from xsoar_module.sync.snapshots import Alert, alert_status
from xsoar_module.sync.texts import persons_text, transition_comment, unapplied_status_comment
from xsoar_module.timing import iso8601_seconds

if TYPE_CHECKING:
    from xsoar_module.clients.sekoia import SekoiaClient


@dataclass
class Plan:
    """What Update Alert does on an alert (`UpdateAlert._plan`)."""

    target: str | None  # the status to move to
    comment: tuple[str, str | None] | None  # the marked comment and the XSOAR note id it mirrors
    identity: str | None  # the API key's identity (`GET /v1/me`), when its answer gives one
    offered: dict[str, dict[str, Any]] = field(default_factory=dict)  # the workflow actions open now, by name
    superseded_by: str | None = None
    not_set_because: str | None = None


def offered_actions(client: "SekoiaClient", alert_id: str) -> dict[str, dict[str, Any]]:
    """The workflow actions open from the alert's status, by name."""
    return {str(action.get("name")): action for action in client.workflow(alert_id)}


@dataclass(frozen=True)
class XsoarChange:
    """The XSOAR change as the comment said instead of an unreachable status names it (Update Alert's arguments)."""

    change: str | None
    close_reason: str | None
    changed_at: float | None
    incident_id: str | None
    user: str | None
    comment: str | None


def unreachable(
    change: XsoarChange, current: str | None, target: str, offered: dict[str, dict[str, Any]]
) -> tuple[str, tuple[str, str | None]]:
    """Why `target` cannot be set (the workflow offers no way) and the alert comment that says the change instead
    (naming the incident and the XSOAR user; deterministic, so that a replay finds it)."""
    actions = ", ".join(sorted(offered)) or "no action"
    final = "; Closed and Rejected are final" if current in CLOSING_STATUSES else ""
    why = (
        f"Sekoia.io's workflow offers no way from {current} to {target} (it offers {actions}{final}): the change "
        "is written as an alert comment"
    )
    what = change.change or f"set to {target}"
    if change.change == "closed":
        what = f"closed ({change.close_reason or 'no reason'})"
    at = iso8601_seconds(change.changed_at) if change.changed_at is not None else None
    text = unapplied_status_comment(
        target,
        current or "unknown",
        incident_id=change.incident_id,
        user=change.user,
        change=what,
        at=at,
        text=persons_text(change.comment),
    )
    return why, (text, None)


def move(
    client: "SekoiaClient",
    alert_id: str,
    incident_id: str | None,
    label: str,
    current: str | None,
    plan: Plan,
    log: Callable[[str, str], None],
) -> str:
    """Walk the shortest way of offered transitions from the alert's status to `plan.target` (the documented workflow
    needs two from Pending or Acknowledged to Closed); every transition carries a marked comment, the plan's on the
    last, so that its history entry is known as the module's without `GET /v1/me`. Returns the new status."""
    target, comment, offered = plan.target or "", plan.comment, plan.offered
    walked: list[str] = []
    for step in range(MAX_STEPS):
        offered = offered if step == 0 else offered_actions(client, alert_id)
        chosen = next_action(target, set(offered))
        if chosen is None or not offered[chosen].get("id"):
            raise ServiceError(
                f"Sekoia.io offers no way from status {current} to {target} for {label} (its workflow offers "
                f"{', '.join(sorted(offered)) or 'no action'}): set the status by hand or choose another status"
            )
        reached = STATUS_BY_ACTION[chosen]
        last = reached == target
        said = comment[0] if comment and last else transition_comment(reached, target, incident_id)
        client.apply_transition(alert_id, str(offered[chosen]["id"]), said, partial(_is_in, client, alert_id, reached))
        current = reached
        if last:
            steps = f" through {', '.join(walked)}" if walked else ""
            log(f"Moved {label} to {target}{steps} (action {chosen}) on {client.http.base_url}", "info")
            return target
        walked.append(reached)
    raise ServiceError(f"Sekoia.io did not bring {label} to {target} within {MAX_STEPS} workflow steps")


def _is_in(client: "SekoiaClient", alert_id: str, status: str) -> bool:
    """Whether the alert is now in `status` (a transition that got no answer may have been applied)."""
    return alert_status(client.get_alert(alert_id)) == status


def already_there(client: "SekoiaClient", alert: Alert, identity: str | None, text: str, note_id: str | None) -> bool:
    """Whether the module already wrote this comment on the alert (`already_written`), its comments read when the
    alert's answer had none."""
    comments = alert.comments
    if comments is None:
        comments = [item for item in client.comments(alert.uuid or alert.short_id or "") if isinstance(item, dict)]
    return already_written(comments, alert.history_comments, identity, text, note_id)
