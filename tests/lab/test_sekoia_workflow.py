"""The Sekoia.io simulator's alert workflow, comments and history (SEKOIA.md section 8): the documented transitions
(Closed and Rejected final), the real samples' shapes, authors, LiveAPI."""

import json
import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
import requests
from websockets.sync.client import ClientConnection, connect

from lab.doubles.sekoia import SekoiaSimulator
from lab.doubles.sekoia.workflow import PERMISSIVE_WORKFLOW, STATUS_UUIDS, WORKFLOW

KEY, OTHER_KEY = "key-module-1", "key-automation-2"
ACKNOWLEDGE, VALIDATE, REJECT, CLOSE = (
    "937bdabf-6a08-434b-b6d3-d7447e4e452a",
    "c39a0a95-aa2c-4d0d-8d2e-d3decf426eea",
    "ade85d7b-7507-4026-bfc6-cc006d10ddac",
    "1390be4e-ced8-4dd6-9bed-573471b235ab",
)


@pytest.fixture
def simulator():
    with SekoiaSimulator(api_key=KEY) as running:
        yield running


def call(simulator: SekoiaSimulator, method: str, path: str, key: str = KEY, **kwargs) -> requests.Response:
    headers = {"Authorization": f"Bearer {key}"}
    return requests.request(method, simulator.url + path, headers=headers, timeout=5, **kwargs)


def actions(simulator: SekoiaSimulator, alert_id: str) -> list[str]:
    answer = call(simulator, "GET", f"/v1/sic/alerts/{alert_id}/workflow")
    assert answer.status_code == 200, answer.text
    return [action["name"] for action in answer.json()["actions"]]


def patch(simulator: SekoiaSimulator, alert_id: str, action: str, key: str = KEY, **body) -> requests.Response:
    return call(
        simulator, "PATCH", f"/api/v1/sic/alerts/{alert_id}/workflow", key, json={"action_uuid": action} | body
    )


@contextmanager
def live(simulator: SekoiaSimulator) -> Iterator[ClientConnection]:
    with connect(simulator.liveapi_url, additional_headers={"Cookie": f"access_token_cookie={KEY}"}) as socket:
        assert json.loads(socket.recv(timeout=5)) == {"authenticated": True}
        socket.send(json.dumps({"action": "upgrade"}))
        simulator.wait_for_clients(1, timeout=5)
        yield socket


def test_a_pending_alert_offers_the_documented_actions_with_their_ids(simulator):
    alert = simulator.add_alert(notify=False)
    answer = call(simulator, "GET", f"/v1/sic/alerts/{alert['short_id']}/workflow").json()
    assert answer == {
        "actions": [
            {"id": ACKNOWLEDGE, "name": "Acknowledge", "description": "Acknowledge the alert"},
            {"id": VALIDATE, "name": "Validate", "description": "Validate the alert"},
            {"id": REJECT, "name": "Reject", "description": "Reject the alert"},
        ]
    }


DOCUMENTED = {  # docs.sekoia.io, investigate / alerts: the actions open from each status, and where each leads
    "Pending": {ACKNOWLEDGE: "Acknowledged", VALIDATE: "Ongoing", REJECT: "Rejected"},
    "Acknowledged": {VALIDATE: "Ongoing", REJECT: "Rejected"},
    "Ongoing": {CLOSE: "Closed", REJECT: "Rejected"},
    "Closed": {},
    "Rejected": {},
}
WAY_TO = {"Pending": [], "Acknowledged": [ACKNOWLEDGE], "Ongoing": [VALIDATE], "Closed": [VALIDATE, CLOSE]}
WAY_TO["Rejected"] = [REJECT]


