"""Update Alert: mirror an XSOAR change on a Sekoia.io alert (status through the workflow, comments), idempotently."""

from dataclasses import dataclass, field
from functools import partial
from typing import TYPE_CHECKING, Any, Literal

from pydantic import Field, field_validator, model_validator

from xsoar_module.actions.base import ModuleAction
from xsoar_module.errors import InvalidInputError, ServiceError
from xsoar_module.models.schema import EpochSeconds, ManifestModel, is_null_rendering
from xsoar_module.quoting import check_identifier
from xsoar_module.sync.marker import AUTHOR, is_marked, made_by_module, marked
from xsoar_module.sync.rules import (
    CLOSING_STATUSES,
    MAX_STEPS,
    OPEN_STATUSES,
    REOPENED_STATUS,
    SETTABLE_STATUSES,
    STATUS_BY_ACTION,
    next_action,
    sekoia_change_wins,
    status_for_close_reason,
    status_name,
)
from xsoar_module.sync.texts import alert_comment, transition_comment, unapplied_status_comment, xsoar_note_id

if TYPE_CHECKING:  # loaded when the action runs (main.py imports every item in every block's process)
    from xsoar_module.clients.sekoia import SekoiaClient

CHANGES = ("closed", "reopened", "note")


def _absent_as_none(value: Any) -> Any:
    """A null, empty or `None` rendering of an unused argument (the shipped playbook passes them all) is None."""
    return None if is_null_rendering(value) or value == {} else value


class UpdateAlertArguments(ManifestModel):
    alert_uuid: str | None = Field(None, description="UUID of the alert (or give short_id)")
    short_id: str | None = Field(None, description="Short ID of the alert (e.g. {{ node.0.alert_short_id }})")
    status: str | None = Field(
        None, description="Status to set: Acknowledged, Ongoing, Rejected or Closed (wins over change)"
    )
    comment: str | None = Field(
        None, description="Text sent with the status change, or added as an alert comment when no status is set"
    )
    close_reason: str | None = Field(
        None, description="XSOAR close reason of a closing change: False Positive -> Rejected, any other -> Closed"
    )
    status_by_close_reason: dict[str, str] | None = Field(
        None, description='Overrides of the close reason mapping, e.g. {"Duplicate": "Rejected"}'
    )
    change: str | None = Field(
        None,
        description="The Incident Updated trigger's change: closed (status from close_reason), reopened "
        "(Acknowledged) or note (a comment from note)",
    )
    note: dict[str, Any] | str | None = Field(
        None, description="The trigger's note ({id, content, user}) or a text, for change note"
    )
    incident_id: str | None = Field(None, description="The XSOAR incident the change comes from, named in comments")
    xsoar_user: str | None = Field(
        None, description="The XSOAR user who made the change, named in the comment written when no status can be set"
    )
    changed_at: EpochSeconds | None = Field(
        None,
        description="When the incident changed in XSOAR, epoch seconds ({{ node.0.updated_at }}): the later change "
        "wins, so a closure or reopening older than the alert's latest status change by someone other than this "
        "module is not applied",
    )
    follows_mirror: bool | None = Field(
        None,
        description="The XSOAR change came after this module's closure or reopening of the incident in the same "
        "second ({{ node.0.follows_mirror }}): it wins over a Sekoia.io change of that second",
    )

    @field_validator("*", mode="before")
    @classmethod
    def _unused_is_none(cls, value: Any) -> Any:
        return _absent_as_none(value)

    @field_validator("alert_uuid", "short_id")
    @classmethod
    def _identifier(cls, value: str | None, info: Any) -> str | None:
        return None if value is None else check_identifier(value.strip(), info.field_name)

    @field_validator("change")
    @classmethod
    def _known_change(cls, value: str | None) -> str | None:
        if value is not None and value.strip().lower() not in CHANGES:
            raise ValueError(f"{value[:40]!r} is not a change of the Incident Updated trigger ({', '.join(CHANGES)})")
        return None if value is None else value.strip().lower()

    @field_validator("status")
    @classmethod
    def _settable(cls, value: str | None) -> str | None:
        if value is None:
            return None
        name = status_name(value)
        if name not in SETTABLE_STATUSES:
            raise ValueError(f"{name} cannot be set: give one of {', '.join(SETTABLE_STATUSES)}")
        return name

    @field_validator("status_by_close_reason")
    @classmethod
    def _settable_mapping(cls, value: dict[str, str] | None) -> dict[str, str] | None:
        """Each close reason maps to a status this action can set (a status name, any case, or its uuid)."""
        for reason, status in (value or {}).items():
            name = status_name(status)
            if name not in SETTABLE_STATUSES:
                raise ValueError(
                    f"{reason[:40]!r} maps to {name}, which cannot be set: give one of {', '.join(SETTABLE_STATUSES)}"
                )
        return value

    @field_validator("note")
    @classmethod
    def _note_with_text(cls, value: dict[str, Any] | str | None) -> dict[str, Any] | str | None:
        """A note object is the Incident Updated trigger's `{id, content, user}`: a text content, a text user."""
        if not isinstance(value, dict):
            return value
        content, user, note_id = value.get("content"), value.get("user"), value.get("id")
        if not isinstance(content, str) or not content.strip():
            raise ValueError(
                f"the note has no text (content {type(content).__name__}): give the Incident Updated trigger's note "
                "{id, content, user} ({{ node.0.note }}) or a text"
            )
        if user is not None and not isinstance(user, str):
            raise ValueError(f"the note's user must be a text, not {type(user).__name__}")
        if note_id is not None and not isinstance(note_id, (str, int)):
            raise ValueError(f"the note's id must be a text, not {type(note_id).__name__}")
        return value

    @model_validator(mode="after")
    def _one_alert(self) -> "UpdateAlertArguments":
        if not (self.alert_uuid or self.short_id):
            raise ValueError("give alert_uuid or short_id")
        return self

    @property
    def alert_id(self) -> str:
        return self.alert_uuid or self.short_id or ""

    def target_status(self, current: str | None) -> str | None:
        """The status asked for: `status`, else the one of a closing change, else Acknowledged for a reopening of an
        alert that is not open (`current`)."""
        if self.status:
            return self.status
        if self.change == "closed":
            try:
                return status_for_close_reason(self.close_reason, self.status_by_close_reason)
            except ValueError as exc:
                raise InvalidInputError(f"Invalid arguments: status_by_close_reason: {exc}") from None
        return REOPENED_STATUS if self.change == "reopened" and current not in OPEN_STATUSES else None

    def comment_text(self) -> tuple[str, str | None] | None:
        """The marked comment to write and the XSOAR note id it mirrors; None when there is none (or it is ours)."""
        if self.change == "note" and self.note is not None:
            note = self.note if isinstance(self.note, dict) else str(self.note)
            if is_marked(note.get("content") if isinstance(note, dict) else note):
                return None
            text = alert_comment(note, self.incident_id)
            return text, xsoar_note_id(text)
        if self.comment and self.comment.strip() and not is_marked(self.comment):
            return marked(self.comment), None
        return None


