"""The XSOAR simulator for two-way sync: close, reopen, war-room entries, modified times and searches, authorship."""

import re
import time

import pytest
import requests

from lab.doubles.clock import ManualClock
from lab.doubles.xsoar import ZERO_TIME, XsoarSimulator
from lab.doubles.xsoar.queries import parse_time

KEY, KEY_ID, OTHER_KEY = "key-module", "42", "key-other"


@pytest.fixture(scope="module")
def running():
    with XsoarSimulator(api_key=KEY, api_key_id=KEY_ID, api_user="sekoia-module") as simulator:
        simulator.add_api_key(OTHER_KEY, "automation", "43")
        yield simulator


@pytest.fixture
def simulator(running: XsoarSimulator):
    running.reset()
    running.entries_touch_incidents = False
    running.clock = time.time
    yield running


@pytest.fixture
def clock(simulator: XsoarSimulator) -> ManualClock:
    """The simulator's times, moving only when a test moves them."""
    manual = ManualClock()
    simulator.clock = manual.now
    return manual


def post(simulator: XsoarSimulator, path: str, body: object, key: str = KEY, v8: bool = False) -> requests.Response:
    headers = {"Authorization": key} | ({"x-xdr-auth-id": KEY_ID} if v8 else {})
    base = simulator.url + ("/xsoar" if v8 else "")
    return requests.post(base + path, json=body, headers=headers, timeout=5)


def created(simulator: XsoarSimulator, investigation: bool = True, **fields) -> dict:
    body = {"name": "Alert", "createInvestigation": investigation} | fields
    answer = post(simulator, "/incident", body)
    assert answer.status_code == 200, answer.text
    return answer.json()


def found(simulator: XsoarSimulator, **search) -> list[str]:
    answer = post(simulator, "/incidents/search", {"filter": search})
    assert answer.status_code == 200, answer.text
    return [incident["id"] for incident in answer.json()["data"]]


def test_open_incidents_carry_the_zero_close_fields(simulator):
    incident = created(simulator)
    assert incident["status"] == 1 and incident["investigationId"] == incident["id"]
    assert (incident["closed"], incident["closeReason"], incident["closeNotes"], incident["closingUserId"]) == (
        ZERO_TIME,
        "",
        "",
        "",
    )
    pending = created(simulator, investigation=False)
    assert pending["status"] == 0 and pending["investigationId"] == ""


def test_batch_close_sets_status_reason_notes_time_and_the_closing_user(simulator, clock):
    incident = created(simulator, CustomFields={"alertid": "A"})
    clock.sleep(0.002)  # two milliseconds later: modified moves
    body = {"ids": [incident["id"], "99"], "closeReason": "Resolved", "closeNotes": "done", "CustomFields": {"n": 1}}
    answer = post(simulator, "/incident/batchClose", body, v8=True)
    assert answer.status_code == 200
    assert (answer.json()["total"], answer.json()["notUpdated"]) == (1, 1)
    [closed] = answer.json()["data"]
    assert (closed["status"], closed["closeReason"], closed["closeNotes"]) == (2, "Resolved", "done")
    assert closed["closingUserId"] == "sekoia-module" and closed["closed"] == closed["modified"]
    assert parse_time(closed["modified"]) > parse_time(incident["modified"])
    assert closed["version"] == incident["version"] + 1
    assert closed["CustomFields"] == {"alertid": "A", "n": 1}
    assert "activity" not in closed and "entries" not in closed


def test_entries_need_a_started_investigation_and_record_their_author(simulator):
    incident = created(simulator)
    entry = post(simulator, "/entry", {"investigationId": incident["id"], "data": "**hello**", "markdown": True})
    assert entry.status_code == 200
    assert entry.json() | {"created": "t", "modified": "t"} == {
        "id": f"1@{incident['id']}",
        "investigationId": incident["id"],
        "type": 1,
        "contents": "**hello**",
        "format": "markdown",
        "note": False,
        "user": "sekoia-module",
        "created": "t",
        "modified": "t",
        "version": 1,
        "tags": None,
    }
    other = post(simulator, "/entry", {"investigationId": incident["id"], "data": "plain"}, key=OTHER_KEY).json()
    assert (other["user"], other["format"], other["id"]) == ("automation", "text", f"2@{incident['id']}")
    pending = created(simulator, investigation=False)
    for target in (pending["id"], "999"):
        refused = post(simulator, "/entry", {"investigationId": target, "data": "x"})
        assert refused.status_code == 400 and "Could not find investigation" in refused.json()["error"]
    assert post(simulator, "/entry", {"investigationId": incident["id"]}).status_code == 400


def test_entries_leave_modified_alone_unless_told(simulator, clock):
    incident = created(simulator)
    clock.sleep(0.002)
    post(simulator, "/entry", {"investigationId": incident["id"], "data": "x"})
    assert simulator.incident(incident["id"])["modified"] == incident["modified"]
    simulator.entries_touch_incidents = True
    clock.sleep(0.002)
    post(simulator, "/entry", {"investigationId": incident["id"], "data": "y"})
    assert parse_time(simulator.incident(incident["id"])["modified"]) > parse_time(incident["modified"])


