"""Hostile arguments and answers of the two sync actions (Update Incident, Update Alert), run as the platform runs
them, one list per class of hostile sync input: mirror tags or the marker in a person's text (class 1), loose coercion
of times, counts and notes (class 2), a mapping to a status that cannot be set (class 3), a search or GET answering
another alert's incident or alert, or an incident without id (class 4), unbounded texts (class 5), secrets echoed by a
server or quoted by a person and carried across (class 6), history dates in the future or missing (class 8).

Besides the checks every case gets (`assert_clean`: no canary in the error, results, logs, outputs, files, requests
to other hosts), what each case wrote on the other side is searched too: every war-room entry and close notes of the
XSOAR simulator, every comment and status-change comment of the case's Sekoia.io alert.

To add a case, add a row to its class's list.
"""

import json
import time
from typing import Any

import pytest

from lab.doubles.faults import Fault
from tests.hostile.conftest import Env, base_configuration, check_action_case
from tests.hostile.harness import Case, Outcome, params
from tests.hostile.harness import in_turn as all_of
from tests.hostile.harness import in_turn as then
from tests.support import SEKOIA_KEY, XSOAR_API_KEY
from xsoar_module.sync.marker import MARKER
from xsoar_module.sync.texts import sekoia_comment_uuid, xsoar_note_id

MIB = 1024 * 1024
MAX_BODY = 512 * 1024
MODE = "api8"  # the sync's REST API (XSOAR 8: key and key ID)
SEKOIA_COMMENT = "5b0f8c7e-0c5e-4d43-9a55-6c1c39c2f0aa"


# -- the pair each case works on -----------------------------------------------------------------------------------


def pair(closed: bool = False, status: str | None = None):
    """A setup: a Sekoia.io alert (moved to `status` by a person) and its open XSOAR incident (closed by a person when
    `closed`), remembered in the Env as `env.alert` and `env.incident_id`."""

    def setup(env: Env) -> None:
        env.alert = env.sekoia.add_alert(notify=False)
        if status is not None:
            env.sekoia.change_status_as_person(env.alert["uuid"], status)
        fields = {"alertid": env.alert["short_id"], "sekoiaioalertuuid": env.alert["uuid"]}
        stored = env.xsoar.add_incident(
            {"name": "hostile", "CustomFields": fields, "createInvestigation": True}, "api"
        )
        env.incident_id = stored["id"]
        if closed:
            env.xsoar.close_as_person(stored["id"], "Resolved", "closed by a person")

    return setup


def xsoar_fault(*faults: Fault, method: str = "POST", path: str | None = None):
    return lambda env: env.xsoar.faults.script(*faults, method=method, path_contains=path)


def update_incident(**arguments: Any) -> dict:
    """Update Incident on the case's pair (`short_id` and `alert_uuid` of `pair()`), with these arguments."""

    def built(env: Env) -> dict:
        alert = env.alert
        return {"short_id": alert["short_id"], "alert_uuid": alert["uuid"]} | arguments

    return {"action": "UpdateIncident", "mode": MODE, "arguments": built, "setup": pair()}


def update_alert(**arguments: Any) -> dict:
    def built(env: Env) -> dict:
        return {"alert_uuid": env.alert["uuid"], "incident_id": env.incident_id} | arguments

    return {"action": "UpdateAlert", "mode": MODE, "arguments": built, "setup": pair()}


# -- what a case checks ------------------------------------------------------------------------------------------


def incident_of(outcome: Outcome) -> dict:
    env: Env = outcome.extra["env"]
    return env.xsoar.incident(env.incident_id)


def alert_of(outcome: Outcome) -> dict:
    env: Env = outcome.extra["env"]
    return env.alert


def requests_to(outcome: Outcome, path: str) -> list[dict]:
    return [r for r in outcome.extra["xsoar"].requests if r["method"] == "POST" and r["path"].endswith(path)]


