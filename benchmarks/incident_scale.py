"""Incident Updated at 10,000 open incidents: state size, one poll's cost, note delay; nothing lost or repeated.

In process, against the XSOAR simulator over HTTP on its own (virtual) clock: N open incidents created by the module;
a first round of polls sees each of them (the checkpoint starts after their creation, as a trigger started later);
then, between polls `interval` virtual seconds apart, people close, reopen and write notes on random incidents, and
the module makes its own closures and mirrored entries (echoes, never to be emitted). Each poll lists from the
checkpoint as the trigger does (the newest modification seen, minus the 300 s overlap) through Incident Updated's
lister, whose every change is counted here: no ledger filters repeats out. The state is saved after each poll.
Usage, from the repository root:
.venv/bin/python benchmarks/incident_scale.py [--open 10000] [--watched 100] [--interval 30] [--rounds 2] [--changes 5]
"""

import argparse
import random
import statistics
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from lab.doubles.xsoar import XsoarSimulator  # noqa: E402
from xsoar_module.clients.xsoar import XsoarClient  # noqa: E402
from xsoar_module.clients.xsoar.connection import api_configuration  # noqa: E402
from xsoar_module.configuration import ModuleConfiguration  # noqa: E402
from xsoar_module.sync.texts import close_notes, war_room_entry  # noqa: E402
from xsoar_module.triggers.core.checkpoint import OVERLAP_SECONDS  # noqa: E402
from xsoar_module.triggers.incident_state import IncidentStates  # noqa: E402
from xsoar_module.triggers.incidents import IncidentChanges  # noqa: E402

KEY, KEY_ID = "benchmark-key", "5"