@pytest.mark.parametrize("status", list(DOCUMENTED))
@pytest.mark.parametrize("action", [ACKNOWLEDGE, VALIDATE, REJECT, CLOSE])
def test_each_status_offers_and_takes_only_the_documented_transitions(simulator, status, action):
    """Fails if the simulator goes back to a kinder workflow (Close from Pending, Acknowledge from Closed...)."""
    alert = simulator.add_alert(notify=False)
    for step in WAY_TO[status]:
        assert patch(simulator, alert["uuid"], step).status_code == 200
    assert simulator.status_of(alert["uuid"]) == status
    offered = call(simulator, "GET", f"/v1/sic/alerts/{alert['uuid']}/workflow").json()["actions"]
    assert {entry["id"] for entry in offered} == set(DOCUMENTED[status])
    answer = patch(simulator, alert["uuid"], action)
    if action in DOCUMENTED[status]:
        assert answer.status_code == 200 and simulator.status_of(alert["uuid"]) == DOCUMENTED[status][action]
    else:
        assert answer.status_code == 400 and "is not available for an alert in status" in answer.json()["message"]
        assert simulator.status_of(alert["uuid"]) == status
        assert len(simulator.history_of(alert["uuid"])) == len(WAY_TO[status])


def test_a_person_cannot_reopen_a_final_alert_either(simulator):
    alert = simulator.add_alert(notify=False)
    simulator.change_status_as_person(alert["uuid"], "Rejected")
    for status in ("Acknowledged", "Ongoing", "Closed", "Pending"):
        with pytest.raises(ValueError, match=f"from Rejected to {status}"):
            simulator.change_status_as_person(alert["uuid"], status)


def test_an_action_moves_the_alert_and_records_who_and_when(simulator):
    alert = simulator.add_alert(notify=False, updated_at=1_700_000_000)
    answer = patch(simulator, alert["uuid"], VALIDATE, comment="on it")
    assert answer.status_code == 200 and answer.json() == {}
    stored = call(simulator, "GET", f"/v1/sic/alerts/{alert['uuid']}").json()  # history and comments: no flag needed
    assert stored["status"] == {"uuid": STATUS_UUIDS["Ongoing"], "name": "Ongoing", "description": "Ongoing alert"}
    assert isinstance(stored["updated_at"], int) and stored["updated_at"] > 1_700_000_000
    [entry] = stored["history"]
    module = simulator.actor_of(KEY)
    assert set(entry) == {
        "uuid",
        "created_at",
        "created_by",
        "created_by_type",
        "entry_type",
        "alert",
        "history_comments",
    }
    assert entry["alert"] == {"status": "Ongoing", "previous_status": "Pending"} and entry["entry_type"] == "alert"
    assert (entry["created_by"], entry["created_by_type"]) == (module.uuid, "apikey")
    assert isinstance(entry["created_at"], int) and entry["created_at"] >= stored["updated_at"] - 1
    [told] = entry["history_comments"]
    [comment] = stored["comments"]  # the transition's comment is also an alert comment, the same uuid
    assert told == {key: value for key, value in comment.items() if key != "unseen"}
    assert (told["content"], told["author"], told["created_by_type"]) == ("on it", f"apikey:{module.uuid}", "apikey")
    assert stored["updated_by"] == module.uuid and call(simulator, "GET", "/v1/me").json()["uuid"] == module.uuid
    assert actions(simulator, alert["uuid"]) == ["Close", "Reject"]


def test_the_history_lists_the_newest_first_with_comment_entries(simulator):
    alert = simulator.add_alert(notify=False)
    simulator.change_status_as_person(alert["uuid"], "Acknowledged", person="j.doe")
    typed = simulator.comment_as_person(alert["uuid"], "looking", person="j.doe")
    assert patch(simulator, alert["uuid"], REJECT).status_code == 200
    history = call(simulator, "GET", f"/v1/sic/alerts/{alert['uuid']}").json()["history"]
    assert [entry["entry_type"] for entry in history] == ["alert", "comment", "alert"]
    assert [entry["created_at"] for entry in history] == sorted((e["created_at"] for e in history), reverse=True)
    assert history[0]["alert"] == {"status": "Rejected", "previous_status": "Acknowledged"}
    person = simulator.person("j.doe")
    assert history[1] == {
        "uuid": history[1]["uuid"],
        "created_at": typed["date"],
        "created_by": person.uuid,
        "created_by_type": "user",
        "entry_type": "comment",
        "comment": {"uuid": typed["uuid"], "status": "created", "display_name": person.author, "content": "looking"},
        "history_comments": [],
    }
    assert history == simulator.history_of(alert["uuid"])


