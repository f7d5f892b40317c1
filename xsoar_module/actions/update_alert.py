"""Update Alert: mirror an XSOAR change on a Sekoia.io alert (status through the workflow, comments), idempotently.

Read (the alert with its history and comments; the incident's war room when a same-second change makes it matter),
decide (`sync.decisions.decide_alert`), write (`alert_sync.py`: the workflow's transitions, or a comment)."""

from typing import TYPE_CHECKING, Any, Literal, get_args

from pydantic import Field, field_validator, model_validator

from xsoar_module.actions.base import ModuleAction, sync_outcome
from xsoar_module.errors import InvalidInputError
from xsoar_module.models.incident_event import Change
from xsoar_module.models.schema import EpochSeconds, ManifestModel, is_null_rendering
from xsoar_module.quoting import check_identifier
from xsoar_module.sync.rules import (
    OPEN_STATUSES,
    REOPENED_STATUS,
    SETTABLE_STATUSES,
    status_for_close_reason,
    status_name,
)

if TYPE_CHECKING:  # loaded when the action runs (main.py imports every item in every block's process)
    from xsoar_module.actions.alert_sync import Plan
    from xsoar_module.clients.sekoia import SekoiaClient
    from xsoar_module.sync.snapshots import Alert

CHANGES: tuple[str, ...] = get_args(Change)  # the Incident Updated trigger's changes, as its event names them


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
        "second ({{ node.0.follows_mirror }}): it wins over a Sekoia.io change of that second. Left out, it is read "
        "from the incident's war room when it matters",
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
        from xsoar_module.sync.texts import comment_to_write

        note = self.note if self.change == "note" else None
        return comment_to_write(note, self.comment, self.incident_id)


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

    def outcome(self, results: dict[str, Any]) -> str:
        return sync_outcome(results)

    def run(self, arguments: UpdateAlertArguments) -> UpdateAlertResults:
        from xsoar_module.actions.alert_sync import already_there, move
        from xsoar_module.sync.marker import AUTHOR
        from xsoar_module.sync.snapshots import Alert

        with self.sekoia_client() as client:
            raw = client.get_alert(arguments.alert_id, history=True, comments=True)
            alert = Alert.of(raw)
            label = f"alert {alert.short_id or arguments.alert_id}"
            plan = self._plan(client, alert, arguments, label)
            current = alert.status
            if plan.target is not None:
                current = move(client, arguments.alert_id, arguments.incident_id, label, current, plan, self.log)
                action = "status_changed"
            elif plan.comment is not None and not already_there(client, alert, plan.identity, *plan.comment):
                client.add_comment(arguments.alert_id, plan.comment[0], AUTHOR)
                self.log(f"Commented {label} on {client.http.base_url}", level="info")
                action = "commented"
            else:
                action = "unchanged"
                self.log(
                    f"{label.capitalize()} is unchanged (status {current}; comment already there or none)", "info"
                )
        return UpdateAlertResults(
            alert_uuid=str(alert.uuid or arguments.alert_id),
            status_name=current,
            action=action,
            superseded_by=plan.superseded_by,
            status_not_set_because=plan.not_set_because,
        )

    def _plan(self, client: "SekoiaClient", alert: "Alert", arguments: UpdateAlertArguments, label: str) -> "Plan":
        """What to do: the status to move to (None: none, or already there), the comment to write, and why a status
        asked for is not set (a later change won; the workflow offers no way to it)."""
        from xsoar_module.actions.alert_sync import Plan, XsoarChange, offered_actions, unreachable
        from xsoar_module.clients.sekoia.alerts import identity_of
        from xsoar_module.sync.decisions import alert_contested, decide_alert
        from xsoar_module.sync.rules import next_action
        from xsoar_module.timing import iso8601_seconds

        comment, target = arguments.comment_text(), arguments.target_status(alert.status)
        asked = target is not None and target != alert.status
        identity = identity_of(client.me()) if asked or comment is not None else None
        follows = arguments.follows_mirror
        if follows is None and asked and alert_contested(alert, arguments.changed_at, identity):
            follows = self._follows_mirror(alert, arguments, target or "")
        decision = decide_alert(alert, target, arguments.changed_at, identity, bool(follows))
        plan = Plan(decision.target, comment, identity, superseded_by=decision.superseded_by)
        if decision.superseded_by is not None:  # the loser is not applied, nor its close notes written
            plan.comment = None
            self.log(
                f"{label.capitalize()}: the Cortex XSOAR change ({arguments.change or arguments.status}) at "
                f"{iso8601_seconds(arguments.changed_at or 0)} is older than {decision.superseded_by}: not applied "
                "(the later change wins)",
                "info",
            )
        if plan.target is None:
            return plan
        plan.offered = offered_actions(client, arguments.alert_id)
        if next_action(plan.target, set(plan.offered)) is None:
            change = XsoarChange(
                arguments.change,
                arguments.close_reason,
                arguments.changed_at,
                arguments.incident_id,
                arguments.xsoar_user,
                arguments.comment,
            )
            plan.not_set_because, plan.comment = unreachable(change, alert.status, plan.target, plan.offered)
            self.log(f"{label.capitalize()}: {plan.not_set_because}", "info")
            plan.target = None
        return plan

    def _follows_mirror(self, alert: "Alert", arguments: UpdateAlertArguments, target: str) -> bool:
        """What `follows_mirror` says when the playbook did not pass it: whether the XSOAR change came after this
        module's mirror note of that second in the incident's war room (read from XSOAR, the incident by
        `incident_id`, else by the alert). False, with a warning, when XSOAR cannot be read."""
        from xsoar_module.clients.xsoar import XsoarClient
        from xsoar_module.clients.xsoar.connection import api_configuration
        from xsoar_module.errors import ModuleError
        from xsoar_module.sync.decisions import mirror_note_before
        from xsoar_module.sync.snapshots import Incident
        from xsoar_module.sync.war_room import follows_mirror_note

        changed_at = arguments.changed_at or 0.0
        try:
            with XsoarClient(api_configuration(self.config), on_retry=self._log_retry) as xsoar:
                if arguments.incident_id:
                    found = xsoar.get_incident(arguments.incident_id)
                else:
                    found = xsoar.find_incident(alert.short_id or arguments.short_id, alert.uuid, legacy=True)
                entries = (
                    xsoar.investigation_entries(Incident.of(found).war_room, from_time=changed_at) if found else []
                )
        except ModuleError as exc:
            self.log(
                f"follows_mirror was not given and the incident's war room could not be read ({exc}): the change is "
                "taken as not following the module's mirror (Sekoia.io's change of the same second may win)",
                "warning",
            )
            return False
        follows = follows_mirror_note(entries, changed_at, mirror_note_before(target))
        self.log(f"follows_mirror was not given: the incident's war room says {follows}", "info")
        return follows