def unchanged(outcome: Outcome) -> None:
    """Nothing written on either side: no closure, entry or comment."""
    assert requests_to(outcome, "/incident/batchClose") == [] and requests_to(outcome, "/entry") == []
    incident = incident_of(outcome)
    assert incident["status"] != 2 and incident["entries"] == [], "the incident was changed"
    env: Env = outcome.extra["env"]
    assert env.sekoia.comments_of(alert_of(outcome)["uuid"]) == [], "the alert was commented"


def nothing_written(outcome: Outcome) -> None:
    """The incident is left as it was (closed): no entry, no closure, nothing in its details."""
    assert requests_to(outcome, "/incident/batchClose") == [] and requests_to(outcome, "/entry") == []
    incident = incident_of(outcome)
    assert incident["status"] == 2 and incident["entries"] == [] and "***" not in str(incident.get("details"))


def action_was(action: str):
    def check(outcome: Outcome) -> None:
        assert outcome.results["action"] == action, outcome.results

    return check


def bounded(path: str, field: str):
    """The request to `path` is under 512 KiB, its `field` ends with the visible mark then the module's marker."""

    def check(outcome: Outcome) -> None:
        sent = requests_to(outcome, path)
        assert sent, f"nothing was sent to {path}"
        for request in sent:
            assert len(request["body"]) < MAX_BODY, f"a body of {len(request['body'])} bytes was sent to {path}"
        text = json.loads(sent[-1]["body"])[field]
        assert "[truncated]" in text and text.endswith(MARKER), text[-300:]

    return check


def comment_bounded(outcome: Outcome) -> None:
    """The alert's comments (a transition's comment is one too) are under 512 KiB and marked; the long one is trimmed
    visibly."""
    texts = written_on_sekoia(outcome)
    assert any("[truncated]" in text for text in texts), "no comment was trimmed"
    for text in texts:
        assert len(json.dumps(text)) < MAX_BODY and text.endswith(MARKER), text[-300:]


def keeps_note_tag(note_id: str):
    def check(outcome: Outcome) -> None:
        comment_bounded(outcome)
        assert [xsoar_note_id(text) for text in written_on_sekoia(outcome)] == [note_id]

    return check


def says_masked(where: str):
    """What was written (`xsoar` entries and close notes, or `sekoia` comments) shows the mask where a secret was."""

    def check(outcome: Outcome) -> None:
        texts = written_on_xsoar(outcome) if where == "xsoar" else written_on_sekoia(outcome)
        assert any("***" in text for text in texts), texts

    return check


def superseded(outcome: Outcome) -> None:
    assert outcome.results["superseded_by"], outcome.results


def written_on_xsoar(outcome: Outcome) -> list[str]:
    incident = incident_of(outcome)
    return [str(entry.get("contents")) for entry in incident["entries"]] + [str(incident.get("closeNotes") or "")]


def written_on_sekoia(outcome: Outcome) -> list[str]:
    env: Env = outcome.extra["env"]
    uuid = alert_of(outcome)["uuid"]
    return [str(comment.get("content")) for comment in env.sekoia.comments_of(uuid)]


# -- the cases, by class -----------------------------------------------------------------------------------------