def test_me_can_answer_without_an_identity():
    with SekoiaSimulator(api_key=KEY, me_identity=False) as anonymous:
        body = call(anonymous, "GET", "/v1/me").json()
        assert "uuid" not in body and "id" not in body and body["type"] == "apikey"


def test_status_uuids_are_accepted_as_sekoias_library_sends_them(simulator):
    alert = simulator.add_alert(notify=False)
    for status in ("Ongoing", "Closed"):
        assert patch(simulator, alert["uuid"], STATUS_UUIDS[status]).status_code == 200
    assert simulator.status_of(alert["uuid"]) == "Closed" and actions(simulator, alert["uuid"]) == []
    assert [e["alert"]["status"] for e in simulator.history_of(alert["uuid"])] == ["Closed", "Ongoing"]


@pytest.mark.parametrize(
    "body",
    [
        {"action_uuid": ACKNOWLEDGE},
        {"action_uuid": STATUS_UUIDS["Acknowledged"]},
        {"action_uuid": "no-such-action"},
        {},
    ],
)
def test_a_transition_not_open_is_refused_and_changes_nothing(simulator, body):
    alert = simulator.add_alert(notify=False)
    assert patch(simulator, alert["uuid"], REJECT).status_code == 200
    answer = call(simulator, "PATCH", f"/v1/sic/alerts/{alert['uuid']}/workflow", json=body)
    assert answer.status_code == 400 and answer.json()["message"]
    assert simulator.status_of(alert["uuid"]) == "Rejected" and len(simulator.history_of(alert["uuid"])) == 1


def test_unknown_alert_and_bad_bodies(simulator):
    assert call(simulator, "GET", "/v1/sic/alerts/ALnope/workflow").status_code == 404
    assert patch(simulator, "ALnope", ACKNOWLEDGE).status_code == 404
    assert call(simulator, "GET", "/v1/sic/alerts/ALnope/comments").status_code == 404
    assert call(simulator, "POST", "/v1/sic/alerts/ALnope/comments", json={"content": "x"}).status_code == 404
    alert = simulator.add_alert(notify=False)
    path = f"/v1/sic/alerts/{alert['uuid']}/workflow"
    assert call(simulator, "PATCH", path, data=b"not json").status_code == 400
    assert call(simulator, "PATCH", path, json={"action_uuid": ACKNOWLEDGE, "comment": 3}).status_code == 400
    assert call(simulator, "PATCH", path, "wrong-key", json={"action_uuid": ACKNOWLEDGE}).status_code == 401


def test_the_permissive_workflow_only_when_asked_for():
    assert SekoiaSimulator(api_key=KEY).workflow is WORKFLOW
    with SekoiaSimulator(api_key=KEY, workflow=PERMISSIVE_WORKFLOW) as permissive:
        alert = permissive.add_alert(notify=False)
        assert patch(permissive, alert["uuid"], CLOSE).status_code == 200
        assert actions(permissive, alert["uuid"]) == ["Acknowledge"]
    assert set(WORKFLOW) == set(PERMISSIVE_WORKFLOW) == set(STATUS_UUIDS)


