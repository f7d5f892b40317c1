"""Hostile arguments and answers of the two sync actions (Update Incident, Update Alert), run as the platform runs
them: loose times (class 2 of issue 17), unbounded texts (class 5), secrets echoed by a server or quoted by a person
and carried across (class 6), history dates in the future or missing (class 8).

Besides the checks every case gets (`assert_clean`: no canary in the error, results, logs, outputs, files, requests
to other hosts), what each case wrote on the other side is searched too: every war-room entry and close notes of the
XSOAR simulator, every comment and status-change comment of the case's Sekoia.io alert.

To add a case, add a row to its class's list. The rows of the classes fixed on other branches (1: mirror tags forged by
a person's text, 3: a mapping to a status that cannot be set, 4: an incident of another alert in the search answer)
go in CLASS_1, CLASS_3 and CLASS_4 the same way.
"""

import json
import time
from typing import Any

import pytest

from lab.faults import Fault
from tests.hostile.conftest import Env, base_configuration, check_action_case
from tests.hostile.harness import Case, Outcome, params
from tests.support import SEKOIA_KEY, XSOAR_API_KEY
from xsoar_module.sync.marker import MARKER
from xsoar_module.sync.texts import xsoar_note_id

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
        stored = env.xsoar._store({"name": "hostile", "CustomFields": fields, "createInvestigation": True}, "api")
        env.incident_id = stored["id"]
        if closed:
            env.xsoar.close_as_person(stored["id"], "Resolved", "closed by a person")

    return setup


def then(*setups):
    def setup(env: Env) -> None:
        for step in setups:
            step(env)

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


def all_of(*checks):
    def check(outcome: Outcome) -> None:
        for each in checks:
            each(outcome)

    return check


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


# Rows of the classes fixed on other branches go here (see the module's docstring and the report of issue 17).
CLASS_1: list[Case] = []
CLASS_3: list[Case] = []
CLASS_4: list[Case] = []
CASES = CLASS_1 + CLASS_2 + CLASS_3 + CLASS_4 + CLASS_5 + CLASS_6 + CLASS_8


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