class UpdateAlertResults(ManifestModel):
    alert_uuid: str = Field(description="UUID of the alert")
    status_name: str | None = Field(description="Status of the alert after the update")
    action: Literal["status_changed", "commented", "unchanged"] = Field(description="What the block changed")
    superseded_by: str | None = Field(
        None, description="The later status change made on the alert that won over the change, when it was not applied"
    )
    status_not_set_because: str | None = Field(
        None,
        description="Why the status asked for was not set although the change won (Sekoia.io's workflow offers no "
        "way to it, e.g. from Closed or Rejected, final): the change was written as an alert comment instead",
    )


class UpdateAlert(ModuleAction):
    """Set a Sekoia.io alert's status through its workflow and comment it; a replay changes nothing."""

    name = "Update Alert"
    description = (
        "Mirror a change on a Sekoia.io alert: a status through the shortest way the alert workflow offers "
        "(Acknowledged, Ongoing, Rejected, Closed; from an XSOAR close reason or the Incident Updated trigger's "
        "change) and comments, marked as written by this module. A status the workflow cannot reach (Closed and "
        "Rejected are final) is written as an alert comment instead. Idempotent: an alert already in the status, or "
        "a comment already there, is unchanged"
    )
    results_model = UpdateAlertResults

    def run(self, arguments: UpdateAlertArguments) -> UpdateAlertResults:
        with self.sekoia_client() as client:
            alert = client.get_alert(arguments.alert_id, history=True, comments=True)
            label = f"alert {alert.get('short_id') or arguments.alert_id}"
            plan = self._plan(client, alert, arguments, label)
            current = _status_of(alert)
            if plan.target is not None:
                current = self._move(client, arguments, label, current, plan.target, plan.comment, plan.offered)
                action = "status_changed"
            elif plan.comment is not None and not _already_written(client, alert, plan.identity, *plan.comment):
                client.add_comment(arguments.alert_id, plan.comment[0], AUTHOR)
                self.log(f"Commented {label} on {client.http.base_url}", level="info")
                action = "commented"
            else:
                action = "unchanged"
                self.log(
                    f"{label.capitalize()} is unchanged (status {current}; comment already there or none)", "info"
                )
        return UpdateAlertResults(
            alert_uuid=str(alert.get("uuid") or arguments.alert_id),
            status_name=current,
            action=action,
            superseded_by=plan.superseded_by,
            status_not_set_because=plan.not_set_because,
        )

    def _plan(
        self, client: "SekoiaClient", alert: dict[str, Any], arguments: UpdateAlertArguments, label: str
    ) -> "Plan":
        """What to do: the status to move to (None: none, or already there), the comment to write, and why a status
        asked for is not set (a later change won; the workflow offers no way to it)."""
        from xsoar_module.clients.sekoia import identity_of

        current, comment = _status_of(alert), arguments.comment_text()
        target = arguments.target_status(current)
        target = None if target == current else target
        identity = identity_of(client.me()) if target is not None or comment is not None else None
        plan = Plan(target, comment, identity)
        if target is None:
            return plan
        plan.superseded_by = self._later_change(alert, arguments, label, identity)
        if plan.superseded_by is not None:  # the loser is not applied, nor its close notes written
            plan.target, plan.comment = None, None
            return plan
        plan.offered = _offered(client, arguments.alert_id)
        if next_action(target, set(plan.offered)) is None:
            plan.not_set_because, plan.comment = self._unreachable(arguments, label, current, target, plan.offered)
            plan.target = None
        return plan

    def _unreachable(
        self,
        arguments: UpdateAlertArguments,
        label: str,
        current: str | None,
        target: str,
        offered: dict[str, dict[str, Any]],
    ) -> tuple[str, tuple[str, str | None]]:
        """Why `target` cannot be set (the workflow offers no way) and the alert comment that says the change
        instead (naming the incident and the XSOAR user; deterministic, so that a replay finds it)."""
        from xsoar_module.timing import iso8601_seconds

        actions = ", ".join(sorted(offered)) or "no action"
        final = "; Closed and Rejected are final" if current in CLOSING_STATUSES else ""
        why = (
            f"Sekoia.io's workflow offers no way from {current} to {target} (it offers {actions}{final}): the change "
            "is written as an alert comment"
        )
        change = arguments.change or f"set to {target}"
        if arguments.change == "closed":
            change = f"closed ({arguments.close_reason or 'no reason'})"
        at = iso8601_seconds(arguments.changed_at) if arguments.changed_at is not None else None
        text = unapplied_status_comment(
            target,
            current or "unknown",
            incident_id=arguments.incident_id,
            user=arguments.xsoar_user,
            change=change,
            at=at,
            text=arguments.comment if arguments.comment and not is_marked(arguments.comment) else None,
        )
        self.log(f"{label.capitalize()}: {why}", "info")
        return why, (text, None)

    def _later_change(
        self, alert: dict[str, Any], arguments: UpdateAlertArguments, label: str, identity: str | None
    ) -> str | None:
        """The alert's latest status change made by someone other than this module, when it wins over the XSOAR
        change by the rule (`sekoia_change_wins`); None without the XSOAR change's time."""
        from xsoar_module.sync.history import (
            dated_history,
            entry_status,
            entry_time,
            follows_own_change,
            latest_change_by,
            own_changes,
        )
        from xsoar_module.timing import epoch, iso8601_seconds

        if arguments.changed_at is None:
            return None
        is_own = own_changes(identity)
        history, current = dated_history(alert.get("history"), epoch(alert.get("updated_at")))[0], _status_of(alert)
        entry = latest_change_by(history, lambda entry: not is_own(entry), current)
        at = entry_time(entry) if entry is not None else None
        if entry is None or at is None:
            return None
        follows_own = follows_own_change(history, entry, is_own, current)
        if not sekoia_change_wins(at, arguments.changed_at, follows_own, bool(arguments.follows_mirror)):
            return None
        who = f"{entry.get('created_by_type') or 'someone'} {entry.get('created_by') or ''}".rstrip()
        winner = f"its change to {entry_status(entry)} by {who} at {iso8601_seconds(at)}"
        self.log(
            f"{label.capitalize()}: the Cortex XSOAR change ({arguments.change or arguments.status}) at "
            f"{iso8601_seconds(arguments.changed_at)} is older than {winner}: not applied (the later change wins)",
            "info",
        )
        return winner

    def _move(
        self,
        client: "SekoiaClient",
        arguments: UpdateAlertArguments,
        label: str,
        current: str | None,
        target: str,
        comment: tuple[str, str | None] | None,
        offered: dict[str, dict[str, Any]],
    ) -> str:
        """Walk the shortest way of offered transitions from `current` to `target` (the documented workflow needs two
        from Pending or Acknowledged to Closed); every transition carries a marked comment, the given one on the
        last, so that its history entry is known as the module's without `GET /v1/me`. Returns the new status."""
        alert_id, walked = arguments.alert_id, list[str]()
        for step in range(MAX_STEPS):
            offered = offered if step == 0 else _offered(client, alert_id)
            chosen = next_action(target, set(offered))
            if chosen is None or not offered[chosen].get("id"):
                raise ServiceError(
                    f"Sekoia.io offers no way from status {current} to {target} for {label} (its workflow offers "
                    f"{', '.join(sorted(offered)) or 'no action'}): set the status by hand or choose another status"
                )
            reached = STATUS_BY_ACTION[chosen]
            last = reached == target
            said = comment[0] if comment and last else transition_comment(reached, target, arguments.incident_id)
            client.apply_transition(
                alert_id, str(offered[chosen]["id"]), said, partial(_is_in, client, alert_id, reached)
            )
            current = reached
            if last:
                steps = f" through {', '.join(walked)}" if walked else ""
                self.log(f"Moved {label} to {target}{steps} (action {chosen}) on {client.http.base_url}", "info")
                return target
            walked.append(reached)
        raise ServiceError(f"Sekoia.io did not bring {label} to {target} within {MAX_STEPS} workflow steps")