def test_comments_shapes_authors_and_reading_one(simulator):
    alert = simulator.add_alert(notify=False)
    path = f"/v1/sic/alerts/{alert['short_id']}/comments"
    empty = call(simulator, "GET", path).json()
    assert empty == {"items": [], "total": 0}
    module = simulator.actor_of(KEY)
    first = call(simulator, "POST", path, json={"content": "From XSOAR", "author": "XSOAR"}).json()
    assert set(first) == {"uuid", "content", "author", "date", "created_by", "created_by_type", "unseen"}
    assert (first["author"], first["created_by"], first["created_by_type"]) == ("XSOAR", module.uuid, "apikey")
    assert isinstance(first["date"], int) and first["unseen"] is False
    unnamed = call(simulator, "POST", path, json={"content": "no author"}).json()
    assert unnamed["author"] == f"apikey:{module.uuid}"
    person = simulator.comment_as_person(alert["uuid"], "A human note", person="j.doe")
    assert person["created_by_type"] == "user" and person["created_by"] == simulator.person("j.doe").uuid
    listed = call(simulator, "GET", path).json()
    assert listed["total"] == 3 and [c["uuid"] for c in listed["items"]] == [
        first["uuid"],
        unnamed["uuid"],
        person["uuid"],
    ]
    assert call(simulator, "GET", f"{path}/{person['uuid']}").json() == person
    assert call(simulator, "GET", f"{path}/00000000-0000-0000-0000-000000000000").status_code == 404
    fetched = call(simulator, "GET", f"/v1/sic/alerts/{alert['uuid']}").json()
    assert fetched["number_of_total_comments"] == 3 and fetched["comments"] == listed["items"]
    entries = [entry["comment"]["uuid"] for entry in reversed(fetched["history"])]
    assert entries == [first["uuid"], unnamed["uuid"], person["uuid"]]


@pytest.mark.parametrize(
    "body", [{"content": "x", "author": "a" * 33}, {"content": ""}, {"content": None}, {"author": "x"}, ["content"]]
)
def test_bad_comments_are_refused(simulator, body):
    alert = simulator.add_alert(notify=False)
    answer = call(simulator, "POST", f"/v1/sic/alerts/{alert['uuid']}/comments", json=body)
    assert answer.status_code == 400 and answer.json()["message"]
    assert simulator.comments_of(alert["uuid"]) == []


def test_an_author_of_32_characters_is_accepted(simulator):
    alert = simulator.add_alert(notify=False)
    answer = call(
        simulator, "POST", f"/v1/sic/alerts/{alert['uuid']}/comments", json={"content": "x", "author": "a" * 32}
    )
    assert answer.status_code == 200 and answer.json()["author"] == "a" * 32


def test_several_keys_tell_the_modules_changes_from_others(simulator):
    other = simulator.add_api_key(OTHER_KEY)
    alert = simulator.add_alert(notify=False)
    assert patch(simulator, alert["uuid"], ACKNOWLEDGE, key=OTHER_KEY).status_code == 200
    simulator.change_status_as_person(alert["uuid"], "Ongoing", person="j.doe", comment="mine")
    assert patch(simulator, alert["uuid"], CLOSE).status_code == 200
    who = [(e["created_by"], e["created_by_type"]) for e in reversed(simulator.history_of(alert["uuid"]))]
    assert who == [
        (other.uuid, "apikey"),
        (simulator.person("j.doe").uuid, "user"),
        (simulator.actor_of(KEY).uuid, "apikey"),
    ]
    assert other.uuid != simulator.actor_of(KEY).uuid
    assert call(simulator, "GET", "/v1/me", OTHER_KEY).json()["uuid"] == other.uuid


def test_a_person_can_only_take_open_transitions(simulator):
    alert = simulator.add_alert(notify=False)
    with pytest.raises(ValueError, match="from Pending to Closed"):
        simulator.change_status_as_person(alert["uuid"], "Closed")
    with pytest.raises(KeyError):
        simulator.comment_as_person("ALnope", "x")