CLASS_2 = [  # loose coercion of times: a boolean or junk is no epoch time
    Case(
        "update_incident-changed_at-true",
        update_incident(status="Closed", changed_at=True),
        error=r"changed_at.*true is not a time",
        check=unchanged,
    ),
    Case(
        "update_incident-changed_at-false",
        update_incident(status="Closed", changed_at=False),
        error=r"changed_at.*false is not a time",
        check=unchanged,
    ),
    Case(
        "update_incident-changed_at-text",
        update_incident(status="Closed", changed_at="yesterday"),
        error=r"changed_at.*number",
        check=unchanged,
    ),
    Case(
        "update_incident-changed_at-nan",
        update_incident(status="Closed", changed_at="NaN"),
        error=r"changed_at.*finite",
        check=unchanged,
    ),
    Case(
        "update_incident-changed_at-year-30000",
        update_incident(status="Closed", changed_at=1e12),
        error=r"changed_at.*less than or equal",
        check=unchanged,
    ),
    Case(
        "update_incident-changed_at-object",
        update_incident(status="Closed", changed_at={"seconds": 1}),
        error=r"changed_at",
        check=unchanged,
    ),
    Case(
        "update_incident-changed_at-numeric-text",
        update_incident(status="Closed", changed_at="1764316800"),
        check=action_was("closed"),
    ),
    Case(
        "update_alert-changed_at-true",
        update_alert(change="closed", close_reason="Resolved", changed_at=True),
        error=r"changed_at.*true is not a time",
        check=unchanged,
    ),
    Case(
        "update_alert-changed_at-list",
        update_alert(change="closed", close_reason="Resolved", changed_at=[1]),
        error=r"changed_at",
        check=unchanged,
    ),
    Case(
        "update_alert-changed_at-negative",
        update_alert(change="closed", close_reason="Resolved", changed_at=-1),
        error=r"changed_at.*greater than or equal",
        check=unchanged,
    ),
    Case(
        "update_alert-changed_at-infinity",
        update_alert(change="closed", close_reason="Resolved", changed_at="inf"),
        error=r"changed_at.*finite",
        check=unchanged,
    ),
    Case(
        "update_incident-occurrences-true",
        update_incident(occurrences=True),
        error=r"occurrences.*true is not a count",
        check=unchanged,
    ),
    Case(
        "update_incident-max_events-true",
        update_incident(fetch_events=True, max_events=True),
        error=r"max_events.*true is not a count",
        check=unchanged,
    ),
    Case(
        "update_incident-occurrences-fractional",
        update_incident(occurrences=1.5),
        error=r"occurrences.*fractional part",
        check=unchanged,
    ),
    Case(
        "update_alert-follows_mirror-junk",
        update_alert(change="closed", close_reason="Resolved", changed_at=1, follows_mirror="maybe"),
        error=r"follows_mirror.*valid boolean",
        check=unchanged,
    ),
    Case(
        "update_alert-changed_at-null-rendering",
        update_alert(change="closed", close_reason="Resolved", changed_at="None"),
        check=action_was("status_changed"),
    ),
]

HUGE = "h" * MIB
CONTROLS = "\x01" * (2 * MIB)  # 6 bytes each once escaped in JSON: 12 MiB of body if sent as is
CLASS_5 = [  # unbounded bodies: 512 KiB per request, a text trimmed with a visible [truncated]
    Case(
        "update_incident-close-with-1MiB-comment",
        update_incident(status="Closed", comment=HUGE),
        check=all_of(action_was("closed"), bounded("/incident/batchClose", "closeNotes")),
    ),
    Case(
        "update_incident-note-1MiB-comment-object",
        update_incident(comment={"uuid": SEKOIA_COMMENT, "content": HUGE, "author": "alice"}),
        check=all_of(action_was("noted"), bounded("/entry", "data")),
    ),
    Case(
        "update_incident-note-2MiB-of-control-characters",
        update_incident(comment=CONTROLS),
        check=all_of(action_was("noted"), bounded("/entry", "data")),
    ),
    Case(
        "update_incident-note-1MiB-author",
        update_incident(comment={"uuid": SEKOIA_COMMENT, "content": "short", "author": HUGE}),
        check=all_of(action_was("noted"), bounded("/entry", "data")),
    ),
    Case(
        "update_incident-close_reasons-1MiB",
        update_incident(status="Closed", close_reasons={"Closed": HUGE}),
        error=r"close_reasons.*at most 256 characters",
        check=unchanged,
    ),
    Case(
        "update_alert-comment-1MiB",
        update_alert(comment=HUGE),
        check=all_of(action_was("commented"), comment_bounded),
    ),
    Case(
        "update_alert-note-1MiB-keeps-its-tag",
        update_alert(change="note", note={"id": "77@3", "content": HUGE, "user": "bob"}),
        check=all_of(action_was("commented"), keeps_note_tag("77@3")),
    ),
    Case(
        "update_alert-close_reason-1MiB-on-a-final-alert",
        update_alert(change="closed", close_reason=HUGE) | {"setup": pair(status="Rejected")},
        check=all_of(action_was("commented"), comment_bounded),
    ),
    Case(
        "update_alert-xsoar_user-1MiB-on-a-final-alert",
        update_alert(change="reopened", xsoar_user=HUGE) | {"setup": pair(status="Rejected")},
        check=all_of(action_was("commented"), comment_bounded),
    ),
    Case(
        "update_alert-incident_id-1MiB",
        update_alert(change="note", note={"id": "78@3", "content": "short", "user": "bob"}, incident_id=HUGE),
        check=all_of(action_was("commented"), comment_bounded),
    ),
    Case(
        "update_alert-closure-with-2MiB-close-notes",
        update_alert(status="Closed", comment=CONTROLS),
        check=all_of(action_was("status_changed"), comment_bounded),
    ),
]

