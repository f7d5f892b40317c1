"""Two-way sync under load: random changes made as a person on both sides, LiveAPI drops, a restart of each sync
trigger; then count what converged, what was duplicated, echoed or lost, and how long a change took to cross.

Shared by benchmarks/sync_soak.py (500 alerts, 2,000 changes), benchmarks/sync_latency.py (one change at a time) and
the small variant in the test suite. Everything runs through the shipped playbooks: the creation playbook makes the
incidents, both sync playbooks carry the changes, each trigger its own process.

How a change is followed. A person works on a settled pair (an alert and its incident): they see the state both
sides agree on, make one change, and the pair stays busy until the change's run has ended on the other side (its
trigger event matched: the comment's uuid, the war-room note's id, the status name, the closure or the reopening).
A simultaneous step makes one change on each side of a settled pair, in a random order and up to `conflict_gap`
seconds apart, before either crosses: two people at work at once. A change whose run never comes within
`crossing_timeout` is not crossed.

Counts. `echoes`: runs of a trigger event that was the module's own change (a marked comment or note, a status,
closure or reopening the module made) and matched no change made by a person. `duplicated`: extra copies of a
comment or note on the other side. `converged`: pairs whose final statuses agree per the mapping (Closed <-> closed
with any reason but False Positive, Rejected <-> closed as False Positive, open statuses <-> open incident), or whose
alert is in a final status (Closed, Rejected: Sekoia.io's workflow offers no way out) and carries the module's comment
saying so for the incident's latest status change (`told`: as close as the published rules let them come).
`lost`: comments or notes absent from the other side at the end; status changes that never crossed, except the
loser of a simultaneous step with a status change on each side (by the module's rule, `sekoia_change_wins`: the
later in whole seconds; in the same second the one made after the module's change on its side, XSOAR's otherwise);
and converged pairs whose final status is not the one their last status change asked for (its winner's, in a
simultaneous step). `conflicts` counts the pairs apart whose last status step was simultaneous (for diagnosis:
the soak passes only when every pair converged).
"""

import random
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchmarks.harness.measure import percentile
from benchmarks.harness.soak import every
from lab.doubles.sekoia import SekoiaSimulator
from lab.doubles.sekoia.workflow import WORKFLOW
from lab.doubles.xsoar import STATUS_CLOSED
from lab.tools.chain import Chain, DemoOptions, running_playbooks
from lab.tools.runner import FinishedRun
from lab.tools.sync_round import SYNC_PLAYBOOKS, sekoia_status, sync_playbook_names, wait_until
from xsoar_module.sync.marker import is_marked
from xsoar_module.sync.rules import (
    CLOSED,
    CLOSING_STATUSES,
    OPEN_STATUSES,
    REJECTED,
    sekoia_change_wins,
    status_for_close_reason,
)
from xsoar_module.sync.texts import is_closure_note, is_reopen_note
from xsoar_module.sync.war_room import follows_mirror_note
from xsoar_module.timing import xsoar_epoch

CREATION_PLAYBOOK = (
    Path(__file__).resolve().parents[2] / "playbooks" / "create_incident_on_cortex_xsoar_two_blocks.json"
)
CLOSE_REASONS = ("Resolved", "False Positive", "Other", "Duplicate")
TO_XSOAR, TO_SEKOIA = "Sekoia.io -> XSOAR", "XSOAR -> Sekoia.io"
PROGRESS_EVERY = 250
PEOPLE = ("analyst", "analyst-2")  # who acts in either web app; anything else is the module