@dataclass
class Plan:
    """What Update Alert does on an alert (`UpdateAlert._plan`)."""

    target: str | None  # the status to move to
    comment: tuple[str, str | None] | None  # the marked comment and the XSOAR note id it mirrors
    identity: str | None  # the API key's identity (`GET /v1/me`), when its answer gives one
    offered: dict[str, dict[str, Any]] = field(default_factory=dict)  # the workflow actions open now, by name
    superseded_by: str | None = None
    not_set_because: str | None = None


def _offered(client: "SekoiaClient", alert_id: str) -> dict[str, dict[str, Any]]:
    """The workflow actions open from the alert's status, by name."""
    return {str(action.get("name")): action for action in client.workflow(alert_id)}


def _is_in(client: "SekoiaClient", alert_id: str, status: str) -> bool:
    """Whether the alert is now in `status` (a transition that got no answer may have been applied)."""
    return _status_of(client.get_alert(alert_id)) == status


def _status_of(alert: dict[str, Any]) -> str | None:
    status = alert.get("status")
    name = status.get("name") if isinstance(status, dict) else None
    try:
        return status_name(name) if isinstance(name, str) else None
    except ValueError:
        return None


def _already_written(
    client: "SekoiaClient", alert: dict[str, Any], identity: str | None, text: str, note_id: str | None
) -> bool:
    """Whether the module already wrote this comment on the alert: among the comments it made (`made_by_module`: by
    its identity or its API key with its marker, never a person's, whatever they quote), the same XSOAR note id, or
    the same text (in the alert's comments or with a status change of its history)."""
    comments = alert.get("comments")
    if not isinstance(comments, list):
        comments = client.comments(str(alert.get("uuid") or alert.get("short_id")))
    history = alert.get("history")
    told = [
        item
        for entry in (history if isinstance(history, list) else [])
        if isinstance(entry, dict) and isinstance(entry.get("history_comments"), list)
        for item in entry["history_comments"]
    ]
    contents = [
        item.get("content")
        for item in comments + told
        if isinstance(item, dict) and made_by_module(item, identity, [item.get("content")])
    ]
    if note_id is not None:
        return any(xsoar_note_id(content) == note_id for content in contents)
    return text in contents