ECHO = f"Error: Authorization: {XSOAR_API_KEY} is not allowed to run !reopenInvestigation"


def replayed(given: dict) -> dict:
    """The case's action run once before (its setup first): the case is its replay."""

    def setup(env: Env) -> None:
        given["setup"](env)
        config = base_configuration(env, given["mode"])
        arguments = given["arguments"](env)
        first = env.symphony.run_action(given["action"], config, arguments, data_path=env.data_path, in_process=True)
        assert first.error is None, first.error

    return given | {"setup": setup}


def written_once(outcome: Outcome) -> None:
    texts = [text for text in written_on_xsoar(outcome) + written_on_sekoia(outcome) if text]
    assert len(texts) == 1 and "***" in texts[0], texts


CLASS_6 = [  # secrets echoed by a server or quoted by a person, carried to the other side
    Case(
        "update_incident-reopen-refused-entry-echoes-the-api-key",
        update_incident(status="Acknowledged")
        | {
            "setup": then(
                pair(closed=True),
                xsoar_fault(
                    Fault(status=200, raw_body=json.dumps([{"type": 4, "contents": ECHO}])), path="/entry/execute"
                ),
            )
        },
        error=r"did not reopen incident .*\*\*\*.*xsoar_command_investigation_id",
        check=nothing_written,
    ),
    Case(
        "update_incident-close-refused-echoing-the-api-key",
        update_incident(status="Closed")
        | {
            "setup": then(
                pair(),
                xsoar_fault(
                    Fault(status=400, raw_body=json.dumps({"error": f"Authorization: {XSOAR_API_KEY} may not close"})),
                    path="/incident/batchClose",
                ),
            )
        },
        error=r"400.*\*\*\*",
        check=lambda outcome: incident_of(outcome)["status"] != 2,
    ),
    Case(
        "update_alert-status-change-refused-echoing-the-sekoia-key",
        update_alert(status="Acknowledged")
        | {
            "setup": then(
                pair(),
                lambda env: env.sekoia.faults.script(
                    Fault(status=400, raw_body=json.dumps({"message": f"token Bearer {SEKOIA_KEY} refused"})),
                    method="PATCH",
                ),
            )
        },
        error=r"400.*\*\*\*",
        check=unchanged,
    ),
    Case(
        "update_incident-comment-quotes-the-sekoia-key",
        update_incident(comment={"uuid": SEKOIA_COMMENT, "content": f"the key is {SEKOIA_KEY}", "author": "eve"}),
        check=all_of(action_was("noted"), says_masked("xsoar")),
    ),
    Case(
        "update_incident-close-comment-quotes-the-xsoar-key",
        update_incident(status="Rejected", comment=f"Authorization: {XSOAR_API_KEY}"),
        check=all_of(action_was("closed"), says_masked("xsoar")),
    ),
    Case(
        "update_alert-note-quotes-the-xsoar-key",
        update_alert(change="note", note={"id": "9@3", "content": f"key {XSOAR_API_KEY}", "user": "bob"}),
        check=all_of(action_was("commented"), says_masked("sekoia")),
    ),
    Case(
        "update_alert-closure-notes-quote-the-sekoia-key",
        update_alert(status="Closed", comment=f"Bearer {SEKOIA_KEY}"),
        check=all_of(action_was("status_changed"), says_masked("sekoia")),
    ),
    Case(
        "update_alert-comment-user-is-the-xsoar-key",
        update_alert(change="note", note={"id": "10@3", "content": "hello", "user": XSOAR_API_KEY}),
        check=all_of(action_was("commented"), says_masked("sekoia")),
    ),
    Case(
        "update_incident-comment-quoting-the-sekoia-key-replayed",
        replayed(update_incident(comment={"uuid": SEKOIA_COMMENT, "content": f"key {SEKOIA_KEY}", "author": "eve"})),
        check=all_of(action_was("unchanged"), written_once),
    ),
    Case(
        "update_alert-note-quoting-the-xsoar-key-replayed",
        replayed(update_alert(change="note", note={"id": "11@3", "content": f"key {XSOAR_API_KEY}", "user": "bob"})),
        check=all_of(action_was("unchanged"), written_once),
    ),
]