def test_entries_marked_as_notes_and_read_back_through_the_investigation(simulator):
    incident = created(simulator)
    entry = post(simulator, "/entry", {"investigationId": incident["id"], "data": "mine"}).json()
    simulator.note_as_person(incident["id"], "a person's note", user="j.doe")
    marked = post(simulator, "/entry/note", {"id": entry["id"], "investigationId": incident["id"], "data": "true"})
    assert marked.status_code == 200 and marked.json()["note"] is True and marked.json()["version"] == 2
    read = post(simulator, f"/investigation/{incident['id']}", {}, v8=True)
    assert read.status_code == 200
    body = read.json()
    assert [(e["contents"], e["note"], e["user"]) for e in body["entries"]] == [  # newest first
        ("a person's note", True, "j.doe"),
        ("mine", True, "sekoia-module"),
    ]
    assert body["users"] == ["j.doe", "sekoia-module"] and body["id"] == incident["id"]
    latest = post(simulator, f"/investigation/{incident['id']}", {"pageSize": 1}).json()["entries"]
    assert [e["contents"] for e in latest] == ["a person's note"]
    missing = post(simulator, "/investigation/999", {})
    assert missing.status_code == 400 and "Could not find investigation" in missing.json()["error"]
    wrong = post(simulator, "/entry/note", {"id": "9@1", "investigationId": incident["id"], "data": "true"})
    assert wrong.status_code == 400


def test_reopen_through_the_command_and_its_refusals(simulator):
    incident = created(simulator)
    run = {"investigationId": simulator.playground_id, "data": f"!reopenInvestigation id={incident['id']}"}
    not_closed = post(simulator, "/entry/execute/sync", run).json()
    assert [(e["type"], e["contents"]) for e in not_closed] == [(4, "Incident is not closed")]
    simulator.close_as_person(incident["id"], "False Positive", "noise")
    reopened = post(simulator, "/entry/execute/sync", run)
    assert reopened.status_code == 200 and [e["type"] for e in reopened.json()] == [1]
    assert [e["investigationId"] for e in reopened.json()] == [simulator.playground_id]
    stored = simulator.incident(incident["id"])
    assert (stored["status"], stored["closed"], stored["closingUserId"]) == (1, ZERO_TIME, "")
    assert (stored["closeReason"], stored["closeNotes"]) == ("False Positive", "noise")  # kept: stale after a reopen
    assert [(a["change"], a["user"]) for a in stored["activity"]] == [
        ("closed", "analyst"),
        ("reopened", "sekoia-module"),
    ]
    other = post(simulator, "/entry/execute/sync", run | {"data": "!closeInvestigation"}).json()
    assert other[0]["type"] == 4 and "closeInvestigation" in other[0]["contents"]
    chat = post(simulator, "/entry/execute/sync", run | {"data": "hello"}).json()
    assert [(e["type"], e["contents"], e["user"]) for e in chat] == [(1, "hello", "sekoia-module")]


def test_a_persons_changes_are_told_apart_from_the_keys(simulator):
    incident = created(simulator)
    simulator.close_as_person(incident["id"], "Duplicate", "seen before", user="j.doe")
    assert simulator.incident(incident["id"])["closingUserId"] == "j.doe"
    simulator.reopen_as_person(incident["id"], user="j.doe")
    with pytest.raises(ValueError):
        simulator.reopen_as_person(incident["id"])
    note = simulator.note_as_person(incident["id"], "typed", note=False)
    assert (note["user"], note["note"]) == ("analyst", False)
    post(simulator, "/incident/batchClose", {"ids": [incident["id"]], "closeReason": "Resolved"}, key=OTHER_KEY)
    stored = simulator.incident(incident["id"])
    assert stored["closingUserId"] == "automation"
    assert [a["user"] for a in stored["activity"]] == ["j.doe", "j.doe", "automation"]
    with pytest.raises(KeyError):
        simulator.close_as_person("999")


def test_search_by_modified_time_and_the_filters_dates_status_and_sort(simulator, clock):
    first, second, third = (created(simulator, CustomFields={"alertid": f"A{n}"}) for n in range(3))
    clock.sleep(0.002)
    simulator.close_as_person(first["id"])
    since = simulator.incident(first["id"])["modified"]
    simulator.note_as_person(second["id"], "no modified move")
    assert found(simulator, query=f'modified:>="{since}"') == [first["id"]]
    assert found(simulator, query=f'modified:>"{since}"') == []
    assert set(found(simulator, query=f'modified:<"{since}"')) == {second["id"], third["id"]}
    both = f'alertid:"A0" and modified:>="{second["created"]}"'
    assert found(simulator, query=both) == [first["id"]]
    assert found(simulator, query="", status=[2]) == [first["id"]]
    assert set(found(simulator, query="", notStatus=[2])) == {second["id"], third["id"]}
    assert found(simulator, query="", id=[third["id"]]) == [third["id"]]
    assert found(simulator, fromClosedDate=since) == [first["id"]]
    recent = found(simulator, fromDate=third["created"])
    assert third["id"] in recent and all(
        parse_time(simulator.incident(i)["created"]) >= parse_time(third["created"]) for i in recent
    )
    assert found(simulator, toDate="2000-01-01T00:00:00Z") == []
    ordered = found(simulator, sort=[{"field": "modified", "asc": False}])
    assert ordered[0] == first["id"]
    ascending = found(simulator, sort=[{"field": "id", "asc": True}])
    assert ascending == [first["id"], second["id"], third["id"]]