@dataclass(frozen=True)
class SyncSoakPlan:
    alerts: int = 500
    changes: int = 2000
    simultaneous: float = 0.1  # share of steps that change both sides of one pair at once (two changes)
    conflict_gap: float = 1.5  # seconds (at most, random) between the two changes of a simultaneous step, in a random
    # order: either side's change is the later one in whole seconds, or both fall in the same second
    rate: float = 3.0  # steps per second at most: Alert Updated reads the alert of each change, its own included,
    # at most 4 alert requests a second (under Sekoia.io's advice of 5): a faster pace only makes a queue
    poll_interval: float = 1.0  # Incident Updated's interval (its default is 30 s)
    drop_every: float = 15.0  # seconds between LiveAPI connection drops
    restarts: bool = True  # kill and start again Alert Updated (a third in), then Incident Updated (two thirds in)
    crossing_timeout: float = 60.0  # a change not crossed by then frees its pair (a later run still counts)
    drain_timeout: float = 300.0  # after the last change, for every change to cross (ends when none crossed for
    # `crossing_timeout`)
    timeout: float = 900.0  # for the whole soak
    max_busy: int | None = None  # pairs in flight at once (1: one change at a time, for delays without load)
    rest: float | None = None  # seconds a pair rests after a change crossed (default: 2 s or two poll intervals)
    notes_on_closed: bool = False  # people also write war-room notes on closed incidents
    jitter: float = 0.0  # a random wait up to this before each step (delays: changes at any moment of a poll cycle)
    incident_updated: dict[str, Any] = field(default_factory=dict)  # more Incident Updated settings
    seed: int = 1


@dataclass(frozen=True)
class Pair:
    short_id: str
    uuid: str
    incident_id: str


@dataclass
class Expected:
    """A change made by a person, waiting for its run on the other side."""

    pair: Pair
    way: str
    kind: str  # status | comment (made in Sekoia.io); closed | reopened | note (made in XSOAR)
    key: str  # the status name, the comment uuid, the entry id, or the kind again
    simultaneous: bool
    text: str = ""  # a comment's or note's content
    before: str = ""  # the state of the side where it was made, before it
    made_at: float = field(default_factory=time.monotonic)
    at: float = 0.0  # when its side dated it, epoch seconds (status changes)
    after_mirror: bool = False  # made after a status change of the module on its side, in that second
    reason: str = ""  # an XSOAR closure's close reason
    superseded: bool = False  # it lost a simultaneous step by the rule: it need not cross

    def status_class(self) -> str:
        """What a status change asks of the pair: open, Closed or Rejected."""
        if self.kind == "status":
            return "open" if self.key in OPEN_STATUSES else self.key
        return status_for_close_reason(self.reason) if self.kind == "closed" else "open"

    def describe(self, started: float) -> str:
        simultaneous = ", simultaneous" if self.simultaneous else ""
        return (
            f"{self.way} {self.kind} {self.key} on {self.pair.short_id} / incident {self.pair.incident_id} "
            f"({self.before}) at {self.made_at - started:.1f} s{simultaneous}"
        )

    def matches(self, event: dict[str, Any]) -> bool:
        if event.get("change") != self.kind:
            return False
        if self.kind == "status":
            return event.get("status_name") == self.key
        if self.kind == "comment":
            return (event.get("comment") or {}).get("uuid") == self.key
        if self.kind == "note":
            return str((event.get("note") or {}).get("id")) == self.key
        return True


