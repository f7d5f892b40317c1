"""The demo's sync round: five changes, two made as a person on each side and one by Sekoia.io's dynamic urgency,
each crossing to the other side once.

One incident closed in XSOAR closes its alert in Sekoia.io, one alert rejected in Sekoia.io closes its incident, one
Sekoia.io comment becomes a war-room entry and one war-room note becomes an alert comment; one alert's urgency rises
from Moderate to Urgent with two more occurrences, and its incident's severity follows, with the new events. Then the
round waits for
two more polls of Incident Updated (and the LiveAPI, which pushes at once): the module's own mirrored changes went
past both triggers, so any echo would have started a run by then.
"""

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from typing import Any

from lab.doubles.sekoia import SekoiaSimulator
from lab.doubles.xsoar import STATUS_CLOSED, XsoarSimulator
from lab.tools.chain import Chain
from lab.tools.playbook import REPO_ROOT, load_playbook
from lab.tools.runner import FinishedRun

SYNC_PLAYBOOKS = (
    REPO_ROOT / "playbooks" / "sync_alert_changes_to_xsoar.json",
    REPO_ROOT / "playbooks" / "sync_incident_changes_to_sekoia.json",
)

CLOSE_NOTES = "Host reimaged, no lateral movement found."
ALERT_COMMENT = "Seen on the proxy too: the domain is now blocked."
INCIDENT_NOTE = "Called the user: the download was not theirs, password reset."
URGENCY_BEFORE, URGENCY_AFTER = 25, 88  # Moderate (XSOAR severity 2) -> Urgent (4)
EVENTS_BEFORE, NEW_EVENTS = 2, 2
CHANGES = 5


@cache
def sync_playbook_names() -> frozenset[str]:
    return frozenset(load_playbook(path).name for path in SYNC_PLAYBOOKS)


@dataclass(frozen=True)
class Pair:
    """An alert and the incident the creation playbook made for it."""

    short_id: str
    incident_id: str


@dataclass(frozen=True)
class SyncRoundReport:
    pairs: list[Pair]
    crossed: list[str]  # the changes that reached the other side
    sync_runs: int  # runs of the sync playbooks: one per change when there is no echo
    failed_runs: int
    seconds: float

    @property
    def echoes(self) -> int:
        return max(0, self.sync_runs - CHANGES)

    @property
    def ok(self) -> bool:
        return len(self.crossed) == CHANGES and self.sync_runs == CHANGES and self.failed_runs == 0

    def line(self) -> str:
        return (
            f"sync round: {CHANGES} change(s) ({CHANGES - 1} made as a person, 1 by Sekoia.io's dynamic urgency), "
            f"{len(self.crossed)} crossed, "
            f"{self.sync_runs} sync run(s) ({self.failed_runs} failed), {self.echoes} echo(es), "
            f"in {self.seconds:.2f} s"
        )


def sekoia_status(sekoia: SekoiaSimulator, alert_id: str) -> str:
    """The alert's status name."""
    return sekoia.status_of(alert_id)


def comment_texts(sekoia: SekoiaSimulator, alert_id: str) -> list[str]:
    return [comment["content"] for comment in sekoia.comments_of(alert_id)]


def entry_texts(xsoar: XsoarSimulator, incident_id: str) -> list[str]:
    return [entry["contents"] for entry in xsoar.incident(incident_id)["entries"]]


def incident_of(xsoar: XsoarSimulator, short_id: str) -> str | None:
    return next((row["id"] for row in xsoar.summary() if row["alertId"] == short_id), None)