@pytest.mark.parametrize(
    "search",
    [{"fromDate": "yesterday"}, {"sort": "modified"}, {"sort": [{"asc": True}]}, {"query": "modified:>="}],
)
def test_bad_filters_are_refused(simulator, search):
    created(simulator)
    answer = post(simulator, "/incidents/search", {"filter": search})
    assert answer.status_code == 400 and answer.json()["error"]


def test_xsoar_8_keys_need_their_own_key_id(simulator):
    incident = created(simulator)
    body = {"investigationId": incident["id"], "data": "x"}
    headers = {"Authorization": OTHER_KEY, "x-xdr-auth-id": KEY_ID}
    refused = requests.post(simulator.url + "/xsoar/entry", json=body, headers=headers, timeout=5)
    assert refused.status_code == 401
    headers["x-xdr-auth-id"] = "43"
    accepted = requests.post(simulator.url + "/xsoar/public/v1/entry", json=body, headers=headers, timeout=5)
    assert accepted.status_code == 200 and accepted.json()["user"] == "automation"


def test_times_are_written_as_xsoar_does_with_trailing_zeros_dropped(simulator):
    incident = created(simulator)
    for stamp in (incident["created"], incident["modified"], incident["occurred"]):
        found_time = re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.(\d{1,6}))?Z", stamp)
        assert found_time and not (found_time[1] or "").endswith("0")


def test_a_closed_investigation_refuses_entries_and_commands_with_412(simulator):
    """Published rule (swagger): `POST /entry` and `POST /entry/execute/sync` answer 412 into a closed war room."""
    incident = created(simulator)
    simulator.close_as_person(incident["id"])
    for path, data in (("/entry", "a note"), ("/entry/execute/sync", "!reopenInvestigation")):
        refused = post(simulator, path, {"investigationId": incident["id"], "data": data})
        assert refused.status_code == 412 and refused.json()["error"] == "In case of closed investigation"
    assert simulator.incident(incident["id"])["entries"] == [] and simulator.incident(incident["id"])["status"] == 2


def test_reopen_investigation_runs_from_an_open_investigation_with_the_incidents_id(simulator):
    """Published rule (xsoar.pan.dev): `reopenInvestigation id=<incident>` reopens that incident; from another open
    incident's war room as from the Playground."""
    closed, other = created(simulator), created(simulator)
    simulator.close_as_person(closed["id"])
    command = {"investigationId": other["id"], "data": f'!reopenInvestigation id="{closed["id"]}"'}
    assert [e["type"] for e in post(simulator, "/entry/execute/sync", command).json()] == [1]
    assert simulator.incident(closed["id"])["status"] == 1 and simulator.incident(other["id"])["status"] == 1
    unknown = post(simulator, "/entry/execute/sync", command | {"data": "!reopenInvestigation id=999"}).json()
    assert [(e["type"], e["contents"]) for e in unknown] == [(4, "Could not find incident 999")]


def test_war_room_reads_honour_from_time_newest_first(simulator, clock):
    """Unconfirmed order and paging: the simulator answers newest first, so that no reader relies on oldest first."""
    incident = created(simulator)
    for text in ("one", "two", "three"):
        post(simulator, "/entry", {"investigationId": incident["id"], "data": text})
        clock.sleep(0.002)
    stored = simulator.incident(incident["id"])["entries"]
    read = post(simulator, f"/investigation/{incident['id']}", {"fromTime": stored[1]["created"]}).json()
    assert [e["contents"] for e in read["entries"]] == ["three", "two"]
    bad = post(simulator, f"/investigation/{incident['id']}", {"fromTime": "yesterday"})
    assert bad.status_code == 400 and "fromTime" in bad.json()["error"]


def test_the_simulator_s_clock_dates_creation_changes_closure_and_entries(simulator, clock):
    clock.at = 1_700_000_000.25
    incident = created(simulator)
    assert incident["created"] == incident["modified"] == "2023-11-14T22:13:20.25Z"
    clock.sleep(60)
    closed = simulator.close_as_person(incident["id"], user="bob")
    assert closed["closed"] == closed["modified"] == "2023-11-14T22:14:20.25Z"
    clock.sleep(0.5)
    assert simulator.note_as_person(incident["id"], "seen")["created"] == "2023-11-14T22:14:20.75Z"
    assert [a["at"] for a in simulator.incident(incident["id"])["activity"]] == ["2023-11-14T22:14:20.25Z"]
