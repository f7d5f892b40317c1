"""The sync's decisions, table-driven: snapshots and a change in, a decision out. No socket, no clock: the times are
data, the same-second cases among them."""

import ast
import subprocess
import sys
from pathlib import Path

import pytest

from xsoar_module.sync.decisions import (
    SekoiaChange,
    alert_contested,
    already_written,
    decide_alert,
    decide_incident,
    incident_contested,
    mirror_note_before,
    mirrored_in,
)
from xsoar_module.sync.marker import MARKER, made_by_module, marked, own_change
from xsoar_module.sync.snapshots import STATUS_ACTIVE, STATUS_CLOSED, Alert, Incident
from xsoar_module.sync.texts import closure_note, is_closure_note, is_reopen_note, reopen_note, war_room_entry
from xsoar_module.sync.times import same_second, whole_seconds

SYNC = Path(__file__).resolve().parent.parent / "xsoar_module" / "sync"
T = 1_900_000_000  # a second, as data: the decisions read no clock
AT_T = "2030-03-17T17:46:40Z"  # T as XSOAR writes it
MODULE, PERSON = "module-key", "person"


def incident(status: int = STATUS_ACTIVE, **fields: object) -> Incident:
    return Incident.of({"id": "7", "investigationId": "7", "status": status} | fields)


def closed_by_person(at: str = AT_T, reason: str = "Resolved") -> Incident:
    return incident(STATUS_CLOSED, closed=at, closeReason=reason, closeNotes="done", closingUserId="analyst")


def closed_by_module(reason: str = "Resolved") -> Incident:
    notes = marked("Sekoia.io alert ALx is Closed")
    return incident(STATUS_CLOSED, closed=AT_T, closeReason=reason, closeNotes=notes)


@pytest.mark.parametrize(
    ("snapshot", "status", "changed_at", "mirrors", "step", "superseded"),
    [
        (incident(), "Closed", None, (False, False), "close", False),  # open, closing status: closed
        (incident(), "Acknowledged", T, (False, False), None, False),  # open, open status: nothing
        (closed_by_person(), "Acknowledged", None, (False, False), "reopen", False),  # no time: applied as before
        (closed_by_person(), "Acknowledged", T + 1, (False, False), "reopen", False),  # the alert's change is later
        (closed_by_person(), "Acknowledged", T - 1, (False, False), None, True),  # the closure is later
        (closed_by_person(), "Acknowledged", T + 0.9, (False, False), None, True),  # same second: XSOAR's wins
        (closed_by_person(), "Acknowledged", T + 0.9, (True, False), "reopen", False),  # alert's followed the mirror
        (closed_by_person(), "Acknowledged", T + 0.9, (True, True), None, True),  # both did: XSOAR's wins
        (closed_by_module(), "Acknowledged", T - 5, (False, False), "reopen", False),  # the module's own closure
        (closed_by_person(reason="False Positive"), "Rejected", T + 5, (False, False), None, False),  # agrees
        (closed_by_person(), "Rejected", T + 5, (False, False), "close", False),  # another reason, later: closed
        (closed_by_person(), "Rejected", None, (False, False), None, False),  # another reason, no time: left
        (closed_by_person(), "Rejected", T - 5, (False, False), None, True),  # another reason, older: superseded
    ],
)
def test_decide_incident(snapshot, status, changed_at, mirrors, step, superseded):
    decision = decide_incident(snapshot, SekoiaChange("ALx", status, changed_at), *mirrors)
    assert decision.step == step
    assert (decision.superseded_by is not None) is superseded
    if superseded:
        assert decision.superseded_by == f"its closure as 'Resolved' by analyst at {AT_T}"
    if step == "close":
        assert decision.close_reason == {"Closed": "Resolved", "Rejected": "False Positive"}[status]


@pytest.mark.parametrize(
    ("snapshot", "status", "changed_at", "contested"),
    [
        (closed_by_person(), "Acknowledged", T + 0.5, True),  # a person's closure in the change's second
        (closed_by_person(), "Acknowledged", T + 1, False),  # the next second: the dates decide
        (closed_by_module(), "Acknowledged", T, False),  # the module's closure is no rival
        (closed_by_person(), "Acknowledged", None, False),  # no time: nothing to compare
        (closed_by_person(reason="False Positive"), "Rejected", T, False),  # nothing to do: nothing to read
        (incident(), "Closed", T, False),
    ],
)
def test_incident_contested_says_when_the_mirror_facts_are_read(snapshot, status, changed_at, contested):
    assert incident_contested(snapshot, SekoiaChange("ALx", status, changed_at)) is contested