class Scale:
    """The simulated XSOAR, the lister under test, and what people changed (the keys expected once each)."""

    def __init__(self, xsoar: XsoarSimulator, client: XsoarClient, states: IncidentStates, watched: int):
        self.xsoar = xsoar
        self.states = states
        self.changes = IncidentChanges(client, states, watched=watched, log=lambda *_: None)
        self.expected: dict[str, int] = {}  # key -> the poll number at which the change was made
        self.emitted: Counter[str] = Counter()
        self.delays: list[int] = []  # polls from a note to its event
        self.echoes = 0  # events for the module's own changes
        self.touched: dict[str, int] = {}  # incident id -> the poll before which its status last changed
        self.watermark = 0.0
        self.polls = 0

    def poll(self) -> tuple[int, float]:
        """One poll as the trigger makes it; its requests and seconds."""
        before, started = len(self.xsoar.requests), time.perf_counter()
        since = int(self.watermark) - OVERLAP_SECONDS
        for item in self.changes.list_since(since):
            if item is None:
                continue
            key = item["key"]
            self.emitted[key] += 1
            if key not in self.expected:
                self.echoes += 1
            elif key.startswith("note:") and self.emitted[key] == 1:
                self.delays.append(self.polls - self.expected[key] + 1)
        if self.changes.newest is not None:
            self.watermark = max(self.watermark, self.changes.newest)
        self.states.save()
        self.polls += 1
        return len(self.xsoar.requests) - before, time.perf_counter() - started

    def change(self, rng: random.Random, count: int) -> None:
        """`count` random changes: notes by people (most), closures and reopenings by people, the module's own. An
        incident's status changes at most once between two polls (a closure undone before the next poll is not
        mirrored: docs/sync.md)."""
        incidents = self.xsoar.incidents
        for _ in range(count):
            incident = rng.choice(incidents)
            incident_id, closed, kind = incident["id"], incident["status"] == 2, rng.random()
            alert = incident["CustomFields"]["alertid"]
            if self.touched.get(incident_id) == self.polls:
                continue
            if closed or kind >= 0.6:
                self.touched[incident_id] = self.polls
            if closed and kind < 0.5:
                self.xsoar.reopen_as_person(incident_id)
                self.expected[f"reopened:{incident_id}@{incident['modified']}"] = self.polls
            elif closed:
                continue
            elif kind < 0.6:
                entry = self.xsoar.note_as_person(incident_id, "checked the host")
                self.expected[f"note:{entry['id']}"] = self.polls
            elif kind < 0.7:
                self.xsoar.close_as_person(incident_id, "Resolved", "done")
                self.expected[f"closed:{incident_id}@{incident['closed']}"] = self.polls
            elif kind < 0.85:
                self.xsoar.close_as_person(incident_id, "Resolved", close_notes(None, alert, "Closed"), "admin")
            else:
                self.xsoar.note_as_person(incident_id, war_room_entry("mirrored comment", alert), "admin")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--open", type=int, default=10_000, help="open incidents created by the module")
    parser.add_argument("--watched", type=int, default=100, help="watched_open_incidents")
    parser.add_argument("--interval", type=float, default=30.0, help="virtual seconds between two polls")
    parser.add_argument("--rounds", type=int, default=2, help="rounds of changes, each ceil(open / watched) polls")
    parser.add_argument("--changes", type=int, default=5, help="random changes between two polls")
    args = parser.parse_args()
    rng = random.Random(20)
    moment = [time.time() - 30 * 86400]  # the simulator's clock, behind the real one (it moves by the interval)
    with XsoarSimulator(api_key=KEY, api_key_id=KEY_ID) as xsoar, tempfile.TemporaryDirectory() as folder:
        xsoar.clock = lambda: moment[0]
        for n in range(args.open):
            fields = {"name": f"AL{n}", "CustomFields": {"alertid": f"AL{n}"}, "createInvestigation": True}
            xsoar.add_incident(fields, "api")
        config = ModuleConfiguration(api_key="unused", xsoar_url=xsoar.url, xsoar_api_key=KEY, xsoar_api_key_id=KEY_ID)
        path = Path(folder) / "incident_updated_state.json"
        with XsoarClient(api_configuration(config)) as client:
            scale = Scale(xsoar, client, IncidentStates(path), args.watched)
            round_polls = -(-args.open // args.watched)
            scale.watermark = moment[0] + 1 + OVERLAP_SECONDS  # a checkpoint after the incidents' creation
            first = [scale.poll() for _ in range(round_polls)]
            size = path.stat().st_size
            costs = []
            for _ in range(args.rounds * round_polls):
                moment[0] += args.interval / 2
                scale.change(rng, args.changes)
                moment[0] += args.interval / 2
                costs.append(scale.poll())
            for _ in range(round_polls + 1):  # the notes still to come have their turn
                moment[0] += args.interval
                costs.append(scale.poll())
            final = path.stat().st_size
    report(args, scale, first, (size, final), costs)


def report(args: argparse.Namespace, scale: Scale, first: list, sizes: tuple[int, int], costs: list) -> None:
    lost = [key for key in scale.expected if not scale.emitted[key]]
    repeated = [key for key, count in scale.emitted.items() if count > 1]
    requests = [count for count, _ in costs]
    seconds = [spent for _, spent in costs]
    print(
        f"{args.open} open incidents, watched_open_incidents {args.watched}, interval {args.interval:g} s: "
        f"state file after the first round {sizes[0] / 1024:.0f} KiB ({sizes[0] / args.open:.0f} B an incident), "
        f"at the end {sizes[1] / 1024:.0f} KiB ({len(scale.states)} incidents)"
    )
    print(
        f"first round ({len(first)} polls, every incident seen once): {sum(c for c, _ in first)} requests, "
        f"{sum(s for _, s in first):.1f} s"
    )
    print(
        f"one poll: {statistics.median(requests):.0f} requests (median; max {max(requests)}), "
        f"{statistics.median(seconds) * 1000:.0f} ms (median; p95 "
        f"{sorted(seconds)[int(0.95 * (len(seconds) - 1))] * 1000:.0f} ms, max {max(seconds) * 1000:.0f} ms)"
    )
    kinds = Counter(key.split(":")[0] for key in scale.expected)
    delays = scale.delays or [0]
    print(
        f"changes by people: {dict(kinds)}; lost {len(lost)}, duplicated {len(repeated)}, echoes {scale.echoes}; "
        f"note delay in polls (1: the next): median {statistics.median(delays):g}, max {max(delays)} "
        f"(x {args.interval:g} s: max {max(delays) * args.interval:.0f} s; ceil(open / watched) = "
        f"{-(-args.open // args.watched)})"
    )
    if lost or repeated or scale.echoes:
        print(f"lost {lost[:5]}, duplicated {repeated[:5]}", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