@dataclass
class SyncSoakReport:
    changes: int = 0
    simultaneous_steps: int = 0
    conflicts_won: Counter[str] = field(default_factory=Counter)  # simultaneous status pairs: the winner's way
    crossed: int = 0
    late: int = 0  # crossed after crossing_timeout
    not_crossed: int = 0
    superseded: int = 0  # not crossed, having lost a simultaneous step by the rule
    pairs: int = 0
    converged: int = 0
    told: int = 0  # converged pairs apart in status, the alert final and the XSOAR change told by a comment
    conflicts: int = 0
    duplicated: int = 0
    missing_texts: int = 0
    lost_statuses: int = 0  # status changes not crossed (not superseded)
    wrong_final: int = 0  # converged pairs whose final status is not their last status change's
    echoes: int = 0
    repeats: int = 0
    failed_runs: int = 0
    drops: int = 0
    restarts: int = 0
    poll_interval: float = 0.0
    delays: dict[str, list[float]] = field(default_factory=lambda: {TO_XSOAR: [], TO_SEKOIA: []})
    apart: list[str] = field(default_factory=list)  # pairs not converged, described
    missed: list[str] = field(default_factory=list)  # changes not crossed, and runs matching no change, described
    seconds: float = 0.0

    @property
    def lost(self) -> int:
        return self.missing_texts + self.lost_statuses + self.wrong_final

    def median_ms(self, way: str) -> float | None:
        samples = self.delays[way]
        return 1000 * percentile(samples, 0.5) if samples else None

    def lines(self) -> list[str]:
        def delay(way: str) -> str:
            samples = self.delays[way]
            if not samples:
                return "-"
            return (
                f"median {1000 * percentile(samples, 0.5):.0f} ms, p95 {1000 * percentile(samples, 0.95):.0f} ms "
                f"(n={len(samples)})"
            )

        return [
            f"changes made as a person   {self.changes} ({self.simultaneous_steps} simultaneous steps on one pair)",
            f"status against status      {sum(self.conflicts_won.values())} simultaneous steps, won by "
            f"{TO_XSOAR.split()[0]} {self.conflicts_won[TO_XSOAR]}, by {TO_SEKOIA.split()[0]} "
            f"{self.conflicts_won[TO_SEKOIA]}",
            f"crossed                    {self.crossed} ({self.late} late); not crossed {self.not_crossed} "
            f"({self.superseded} of them superseded: lost a simultaneous step by the rule)",
            f"converged                  {self.converged} / {self.pairs} pairs ({self.told} of them with a final "
            f"alert told of the incident's later change; {self.conflicts} apart after a simultaneous conflicting "
            "status change)",
            f"duplicated comments        {self.duplicated}",
            f"echoes                     {self.echoes} (repeated events {self.repeats})",
            f"lost                       {self.lost} ({self.missing_texts} comments/notes, "
            f"{self.lost_statuses} status changes not crossed, {self.wrong_final} pairs on another status)",
            f"failed runs                {self.failed_runs}",
            f"LiveAPI drops, restarts    {self.drops}, {self.restarts}",
            f"delay {TO_XSOAR}   {delay(TO_XSOAR)}",
            f"delay {TO_SEKOIA}   {delay(TO_SEKOIA)} (Incident Updated polls every {self.poll_interval:g} s)",
            f"duration                   {self.seconds:.1f} s",
        ]

    @property
    def ok(self) -> bool:
        return self.converged == self.pairs and self.duplicated == 0 and self.echoes == 0 and self.lost == 0


def agree(status: str, incident: dict[str, Any]) -> bool:
    """The mapping: Closed <-> closed (any reason but False Positive), Rejected <-> False Positive, open <-> open."""
    closed = incident["status"] == STATUS_CLOSED
    if status == CLOSED:
        return closed and incident["closeReason"] != "False Positive"
    if status == REJECTED:
        return closed and incident["closeReason"] == "False Positive"
    return not closed