DAY = 86400


def history_dated(offset: float | None):
    """Every status change of the case's alert dated `offset` seconds from now (None: no date)."""

    def setup(env: Env) -> None:
        for entry in env.sekoia._lookup(env.alert["uuid"]).history:
            entry["date"] = None if offset is None else int(time.time() + offset)

    return setup


CLASS_8 = [  # dates that derail: a person's change dated tomorrow must not win every conflict
    Case(
        "update_alert-closure-after-a-change-dated-tomorrow",
        update_alert(change="closed", close_reason="Resolved", changed_at=lambda env: time.time() + 2)
        | {"setup": then(pair(status="Acknowledged"), history_dated(DAY))},
        check=action_was("status_changed"),
    ),
    Case(
        "update_alert-closure-older-than-an-undated-change",
        update_alert(change="closed", close_reason="Resolved", changed_at=lambda env: time.time() - 3600)
        | {"setup": then(pair(status="Acknowledged"), history_dated(None))},
        check=all_of(action_was("unchanged"), superseded),
    ),
]


def first_run(given: dict, **arguments: Any) -> dict:
    """The case's action run once before with these arguments (on the same pair, after its setup)."""

    def setup(env: Env) -> None:
        given["setup"](env)
        config = base_configuration(env, given["mode"])
        first = given["arguments"](env) | arguments
        run = env.symphony.run_action(given["action"], config, first, data_path=env.data_path, in_process=True)
        assert run.error is None, run.error

    return given | {"setup": setup}


def before_the_run(given: dict, step) -> dict:
    """The case with `step(env)` done after its setup (what a person wrote before the run)."""
    return given | {"setup": then(given["setup"], step)}


def person_notes(text: str):
    return lambda env: env.xsoar.note_as_person(env.incident_id, text, user="mallory")


def person_comments(text: str):
    return lambda env: env.sekoia.comment_as_person(env.alert["uuid"], text, person="mallory")


def entries_mirror(*uuids: str):
    """The module's war-room entries (marked, not a person's note) mirror these Sekoia.io comments, in this order."""

    def check(outcome: Outcome) -> None:
        entries = [entry for entry in incident_of(outcome)["entries"] if entry.get("note") is not True]
        assert [sekoia_comment_uuid(entry["contents"]) for entry in entries] == list(uuids), entries

    return check


def comments_mirror(*note_ids: str | None):
    """The module's alert comments (its API key) mirror these XSOAR notes (None: a text), in this order."""

    def check(outcome: Outcome) -> None:
        env: Env = outcome.extra["env"]
        own = [c for c in env.sekoia.comments_of(env.alert["uuid"]) if c.get("created_by_type") == "apikey"]
        assert [xsoar_note_id(comment["content"]) for comment in own] == list(note_ids), own

    return check


