"""The alert workflow (statuses, the transitions open from each, actions) and the alert comments and history, as
Sekoia.io answers them.

Facts (SEKOIA.md section 8): the status uuids and names; the action ids are those Sekoia's own module library knows
(`ACTION_UUIDS` of its Update Alert Status) and whose prefixes Palo Alto's Sekoia XDR test data records in a real
workflow answer. `WORKFLOW` (the default) is the documented one (docs.sekoia.io, investigate / alerts): Pending ->
Acknowledge, Validate (-> Ongoing), Reject; Acknowledged -> Validate, Reject; Ongoing -> Close, Reject; Closed and
Rejected are final (no action offered). `PERMISSIVE_WORKFLOW`, only when asked for, is the kinder reading this
simulator used to have (a Pending alert offers all four actions, as the recorded answer lists them; Closed and
Rejected alerts reopen with Acknowledge, as one public history shows an `application` do): a client must not need
it. History entries and comments have the shapes of the real samples (`tests/fixtures/sync/`, checked by
`tests/lab/test_sekoia_contract.py`).
"""

import uuid
from dataclasses import dataclass
from typing import Any

PENDING, ACKNOWLEDGED, ONGOING, REJECTED, CLOSED = "Pending", "Acknowledged", "Ongoing", "Rejected", "Closed"
STATUS_UUIDS = {
    PENDING: "2efc4930-1442-4abb-acf2-58ba219a4fd0",
    ACKNOWLEDGED: "8f206505-af6d-433e-93f4-775d46dc7d0f",
    ONGOING: "1f2f88d5-ff5b-48bf-bbbc-00c2fff82d9f",
    REJECTED: "4f68da89-38e0-4703-a6ab-652f02bdf24e",
    CLOSED: "1738b1c1-767d-489e-bada-19176621a007",
}
AUTHOR_LIMIT = 32


@dataclass(frozen=True)
class Action:
    id: str
    name: str
    description: str
    target: str  # the status the action leads to

    def describe(self) -> dict[str, str]:
        return {"id": self.id, "name": self.name, "description": self.description}


ACKNOWLEDGE = Action("937bdabf-6a08-434b-b6d3-d7447e4e452a", "Acknowledge", "Acknowledge the alert", ACKNOWLEDGED)
VALIDATE = Action("c39a0a95-aa2c-4d0d-8d2e-d3decf426eea", "Validate", "Validate the alert", ONGOING)
REJECT = Action("ade85d7b-7507-4026-bfc6-cc006d10ddac", "Reject", "Reject the alert", REJECTED)
CLOSE = Action("1390be4e-ced8-4dd6-9bed-573471b235ab", "Close", "Close the alert", CLOSED)

Workflow = dict[str, tuple[Action, ...]]
WORKFLOW: Workflow = {
    PENDING: (ACKNOWLEDGE, VALIDATE, REJECT),
    ACKNOWLEDGED: (VALIDATE, REJECT),
    ONGOING: (CLOSE, REJECT),
    REJECTED: (),
    CLOSED: (),
}
PERMISSIVE_WORKFLOW: Workflow = {
    PENDING: (ACKNOWLEDGE, VALIDATE, REJECT, CLOSE),
    ACKNOWLEDGED: (VALIDATE, REJECT, CLOSE),
    ONGOING: (REJECT, CLOSE),
    REJECTED: (ACKNOWLEDGE,),
    CLOSED: (ACKNOWLEDGE,),
}


@dataclass(frozen=True)
class Actor:
    """Who makes a change: an API key (`apikey`) or a person in the web app (`user`)."""

    uuid: str
    type: str

    @property
    def author(self) -> str:
        """A comment's author when none is given, as real answers show it (`apikey:<uuid>`, `user:<uuid>`)."""
        return f"{self.type}:{self.uuid}"


def key_actor(api_key: str) -> Actor:
    return Actor(str(uuid.uuid5(uuid.NAMESPACE_URL, api_key)), "apikey")


def person_actor(name: str) -> Actor:
    return Actor(str(uuid.uuid5(uuid.NAMESPACE_URL, f"user/{name}")), "user")


def status_name(alert: dict[str, Any]) -> str:
    """The alert's status name (Pending when absent, as a new alert)."""
    status = alert.get("status")
    name = status.get("name") if isinstance(status, dict) else None
    return name if name in STATUS_UUIDS else PENDING


def status_object(name: str) -> dict[str, str]:
    return {"uuid": STATUS_UUIDS[name], "name": name, "description": f"{name} alert"}


def find_action(workflow: Workflow, current: str, wanted: Any) -> Action | None:
    """The open action named by `wanted`: its id, or the uuid of the status it leads to (as Sekoia's library sends)."""
    return next((a for a in workflow[current] if wanted in (a.id, STATUS_UUIDS[a.target])), None)


def action_to(workflow: Workflow, current: str, target: str) -> Action | None:
    """The open action that leads to the status `target`, if any."""
    return next((action for action in workflow[current] if action.target == target), None)


def _entry(actor: Actor, entry_type: str, at: int, **fields: Any) -> dict[str, Any]:
    """A history entry as the real samples show it (`created_at` epoch seconds, who made it, `history_comments`)."""
    return {
        "uuid": str(uuid.uuid4()),
        "created_at": at,
        "created_by": actor.uuid,
        "created_by_type": actor.type,
        "entry_type": entry_type,
        "history_comments": [],
    } | fields


def status_entry(
    previous: str, action: Action, actor: Actor, comment: dict[str, Any] | None, at: int
) -> dict[str, Any]:
    """A status change at `at` (epoch seconds) in the alert's history: `alert: {status, previous_status}`; the
    comment sent with it (also an alert comment, same uuid) in `history_comments`."""
    told = [{key: value for key, value in comment.items() if key != "unseen"}] if comment else []
    return _entry(actor, "alert", at, alert={"status": action.target, "previous_status": previous}) | {
        "history_comments": told
    }


def comment_entry(comment: dict[str, Any], actor: Actor) -> dict[str, Any]:
    """A comment in the alert's history at its `date`: `comment: {uuid, status, display_name, content}` (an object)."""
    shown = {"uuid": comment["uuid"], "status": "created", "display_name": actor.author, "content": comment["content"]}
    return _entry(actor, "comment", comment["date"], comment=shown)


def new_comment(content: Any, author: Any, actor: Actor, at: int) -> dict[str, Any]:
    """A comment made at `at` (epoch seconds) as `POST .../comments` answers it; ValueError (a 400) for a bad content
    or author."""
    if not isinstance(content, str) or not content.strip():
        raise ValueError("content: a non-empty string is required")
    if author is not None and not isinstance(author, str):
        raise ValueError("author: must be a string")
    if author is not None and len(author) > AUTHOR_LIMIT:
        raise ValueError(f"author: ensure this value has at most {AUTHOR_LIMIT} characters")
    return {
        "uuid": str(uuid.uuid4()),
        "content": content,
        "author": author or actor.author,
        "date": at,
        "created_by": actor.uuid,
        "created_by_type": actor.type,
        "unseen": False,
    }