def change(date: int, status: str, by: str, previous: str = "Pending") -> dict:
    """A status change as the history gives it; the module's carries its marker with its API key."""
    own = by == MODULE
    comments = [{"content": marked("mirrored"), "created_by": by, "created_by_type": "apikey"}] if own else []
    return {
        "date": date,
        "alert": {"status": status, "previous_status": previous},
        "created_by": by,
        "created_by_type": "apikey" if own else "user",
        "history_comments": comments,
    }


def alert(status: str, *history: dict) -> Alert:
    return Alert.of(
        {"uuid": "a-1", "short_id": "ALx", "status": {"name": status}, "updated_at": T, "history": list(history)}
    )


PERSON_ACK = alert("Acknowledged", change(T, "Acknowledged", PERSON))
MODULE_THEN_PERSON = alert("Acknowledged", change(T, "Closed", MODULE), change(T, "Acknowledged", PERSON, "Closed"))


@pytest.mark.parametrize(
    ("snapshot", "target", "changed_at", "identity", "follows", "applied", "superseded"),
    [
        (PERSON_ACK, "Acknowledged", T + 5, MODULE, False, None, False),  # already there: nothing
        (PERSON_ACK, "Closed", None, MODULE, False, "Closed", False),  # no time: applied as before
        (PERSON_ACK, "Closed", T + 1, MODULE, False, "Closed", False),  # the XSOAR change is later
        (PERSON_ACK, "Closed", T - 1, MODULE, False, None, True),  # the person's change is later
        (PERSON_ACK, "Closed", T + 0.5, MODULE, False, "Closed", False),  # same second: XSOAR's wins
        (MODULE_THEN_PERSON, "Closed", T + 0.5, MODULE, False, None, True),  # the person followed the mirror
        (MODULE_THEN_PERSON, "Closed", T + 0.5, MODULE, True, "Closed", False),  # so did the XSOAR change
        (MODULE_THEN_PERSON, "Closed", T + 0.5, None, False, None, True),  # the module known by its marker alone
        (alert("Closed", change(T, "Closed", MODULE)), "Acknowledged", T - 9, MODULE, False, "Acknowledged", False),
    ],
)
def test_decide_alert(snapshot, target, changed_at, identity, follows, applied, superseded):
    decision = decide_alert(snapshot, target, changed_at, identity, follows)
    assert decision.target == applied
    assert (decision.superseded_by is not None) is superseded
    if superseded:
        assert decision.superseded_by == f"its change to Acknowledged by user {PERSON} at {AT_T}"


@pytest.mark.parametrize(
    ("snapshot", "changed_at", "contested"),
    [
        (MODULE_THEN_PERSON, T + 0.5, True),  # follows_mirror decides: Update Alert reads it when not given
        (MODULE_THEN_PERSON, T + 1, False),
        (PERSON_ACK, T + 0.5, False),  # the person's change followed no mirror: XSOAR's wins whatever it followed
        (MODULE_THEN_PERSON, None, False),
    ],
)
def test_alert_contested_says_when_follows_mirror_matters(snapshot, changed_at, contested):
    assert alert_contested(snapshot, changed_at, MODULE) is contested


@pytest.mark.parametrize(
    ("target", "note", "is_note"),
    [
        ("Closed", reopen_note("ALx", "Acknowledged"), is_reopen_note),
        ("Acknowledged", closure_note("ALx", "Closed", "Resolved"), is_closure_note),
    ],
)
def test_the_mirror_a_change_may_follow(target, note, is_note):
    assert mirror_note_before(target) is is_note and is_note(note)


@pytest.mark.parametrize(
    ("entries", "held"),
    [
        ([{"contents": war_room_entry({"uuid": "c-1", "content": "seen"}, "ALx")}], True),
        ([{"contents": war_room_entry({"uuid": "c-1", "content": "seen"}, "ALx"), "note": True}], False),  # a note
        ([{"contents": f"Sekoia.io comment c-1 seen {MARKER}", "note": True}], False),  # a person quoting it all
        ([{"contents": war_room_entry({"uuid": "c-2", "content": "seen"}, "ALx")}], False),  # another comment
        ([], False),
    ],
)
def test_mirrored_in_the_war_room(entries, held):
    assert mirrored_in(entries, {"uuid": "c-1", "content": "seen"}) is held