OTHER_COMMENT = "0d7a1a4e-3f7b-4c55-8f0e-2b1a5d6e9c11"
TAGGED = f"**alice** commented on Sekoia.io alert {{short_id}} (Sekoia.io comment {SEKOIA_COMMENT}):\n\nreal text"
CLASS_1 = [  # a mirror tag in a person's text: only the module's own writes (its entries, its API key) count
    Case(
        "update_incident-a-comment-quoting-the-tag-of-the-next-one",
        first_run(
            update_incident(comment={"uuid": SEKOIA_COMMENT, "content": "real text", "author": "alice"}),
            comment={"uuid": OTHER_COMMENT, "content": f"see Sekoia.io comment {SEKOIA_COMMENT}", "author": "eve"},
        ),
        check=all_of(action_was("noted"), entries_mirror(OTHER_COMMENT, SEKOIA_COMMENT)),
    ),
    Case(
        "update_incident-a-persons-note-quoting-the-tag",
        before_the_run(
            update_incident(comment={"uuid": SEKOIA_COMMENT, "content": "real text", "author": "alice"}),
            person_notes(f"mirrored already: Sekoia.io comment {SEKOIA_COMMENT}"),
        ),
        check=all_of(action_was("noted"), entries_mirror(SEKOIA_COMMENT)),
    ),
    Case(
        "update_incident-a-persons-note-copying-the-modules-entry-marker-included",
        before_the_run(
            update_incident(comment={"uuid": SEKOIA_COMMENT, "content": "real text", "author": "alice"}),
            lambda env: person_notes(f"{TAGGED.format(short_id=env.alert['short_id'])}\n\n{MARKER}")(env),
        ),
        check=all_of(action_was("noted"), entries_mirror(SEKOIA_COMMENT)),
    ),
    Case(
        "update_incident-a-plain-comment-after-a-persons-marked-note-of-its-text",
        before_the_run(update_incident(comment="checked the host"), person_notes(f"checked the host\n\n{MARKER}")),
        check=all_of(action_was("noted"), entries_mirror(None)),
    ),
    Case(
        "update_alert-a-note-quoting-the-tag-of-the-next-one",
        first_run(
            update_alert(change="note", note={"id": "21@3", "content": "the real note", "user": "bob"}),
            note={
                "id": "20@3",
                "content": "as said in (bob in Cortex XSOAR incident 3, XSOAR note 21@3)",
                "user": "eve",
            },
        ),
        check=all_of(action_was("commented"), comments_mirror("20@3", "21@3")),
    ),
    Case(
        "update_alert-a-note-without-id-quoting-a-tag-then-that-note",
        first_run(
            update_alert(change="note", note={"id": "21@3", "content": "the real note", "user": "bob"}),
            note={"content": "see (bob in Cortex XSOAR incident 3, XSOAR note 21@3)", "user": "eve"},
        ),
        check=all_of(action_was("commented"), comments_mirror(None, "21@3")),
    ),
    Case(
        "update_alert-a-persons-comment-copying-the-modules-comment-marker-included",
        before_the_run(
            update_alert(change="note", note={"id": "21@3", "content": "the real note", "user": "bob"}),
            person_comments(f"fake\n\n(bob in Cortex XSOAR incident 3, XSOAR note 21@3)\n\n{MARKER}"),
        ),
        check=all_of(action_was("commented"), comments_mirror("21@3")),
    ),
    Case(
        "update_alert-a-persons-marked-comment-of-the-same-text",
        before_the_run(update_alert(comment="checked the host"), person_comments(f"checked the host\n\n{MARKER}")),
        check=all_of(action_was("commented"), comments_mirror(None)),
    ),
]