class SyncSoak:
    """Drives the changes, follows each one to its run, and counts at the end."""

    def __init__(self, chain: Chain, plan: SyncSoakPlan, pairs: list[Pair]):
        self.chain, self.plan, self.pairs = chain, plan, pairs
        self.random = random.Random(plan.seed)
        self.report = SyncSoakReport(pairs=len(pairs), poll_interval=plan.poll_interval)
        self.pending: dict[Pair, list[Expected]] = {pair: [] for pair in pairs}
        self.rest = max(2.0, 2 * plan.poll_interval) if plan.rest is None else plan.rest
        self.rested_at = dict.fromkeys(pairs, 0.0)
        self.by_alert = {key: pair for pair in pairs for key in (pair.short_id, pair.uuid)}
        self.by_incident = {pair.incident_id: pair for pair in pairs}
        self.texts: list[Expected] = []  # every comment and note made, to find on the other side at the end
        self.last_status_step: dict[Pair, bool] = {}  # was the pair's last status step a simultaneous conflict
        self.final: dict[Pair, Expected] = {}  # the status change whose status each pair should end with
        self.unmatched: list[FinishedRun] = []
        self.journal: dict[Pair, list[str]] = {pair: [] for pair in pairs}  # told of an apart pair or a lost change
        self.overdue: list[Expected] = []  # changes past `crossing_timeout`, still waited for until the end
        self.given_up: list[Expected] = []  # changes not crossed at the end
        self.last_crossed = time.monotonic()
        self.lock = threading.Lock()
        self.counter = 0
        self.started = time.monotonic()

    # Following the runs

    def observe(self, run: FinishedRun) -> None:
        """Observer of every finished run: match it to the change it carries."""
        if run.playbook not in sync_playbook_names():
            return
        event = run.event
        pair = self.by_incident.get(str(event.get("incident_id"))) or self.by_alert.get(
            str(event.get("alert_uuid") or event.get("short_id"))
        )
        with self.lock:
            if run.status != "succeeded":
                self.report.failed_runs += 1
            way = TO_SEKOIA if "incident_id" in event else TO_XSOAR
            if pair is not None:
                self.journal[pair].append(self.describe_run(run, way))
            for waiting in (self.pending.get(pair, []) if pair else [], self.overdue, self.given_up):
                found = next((e for e in waiting if e.pair == pair and e.way == way and e.matches(event)), None)
                if found is not None:
                    waiting.remove(found)
                    break
            else:
                self.unmatched.append(run)
                return
            if waiting is self.given_up:
                return  # a superseded change that crossed after all, once the soak stopped waiting for it
            self.rested_at[found.pair] = run.ended + self.rest
            self.last_crossed = run.ended
            self.report.crossed += 1
            self.report.late += waiting is self.overdue
            self.report.delays[way].append(run.ended - found.made_at)

    def describe_run(self, run: FinishedRun, way: str) -> str:
        """A run of a sync playbook: when it ended, its event's change and what its blocks did."""
        change = {key: run.event.get(key) for key in ("change", "status_name", "close_reason", "updated_at")}
        done = [
            {key: value for key, value in results.items() if key in ("action", "status_name", "superseded_by")}
            for results in run.results.values()
            if isinstance(results, dict)
        ]
        return f"run {run.run_id} {way} ended at {run.ended - self.started:.2f} s ({run.status}): {change} -> {done}"

    def expire(self, now: float) -> None:
        """Changes whose run did not come in time are overdue: their pair is free again, a late run still counts."""
        with self.lock:
            for waiting in self.pending.values():
                for expected in [e for e in waiting if now - e.made_at > self.plan.crossing_timeout]:
                    waiting.remove(expected)
                    self.overdue.append(expected)

    def give_up(self) -> None:
        """The changes still awaited at the end never crossed (a superseded one may cross later: not unmatched)."""
        with self.lock:
            for expected in [e for waiting in self.pending.values() for e in waiting] + self.overdue:
                self.given_up.append(expected)
                self.report.not_crossed += 1
                self.report.missed.append(f"not crossed: {expected.describe(self.started)}")
                if expected.superseded:
                    self.report.superseded += 1
                elif expected.kind not in ("comment", "note"):
                    self.report.lost_statuses += 1
                    self.report.missed.extend(f"  {line}" for line in self.journal[expected.pair])
            self.overdue.clear()
            for waiting in self.pending.values():
                waiting.clear()

    def settled(self) -> list[Pair]:
        """The pairs with no change in flight, rested since the last one crossed."""
        now = time.monotonic()
        with self.lock:
            return [pair for pair, waiting in self.pending.items() if not waiting and self.rested_at[pair] <= now]

    def busy(self) -> int:
        with self.lock:
            return self.busy_pairs()

    def busy_pairs(self) -> int:
        return sum(1 for waiting in self.pending.values() if waiting)

    # Changes made as a person

    def text(self, kind: str) -> str:
        self.counter += 1
        return f"soak {kind} [#{self.counter:06d}] made by a person"

    def change_sekoia(self, pair: Pair, simultaneous: bool) -> Expected:
        """A status change open from the alert's status, or a comment, as a person in Sekoia.io's web app."""
        person, sekoia = self.random.choice(PEOPLE), self.chain.sekoia
        if self.random.random() < 0.5 or not WORKFLOW[sekoia_status(sekoia, pair.short_id)]:  # final: comments only
            content = self.text("comment")
            comment = sekoia.comment_as_person(pair.uuid, content, person)
            current = sekoia_status(sekoia, pair.short_id)
            return self.expect(Expected(pair, TO_XSOAR, "comment", comment["uuid"], simultaneous, content, current))
        for _ in range(3):  # the module may move the alert between the look and the change
            current = sekoia_status(sekoia, pair.short_id)
            if not WORKFLOW[current]:
                break  # the module made it final meanwhile
            target = self.random.choice([action.target for action in WORKFLOW[current]])
            try:
                sekoia.change_status_as_person(pair.short_id, target, person)
            except ValueError:
                continue
            at, after_mirror = persons_change(sekoia.history_of(pair.uuid), target)
            made = Expected(
                pair, TO_XSOAR, "status", target, simultaneous, before=current, at=at, after_mirror=after_mirror
            )
            return self.expect(made)
        else:
            raise RuntimeError(f"alert {pair.short_id} kept changing under a person's hands")
        content = self.text("comment")
        comment = sekoia.comment_as_person(pair.uuid, content, person)
        return self.expect(Expected(pair, TO_XSOAR, "comment", comment["uuid"], simultaneous, content, current))

    def change_xsoar(self, pair: Pair, simultaneous: bool) -> Expected:
        """A closure (random reason) or reopening, or a war-room note, as a person in XSOAR's web app."""
        person, xsoar = self.random.choice(PEOPLE), self.chain.xsoar
        current = describe(xsoar.incident(pair.incident_id))
        closed = xsoar.incident(pair.incident_id)["status"] == STATUS_CLOSED
        if self.random.random() < 0.5 and (self.plan.notes_on_closed or not closed):
            content = self.text("note")
            entry = xsoar.note_as_person(pair.incident_id, content, person)
            return self.expect(Expected(pair, TO_SEKOIA, "note", str(entry["id"]), simultaneous, content, current))
        if closed:
            reopened = xsoar.reopen_as_person(pair.incident_id, person)
            at = xsoar_epoch(reopened["modified"]) or 0.0
            after = follows_mirror_note(xsoar.incident(pair.incident_id)["entries"], at, is_closure_note)
            made = Expected(
                pair, TO_SEKOIA, "reopened", "reopened", simultaneous, before=current, at=at, after_mirror=after
            )
            return self.expect(made)
        reason = self.random.choice(CLOSE_REASONS)
        closure = xsoar.close_as_person(pair.incident_id, reason, self.text("close notes"), person)
        at = xsoar_epoch(closure["closed"]) or 0.0
        after = follows_mirror_note(xsoar.incident(pair.incident_id)["entries"], at, is_reopen_note)
        made = Expected(
            pair, TO_SEKOIA, "closed", "closed", simultaneous, before=current, at=at, reason=reason, after_mirror=after
        )
        return self.expect(made)

    def expect(self, expected: Expected) -> Expected:
        """Follow a change just made: its pair is busy until its run ends."""
        with self.lock:
            self.pending[expected.pair].append(expected)
            self.journal[expected.pair].append(f"made {expected.describe(self.started)}")
        if expected.text:
            self.texts.append(expected)
        self.report.changes += 1
        return expected

    def step(self, pair: Pair) -> None:
        """One change on a settled pair, or (simultaneous) one on each side, in a random order, a little apart."""
        if self.random.random() < self.plan.simultaneous:
            self.report.simultaneous_steps += 1
            sides = [self.change_sekoia, self.change_xsoar]
            self.random.shuffle(sides)
            first = sides[0](pair, True)
            time.sleep(self.random.uniform(0, self.plan.conflict_gap))
            made = [first, sides[1](pair, True)]
        else:
            made = [self.change_xsoar(pair, False) if self.random.random() < 0.5 else self.change_sekoia(pair, False)]
        statuses = [e for e in made if e.kind not in ("comment", "note")]
        if statuses:
            self.last_status_step[pair] = len(statuses) == 2
            self.final[pair] = winner(statuses)
            if len(statuses) == 2:
                self.report.conflicts_won.update([self.final[pair].way])

    # The run

    def drive(self, restart: Callable[[int], None], progress: Callable[[str], None]) -> None:
        """Make the plan's changes at its rate on settled pairs (at most `max_busy` in flight)."""
        interval = 1.0 / self.plan.rate
        deadline = time.monotonic() + self.plan.timeout
        told = 0
        while self.report.changes < self.plan.changes and time.monotonic() < deadline:
            if self.report.changes >= told + PROGRESS_EVERY:
                told = self.report.changes
                progress(f"{told} changes made, {self.report.crossed} crossed, {self.busy()} pairs in flight")
            restart(self.report.changes)
            self.expire(time.monotonic())
            free = self.settled()
            if not free or (self.plan.max_busy is not None and self.busy() >= self.plan.max_busy):
                time.sleep(0.01)
                continue
            time.sleep(self.random.uniform(0, self.plan.jitter))
            self.step(self.random.choice(free))
            time.sleep(interval)
        wait_until(lambda: self.all_followed() or self.quiet(), self.plan.drain_timeout)
        self.give_up()

    def quiet(self) -> bool:
        """Nothing crossed for `crossing_timeout`: what is still awaited will not come."""
        with self.lock:
            return time.monotonic() - self.last_crossed > self.plan.crossing_timeout

    def all_followed(self) -> bool:
        """Every change crossed, but those superseded that may never cross: waited for twice as long as the slowest
        change that crossed, at least 2 s."""
        now = time.monotonic()
        self.expire(now)
        with self.lock:
            slowest = max((delay for delays in self.report.delays.values() for delay in delays), default=0.0)
            awaited = [e for waiting in self.pending.values() for e in waiting] + self.overdue
            return all(e.superseded and now - e.made_at > max(2.0, 2 * slowest) for e in awaited)

    def count(self) -> None:
        """Converged pairs, comments and notes on the other side, echoes."""
        sekoia, xsoar = self.chain.sekoia, self.chain.xsoar
        for pair in self.pairs:
            status, incident = sekoia_status(sekoia, pair.short_id), xsoar.incident(pair.incident_id)
            if agree(status, incident):
                self.report.converged += 1
                self.check_final(pair, status)
                continue
            if told(sekoia, pair, status):
                self.report.converged += 1
                self.report.told += 1
                continue
            conflict = bool(self.last_status_step.get(pair))
            self.report.conflicts += conflict
            self.report.apart.append(
                f"{pair.short_id} {status} / incident {pair.incident_id} {describe(incident)}"
                f"{' (simultaneous conflict)' if conflict else ''}"
            )
            self.report.apart.extend(f"  {line}" for line in self.journal[pair])
        for expected in self.texts:
            copies = self.copies(expected)
            self.report.duplicated += max(0, copies - 1)
            self.report.missing_texts += copies == 0
            if copies == 0:
                self.report.missed.append(f"lost: {expected.describe(self.started)}")
                self.report.missed.extend(f"  {line}" for line in self.journal[expected.pair])
        for run in self.unmatched:
            echo = self.is_echo(run.event)
            self.report.echoes += echo
            self.report.repeats += not echo
            summary = {key: value for key, value in run.event.items() if key != "file_path"}
            self.report.missed.insert(
                0, f"{'echo' if echo else 'repeat'} at {run.ended - self.started:.1f} s: {summary}"
            )

    def check_final(self, pair: Pair, status: str) -> None:
        """A converged pair ends with the status its last status change asked for (the winner's)."""
        final = self.final.get(pair)
        if final is None or final.status_class() == ("open" if status in OPEN_STATUSES else status):
            return
        self.report.wrong_final += 1
        self.report.missed.append(f"on another status ({status}) than asked by {final.describe(self.started)}")

    def copies(self, expected: Expected) -> int:
        """How many times a comment (or note) is on the other side."""
        if expected.way == TO_XSOAR:  # a war-room entry, or part of the details (the incident was closed)
            incident = self.chain.xsoar.incident(expected.pair.incident_id)
            texts = [entry["contents"] for entry in incident["entries"]] + [incident["details"]]
        else:
            texts = [comment["content"] for comment in self.chain.sekoia.comments_of(expected.pair.uuid)]
        return sum(1 for text in texts if expected.text in text)

    def is_echo(self, event: dict[str, Any]) -> bool:
        """The module's own change: a marked text, or a status/closure/reopening only the module made there."""
        if event.get("change") == "comment":
            comment = event.get("comment") or {}
            return is_marked(comment.get("content")) or comment.get("created_by_type") == "apikey"
        if event.get("change") == "note":
            note = event.get("note") or {}
            return is_marked(note.get("content")) or note.get("user") not in PEOPLE
        pair = self.by_incident.get(str(event.get("incident_id"))) or self.by_alert.get(str(event.get("alert_uuid")))
        if pair is None:
            return False
        if event.get("change") == "status":
            entries = status_entries(self.chain.sekoia.history_of(pair.uuid))
            made = [e for e in entries if e["alert"]["status"] == event.get("status_name")]
            return bool(made) and all(e["created_by_type"] == "apikey" for e in made)
        activity = self.chain.xsoar.incident(pair.incident_id)["activity"]
        made = [a for a in activity if a["change"] == event.get("change")]
        return bool(made) and all(a["user"] not in PEOPLE for a in made)