def test_liveapi_says_every_status_change_and_comment_whoever_made_it(simulator):
    alert = simulator.add_alert(notify=False)
    with live(simulator) as socket:
        simulator.change_status_as_person(alert["short_id"], "Acknowledged")
        assert patch(simulator, alert["uuid"], REJECT).status_code == 200
        posted = call(simulator, "POST", f"/v1/sic/alerts/{alert['uuid']}/comments", json={"content": "api"}).json()
        typed = simulator.comment_as_person(alert["uuid"], "person")
        messages = [json.loads(socket.recv(timeout=5)) for _ in range(4)]
    identity = {"uuid": alert["uuid"], "short_id": alert["short_id"]}
    assert [(m["type"], m["action"]) for m in messages] == [("alert", "updated")] * 2 + [
        ("alert-comment", "created")
    ] * 2
    assert messages[1]["attributes"] == identity | {
        "updated": {"status": STATUS_UUIDS["Rejected"], "status_name": "Rejected"}
    }
    assert messages[0]["attributes"]["updated"] == {
        "status": STATUS_UUIDS["Acknowledged"],
        "status_name": "Acknowledged",
    }
    for message, comment in zip(messages[2:], (posted, typed), strict=True):
        assert message["attributes"] == {
            "uuid": comment["uuid"],
            "alert_uuid": alert["uuid"],
            "alert_short_id": alert["short_id"],
            "content": comment["content"],
            "created_by": comment["created_by"],
            "created_by_type": comment["created_by_type"],
        }
    assert all(m["metadata"]["version"] == 2 for m in messages)


def test_liveapi_accepts_any_known_key(simulator):
    simulator.add_api_key(OTHER_KEY)
    with connect(simulator.liveapi_url, additional_headers={"Cookie": f"access_token_cookie={OTHER_KEY}"}) as socket:
        assert json.loads(socket.recv(timeout=5)) == {"authenticated": True}


def test_alerts_listed_by_update_time_for_a_catch_up(simulator):
    old = simulator.add_alert(notify=False, updated_at=int(time.time()) - 3600)
    untouched = simulator.add_alert(notify=False, updated_at=int(time.time()) - 3600)
    since = int(time.time()) - 60
    simulator.comment_as_person(untouched["uuid"], "comments do not move updated_at here")
    assert patch(simulator, old["uuid"], ACKNOWLEDGE).status_code == 200
    fresh = simulator.add_alert(notify=False)
    start = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(since))
    params = {"date[updated_at]": f"{start},now", "sort": "updated_at", "direction": "asc", "limit": 100}
    listed = call(simulator, "GET", "/v1/sic/alerts", params=params).json()
    assert {item["uuid"] for item in listed["items"]} >= {old["uuid"], fresh["uuid"]}
    assert untouched["uuid"] not in {item["uuid"] for item in listed["items"]}
    stamps = [item["updated_at"] for item in listed["items"]]
    assert stamps == sorted(stamps) and all(stamp >= since for stamp in stamps)


def test_comments_can_be_told_to_move_the_update_time(simulator):
    alert = simulator.add_alert(notify=False, updated_at=1_700_000_000)
    simulator.comment_as_person(alert["uuid"], "still old")
    assert simulator.alerts()[-1]["updated_at"] == 1_700_000_000
    simulator.comments_touch_alerts = True
    comment = simulator.comment_as_person(alert["uuid"], "now fresh")
    assert simulator.alerts()[-1]["updated_at"] == comment["date"]


def test_a_transition_comment_is_notified_as_an_alert_comment_too(simulator):
    alert = simulator.add_alert(notify=False)
    with live(simulator) as socket:
        assert patch(simulator, alert["uuid"], REJECT, comment="false alarm").status_code == 200
        status, comment = (json.loads(socket.recv(timeout=5)) for _ in range(2))
    assert status["attributes"]["updated"]["status_name"] == "Rejected"
    [stored] = simulator.comments_of(alert["uuid"])
    assert (comment["type"], comment["action"]) == ("alert-comment", "created")
    assert comment["attributes"]["uuid"] == stored["uuid"] and comment["attributes"]["content"] == "false alarm"
    [entry] = simulator.history_of(alert["uuid"])
    assert entry["history_comments"][0]["uuid"] == stored["uuid"]