CLASS_2_NOTES = [  # a note or comment object without a text, or of wrong types: nothing written
    Case(
        "update_alert-note-without-content",
        update_alert(change="note", note={"id": "30@3", "user": "bob"}),
        error=r"note: .*the note has no text \(content NoneType\)",
        check=unchanged,
    ),
    Case(
        "update_alert-note-content-object-user-list",
        update_alert(change="note", note={"id": "31@3", "content": {"text": "x"}, "user": ["bob"]}),
        error=r"note: .*the note has no text \(content dict\)",
        check=unchanged,
    ),
    Case(
        "update_alert-note-user-list",
        update_alert(change="note", note={"id": "32@3", "content": "x", "user": ["bob"]}),
        error=r"note: .*the note's user must be a text, not list",
        check=unchanged,
    ),
    Case(
        "update_alert-note-id-object",
        update_alert(change="note", note={"id": {"n": 1}, "content": "x", "user": "bob"}),
        error=r"note: .*the note's id must be a text, not dict",
        check=unchanged,
    ),
    Case(
        "update_alert-note-blank-content",
        update_alert(change="note", note={"id": "33@3", "content": " \n ", "user": "bob"}),
        error=r"note: .*the note has no text \(content str\)",
        check=unchanged,
    ),
    Case(
        "update_incident-comment-object-without-content",
        update_incident(comment={"uuid": SEKOIA_COMMENT, "author": "alice"}),
        check=all_of(action_was("unchanged"), unchanged),
    ),
    Case(
        "update_incident-comment-object-content-object",
        update_incident(comment={"uuid": SEKOIA_COMMENT, "content": {"text": "x"}, "author": "alice"}),
        check=all_of(action_was("unchanged"), unchanged),
    ),
]

CLASS_3 = [  # a mapping to a status the action cannot set: an error naming the argument and the allowed statuses
    Case(
        "update_alert-status_by_close_reason-to-pending",
        update_alert(change="closed", close_reason="Resolved", status_by_close_reason={"Resolved": "Pending"}),
        error=r"status_by_close_reason.*'Resolved' maps to Pending, which cannot be set: give one of Acknowledged, "
        r"Ongoing, Rejected, Closed",
        check=unchanged,
    ),
    Case(
        "update_alert-status_by_close_reason-to-pendings-uuid",
        update_alert(
            change="closed",
            close_reason="Resolved",
            status_by_close_reason={"Resolved": "2efc4930-1442-4abb-acf2-58ba219a4fd0"},
        ),
        error=r"status_by_close_reason.*maps to Pending, which cannot be set",
        check=unchanged,
    ),
    Case(
        "update_alert-status_by_close_reason-to-no-status",
        update_alert(change="closed", close_reason="Resolved", status_by_close_reason={"Resolved": "Done"}),
        error=r"status_by_close_reason.*'Done' is not a Sekoia.io status",
        check=unchanged,
    ),
    Case(
        "update_alert-status_by_close_reason-a-list",
        update_alert(change="closed", close_reason="Resolved", status_by_close_reason=["Closed"]),
        error=r"status_by_close_reason",
        check=unchanged,
    ),
    Case(
        "update_alert-status-pending",
        update_alert(status="Pending"),
        error=r"status.*Pending cannot be set: give one of Acknowledged, Ongoing, Rejected, Closed",
        check=unchanged,
    ),
    Case(
        "update_incident-close_reasons-keyed-by-no-status",
        update_incident(status="Closed", close_reasons={"Done": "Resolved"}),
        error=r"close_reasons.*'Done' is not a Sekoia.io status",
        check=unchanged,
    ),
]


def search_answers(*incidents: Any):
    """XSOAR's search answers these incidents (once: the first search)."""
    body = json.dumps({"total": len(incidents), "data": list(incidents)})
    return xsoar_fault(Fault(status=200, raw_body=body), path="/incidents/search")


def searched_answer(incidents):
    """The search answers `incidents(env)`, built from the case's pair."""
    return lambda env: search_answers(*incidents(env))(env)