def wait_until(condition: Callable[[], bool], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def round_pairs(chain: Chain, alerts: list[dict[str, Any]], timeout: float) -> list[Pair]:
    """Five alerts with their incidents: four of the demo's own (new ones when it raised fewer), and a Moderate one
    whose urgency will rise."""
    short_ids = [alert["short_id"] for alert in alerts[: CHANGES - 1]]
    short_ids += [chain.sekoia.add_alert(events=1)["short_id"] for _ in range(CHANGES - 1 - len(short_ids))]
    moderate = {"current_value": URGENCY_BEFORE, "value": URGENCY_BEFORE, "display": "Moderate"}
    short_ids.append(chain.sekoia.add_alert(events=EVENTS_BEFORE, urgency=moderate)["short_id"])
    wait_until(lambda: all(incident_of(chain.xsoar, short_id) for short_id in short_ids), timeout)
    return [Pair(short_id, incident_of(chain.xsoar, short_id) or "") for short_id in short_ids]


def expectations(chain: Chain, pairs: list[Pair]) -> dict[str, Callable[[], bool]]:
    """What each change looks like once it crossed, by change."""
    sekoia, xsoar = chain.sekoia, chain.xsoar
    closed, rejected, commented, noted, risen = pairs

    def alert_closed() -> bool:
        return sekoia_status(sekoia, closed.short_id) == "Closed"

    def incident_closed() -> bool:
        incident = xsoar.incident(rejected.incident_id)
        return incident["status"] == STATUS_CLOSED and incident["closeReason"] == "False Positive"

    def comment_mirrored() -> bool:
        return any(ALERT_COMMENT in text for text in entry_texts(xsoar, commented.incident_id))

    def note_mirrored() -> bool:
        return any(INCIDENT_NOTE in text for text in comment_texts(sekoia, noted.short_id))

    def severity_followed() -> bool:
        incident = xsoar.incident(risen.incident_id)
        return (incident["severity"], incident["CustomFields"].get("sekoiaiourgency")) == (4, URGENCY_AFTER) and (
            event_count(incident) == EVENTS_BEFORE + NEW_EVENTS
        )

    return {
        f"incident {closed.incident_id} closed in XSOAR -> alert {closed.short_id} Closed": alert_closed,
        f"alert {rejected.short_id} rejected -> incident {rejected.incident_id} closed as False Positive": (
            incident_closed
        ),
        f"comment on alert {commented.short_id} -> war-room entry of incident {commented.incident_id}": (
            comment_mirrored
        ),
        f"note in incident {noted.incident_id} -> comment on alert {noted.short_id}": note_mirrored,
        f"alert {risen.short_id} urgency {URGENCY_BEFORE} -> {URGENCY_AFTER} with {NEW_EVENTS} more events -> "
        f"incident {risen.incident_id} severity 2 -> 4, its events appended": severity_followed,
    }


def make_changes(chain: Chain, pairs: list[Pair]) -> None:
    """The five changes: four as a person in the web app of its side, then Sekoia.io raising an urgency."""
    closed, rejected, commented, noted, risen = pairs
    chain.xsoar.close_as_person(closed.incident_id, reason="Resolved", notes=CLOSE_NOTES)
    chain.sekoia.change_status_as_person(rejected.short_id, "Rejected")
    chain.sekoia.comment_as_person(commented.short_id, ALERT_COMMENT)
    chain.xsoar.note_as_person(noted.incident_id, INCIDENT_NOTE)
    chain.sekoia.change_urgency(risen.short_id, URGENCY_AFTER, new_events=NEW_EVENTS)


def event_count(incident: dict[str, Any]) -> int:
    """The events the incident carries (the pack's events field, JSON text)."""
    events = incident["CustomFields"].get("sekoiaioevents")
    parsed = json.loads(events) if isinstance(events, str) and events else events
    return len(parsed) if isinstance(parsed, list) else 0


def alert_urgency(sekoia: SekoiaSimulator, short_id: str) -> Any:
    alert = next((alert for alert in sekoia.alerts() if alert.get("short_id") == short_id), {})
    return (alert.get("urgency") or {}).get("current_value")


def after_polls(xsoar: XsoarSimulator, polls: int, timeout: float) -> bool:
    """Wait until Incident Updated searched XSOAR `polls` more times."""
    searches = xsoar.count("POST", "/incidents/search")
    return wait_until(lambda: xsoar.count("POST", "/incidents/search") >= searches + polls, timeout)


def run_sync_round(
    chain: Chain, alerts: list[dict[str, Any]], finished: list[FinishedRun], timeout: float = 60.0
) -> SyncRoundReport:
    """Make the five changes, wait until each crossed, then two more polls; `finished` lists the runs (observer)."""
    pairs = round_pairs(chain, alerts, timeout)
    before = len(finished)
    started = time.monotonic()
    make_changes(chain, pairs)
    expected = expectations(chain, pairs)
    wait_until(lambda: all(check() for check in expected.values()), timeout)
    after_polls(chain.xsoar, 2, timeout)
    chain.runners.wait_idle(timeout)
    sync_runs = [run for run in finished[before:] if run.playbook in sync_playbook_names()]
    return SyncRoundReport(
        pairs=pairs,
        crossed=[change for change, check in expected.items() if check()],
        sync_runs=len(sync_runs),
        failed_runs=sum(1 for run in sync_runs if run.status != "succeeded"),
        seconds=time.monotonic() - started,
    )


def pair_states(chain: Chain, pairs: list[Pair]) -> list[dict[str, Any]]:
    """Both sides of each pair: statuses, close reason and notes, comments and war-room entries, urgency and
    severity, events."""
    rows = []
    for pair in pairs:
        incident = chain.xsoar.incident(pair.incident_id)
        rows.append(
            {
                "alert": pair.short_id,
                "sekoia_status": sekoia_status(chain.sekoia, pair.short_id),
                "comments": comment_texts(chain.sekoia, pair.short_id),
                "incident": pair.incident_id,
                "xsoar_status": "Closed" if incident["status"] == STATUS_CLOSED else "Active",
                "close_reason": incident["closeReason"],
                "close_notes": incident["closeNotes"],
                "entries": [entry["contents"] for entry in incident["entries"]],
                "urgency": alert_urgency(chain.sekoia, pair.short_id),
                "severity": incident["severity"],
                "incident_urgency": incident["CustomFields"].get("sekoiaiourgency"),
                "events": event_count(incident),
            }
        )
    return rows