@pytest.mark.parametrize(
    ("by", "by_type", "identity", "text", "own"),
    [
        (MODULE, "apikey", MODULE, "no marker", True),  # the module's identity
        ("other-key", "apikey", MODULE, marked("x"), True),  # an API key with the marker
        (PERSON, "user", MODULE, marked("x"), False),  # a person quoting the marker
        ("other-key", "apikey", None, "no marker", False),
    ],
)
def test_own_change_is_defined_once(by, by_type, identity, text, own):
    record = {"created_by": by, "created_by_type": by_type, "content": text}
    assert made_by_module(record, identity, [text]) is own
    assert own_change(by, identity, by_type == "apikey" and MARKER in text) is own


def test_already_written_by_note_id_or_text_and_never_a_persons():
    mine = {"content": marked("hello\n\n(ann in Cortex XSOAR, XSOAR note 12)"), "created_by_type": "apikey"}
    persons = {"content": marked("quoted (XSOAR note 13)"), "created_by_type": "user"}
    assert already_written([mine], [], None, "other", "12")
    assert not already_written([persons], [], None, "other", "13")
    assert already_written([], [mine], None, mine["content"], None)


@pytest.mark.parametrize(("first", "second", "same"), [(T, T + 0.999, True), (T - 0.001, T, False), (T + 1, T, False)])
def test_whole_seconds(first, second, same):
    assert same_second(first, second) is same and whole_seconds(T + 0.5) == T


@pytest.mark.parametrize(
    "raw",
    [
        {"id": 7, "status": "2", "closed": 5, "CustomFields": None, "closeNotes": ["x"]},  # odd types read as absent
        {"id": "7"},
    ],
)
def test_incident_snapshot_reads_leniently(raw):
    snapshot = Incident.of(raw)
    assert snapshot.id == "7" and not snapshot.is_closed and snapshot.closed_at is None
    assert snapshot.custom_fields == {} and snapshot.war_room == "7" and snapshot.raw is raw


def test_alert_snapshot_reads_leniently():
    snapshot = Alert.of({"status": {"name": "no such status"}, "comments": [1, {"content": "c"}], "history": "?"})
    assert snapshot.status is None and snapshot.comments == [{"content": "c"}] and snapshot.history_comments == []


FORBIDDEN = ("xsoar_module.clients", "xsoar_module.triggers", "xsoar_module.actions", "lab", "requests", "websockets")


def test_the_sync_package_imports_no_client_http_or_trigger_code():
    """Read from its source (every import, lazy ones too) and from what importing all of it loads."""
    for module in SYNC.glob("*.py"):
        for node in ast.walk(ast.parse(module.read_text())):
            names = [node.module or ""] if isinstance(node, ast.ImportFrom) else []
            names += [alias.name for alias in node.names] if isinstance(node, ast.Import) else []
            assert not [name for name in names if name.startswith(FORBIDDEN)], module.name
    modules = [f"xsoar_module.sync.{module.stem}" for module in SYNC.glob("*.py") if module.stem != "__init__"]
    code = f"import sys\nfor m in {modules!r}: __import__(m)\nprint('\\n'.join(sys.modules))"
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert len(modules) >= 8 and "xsoar_module.sync.decisions" in loaded
    assert [name for name in loaded if name.startswith(FORBIDDEN) or name.startswith("urllib3")] == []


def imports_of(path: Path, modules: set[str]) -> set[str]:
    """The modules of `modules` a file imports, lazily or not (TYPE_CHECKING too)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module:
            found |= {
                name for name in (node.module, *(f"{node.module}.{a.name}" for a in node.names)) if name in modules
            }
        elif isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names if alias.name in modules}
    return found


def test_no_import_cycle_in_xsoar_module():
    """Reading, deciding and writing split the actions into modules: none imports back the one that imports it."""
    package = SYNC.parent
    files = {
        ".".join(f.relative_to(package.parent).with_suffix("").parts).removesuffix(".__init__"): f
        for f in package.rglob("*.py")
    }
    graph = {name: imports_of(path, set(files)) for name, path in files.items()}

    def reaches(start: str, target: str, seen: set[str]) -> bool:
        return any(
            step == target or (step not in seen and not seen.add(step) and reaches(step, target, seen))
            for step in graph[start]
        )

    assert len(graph) > 60 and "xsoar_module.sync.decisions" in graph["xsoar_module.actions.incident_sync"]
    assert [name for name in graph if reaches(name, name, set())] == []