NOT_CARRIED = r"answered the search alertid:.* with incidents that do not carry it .*nothing is changed"
CLASS_4 = [  # the search answer is checked: only an incident with an id that carries the alert's identity is changed
    Case(
        "update_incident-search-answers-another-alerts-incident",
        before_the_run(
            update_incident(status="Closed"),
            searched_answer(lambda env: [env.xsoar.incident(env.incident_id) | {"CustomFields": {"alertid": "ALz"}}]),
        ),
        error=NOT_CARRIED,
        check=unchanged,
    ),
    Case(
        "update_incident-search-answers-an-incident-without-id",
        before_the_run(
            update_incident(status="Closed"),
            searched_answer(lambda env: [{"CustomFields": {"alertid": env.alert["short_id"]}}]),
        ),
        error=r"do not carry it \(ids: None; .*nothing is changed",
        check=unchanged,
    ),
    Case(
        "update_incident-search-answers-an-incident-with-an-empty-id",
        before_the_run(
            update_incident(comment="hello"),
            searched_answer(lambda env: [{"id": "", "CustomFields": {"alertid": env.alert["short_id"]}}]),
        ),
        error=NOT_CARRIED,
        check=unchanged,
    ),
    Case(
        "update_incident-search-answers-an-incident-with-an-object-id",
        before_the_run(
            update_incident(status="Closed"),
            searched_answer(lambda env: [{"id": {"n": 1}, "CustomFields": {"alertid": env.alert["short_id"]}}]),
        ),
        error=NOT_CARRIED,
        check=unchanged,
    ),
    Case(
        "update_incident-search-answers-another-alerts-incident-first-then-the-alerts",
        before_the_run(
            update_incident(status="Closed"),
            searched_answer(
                lambda env: [
                    {"id": "999", "created": "2020-01-01T00:00:00Z", "CustomFields": {"alertid": "ALz"}},
                    env.xsoar.incident(env.incident_id),
                ]
            ),
        ),
        check=all_of(
            action_was("closed"), lambda outcome: closed_ids(outcome) == [[outcome.extra["env"].incident_id]]
        ),
    ),
    Case(
        "update_incident-search-answers-nothing",
        before_the_run(update_incident(status="Closed", alert_uuid=None), search_answers()),
        check=all_of(action_was("not_found"), unchanged),
    ),
]


def sekoia_answers_another_alert(env: Env) -> None:
    """Sekoia.io answers the alert's GET with another alert (a proxy's cache, a server that misread the path)."""
    other = env.sekoia.add_alert(notify=False)
    body = json.dumps(other | {"status": {"name": "Ongoing", "uuid": "1f2f88d5-ff5b-48bf-bbbc-00c2fff82d9f"}})
    env.sekoia.faults.script(Fault(status=200, raw_body=body), method="GET", path_contains=env.alert["uuid"])


CLASS_4 += [
    Case(
        "update_alert-sekoia-answers-another-alert",
        update_alert(status="Closed") | {"setup": then(pair(), sekoia_answers_another_alert)},
        error=r"answered the request for alert .* with alert .*nothing is changed",
        check=unchanged,
    ),
    Case(
        "update_alert-sekoia-answers-another-alert-to-a-comment",
        update_alert(comment="hello") | {"setup": then(pair(), sekoia_answers_another_alert)},
        error=r"answered the request for alert .* with alert .*nothing is changed",
        check=unchanged,
    ),
]


def closed_ids(outcome: Outcome) -> list[list[str]]:
    return [json.loads(request["body"])["ids"] for request in requests_to(outcome, "/incident/batchClose")]


CASES = CLASS_1 + CLASS_2 + CLASS_2_NOTES + CLASS_3 + CLASS_4 + CLASS_5 + CLASS_6 + CLASS_8


@pytest.mark.parametrize("case", params(CASES))
def test_sync_actions(case, env, capfd):
    check_action_case(case, env, capfd, written=written_texts)


def written_texts(env: Env) -> dict[str, str]:
    """What the case wrote on either side, for the canary search: every war-room entry and close notes of XSOAR, the
    comments and status-change comments of the case's alert."""
    texts: dict[str, str] = {}
    for incident in env.xsoar.incidents:
        texts[f"close notes of incident {incident['id']}"] = str(incident.get("closeNotes") or "")
        for n, entry in enumerate(incident.get("entries") or []):
            texts[f"war-room entry {n} of incident {incident['id']}"] = str(entry.get("contents"))
    alert = getattr(env, "alert", None)
    if alert is not None:
        for n, comment in enumerate(env.sekoia.comments_of(alert["uuid"])):
            texts[f"comment {n} of alert {alert['short_id']}"] = str(comment.get("content"))
        for n, entry in enumerate(env.sekoia.history_of(alert["uuid"])):
            texts[f"status-change comment {n} of alert {alert['short_id']}"] = str(entry.get("comment") or "")
    return texts