def status_entries(history: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The status changes of an alert's history as the simulator answers it (newest first), oldest first."""
    return [entry for entry in reversed(history) if entry["entry_type"] == "alert"]


def persons_change(history: list[dict[str, Any]], status: str) -> tuple[int, bool]:
    """The date of a person's latest change to `status` in an alert's history, and whether it came right after a
    change made with an API key (the module's) in the same second."""
    changes = status_entries(history)
    index = max(i for i, e in enumerate(changes) if e["created_by_type"] == "user" and e["alert"]["status"] == status)
    entry, previous = changes[index], changes[index - 1] if index else None
    same_second = previous is not None and previous["created_at"] == entry["created_at"]
    return entry["created_at"], same_second and previous is not None and previous["created_by_type"] == "apikey"


def told(sekoia: SekoiaSimulator, pair: Pair, status: str) -> bool:
    """The alert is final and, after its last status change, the module commented that it stays so (an XSOAR
    closure or reopening it could not mirror)."""
    if status not in CLOSING_STATUSES:
        return False
    history = sekoia.history_of(pair.uuid)
    since = status_entries(history)[-1]["created_at"]
    return any(
        entry["entry_type"] == "comment"
        and entry["created_by_type"] == "apikey"
        and f"the alert stays {status}" in entry["comment"]["content"]
        and entry["created_at"] >= since
        for entry in history
    )


def winner(statuses: list[Expected]) -> Expected:
    """The status change a pair should end with: the only one, or of a simultaneous pair (one change on each side)
    the later by the rule; the other is marked superseded."""
    if len(statuses) == 1:
        return statuses[0]
    sekoia, xsoar = sorted(statuses, key=lambda e: e.way != TO_XSOAR)
    sekoia_wins = sekoia_change_wins(sekoia.at, xsoar.at, sekoia.after_mirror, xsoar.after_mirror)
    won, lost = (sekoia, xsoar) if sekoia_wins else (xsoar, sekoia)
    lost.superseded = True
    return won


def describe(incident: dict[str, Any]) -> str:
    if incident["status"] == STATUS_CLOSED:
        return f"closed ({incident['closeReason']})"
    return "open"


def create_pairs(chain: Chain, count: int, timeout: float) -> list[Pair]:
    """Raise the alerts, wait until the creation playbook made every incident."""
    alerts = [chain.sekoia.add_alert(events=1) for _ in range(count)]

    def incidents() -> dict[str, str]:
        return {row["alertId"]: row["id"] for row in chain.xsoar.summary()}

    if not wait_until(lambda: len(incidents().keys() & {a["short_id"] for a in alerts}) == count, timeout):
        raise TimeoutError(f"{count - len(incidents())} of {count} incidents were not created in {timeout:g} s")
    made = incidents()
    return [Pair(alert["short_id"], alert["uuid"], made[alert["short_id"]]) for alert in alerts]


def restarter(chain: Chain, plan: SyncSoakPlan, report: SyncSoakReport) -> Callable[[int], None]:
    """Kill (SIGKILL) and start again Alert Updated a third of the way, Incident Updated two thirds of the way."""
    due = {round(plan.changes / 3): "AlertUpdatedTrigger", round(2 * plan.changes / 3): "IncidentUpdatedTrigger"}

    def restart(changes: int) -> None:
        reached = [at for at in due if at <= changes] if plan.restarts else []
        if not reached:
            return
        trigger = due.pop(min(reached))
        runner = chain.runners.by_trigger(trigger)
        if runner.trigger is not None:
            runner.trigger.kill()
        runner.start()
        report.restarts += 1
        report.missed.append(f"{trigger} restarted after {changes} changes")

    return restart


def run_sync_soak(plan: SyncSoakPlan, progress: Callable[[str], None] = lambda _line: None) -> SyncSoakReport:
    """Create the pairs, drive the changes under drops and restarts, settle, count."""
    started = time.monotonic()
    holder: list[SyncSoak] = []

    def observe(run: FinishedRun) -> None:
        if holder:
            holder[0].observe(run)

    with tempfile.TemporaryDirectory() as state:
        options = DemoOptions(
            mode="api",
            state=Path(state),
            sync=True,
            poll_interval=plan.poll_interval,
            incident_updated=plan.incident_updated,
        )
        playbooks = [CREATION_PLAYBOOK, *SYNC_PLAYBOOKS]
        with running_playbooks(options, playbooks, observer=observe) as chain:
            pairs = create_pairs(chain, plan.alerts, plan.timeout)
            progress(f"{len(pairs)} alerts with their incidents after {time.monotonic() - started:.1f} s")
            soak = SyncSoak(chain, plan, pairs)
            holder.append(soak)
            drops = Counter[str]()

            def drop() -> None:
                chain.sekoia.drop_connections()
                drops.update(["drop"])

            with every(plan.drop_every, drop):
                soak.drive(restarter(chain, plan, soak.report), progress)
            progress(f"{soak.report.changes} changes made; settling")
            searches = chain.xsoar.count("POST", "/incidents/search")
            wait_until(lambda: chain.xsoar.count("POST", "/incidents/search") >= searches + 2, 30)
            chain.runners.wait_idle(60)
            soak.report.drops = drops["drop"]
            soak.count()
    soak.report.seconds = time.monotonic() - started
    return soak.report
