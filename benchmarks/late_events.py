"""The late-events path of Get Events and Create Incident's fetch_events (events indexed late), through the SDK
protocol on loopback, blocks in process.

1. Events already searchable: the Sekoia.io requests per alert with the late-events path (expected count given,
   default wait) and without it (indexing_wait 0: search once, as before): the difference is the path's cost in the
   common case, which must be 0.
2. Events indexed late (the simulator's clock and the module's waits on one manual clock: no real seconds waited):
   for each delay, the searches and requests it took, and how long after the events became searchable they were
   found (the backoff's overshoot); events that never come: what the whole wait (60 s) costs.
Usage, from the repository root: .venv/bin/python benchmarks/late_events.py [alerts]
"""

import math
import statistics
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from lab.doubles.clock import ManualClock  # noqa: E402
from lab.doubles.sekoia import SekoiaSimulator  # noqa: E402
from lab.doubles.symphony import Symphony  # noqa: E402
from lab.doubles.xsoar import XsoarSimulator  # noqa: E402
from xsoar_module.clients.sekoia import SekoiaClient  # noqa: E402
from xsoar_module.timing import Clock  # noqa: E402

KEYS = {"sekoia": "bench-sekoia-key", "xsoar": "bench-xsoar-key"}
JOBS = "POST /v1/sic/conf/events/search/jobs"
DELAYS = (1.0, 2.0, 6.0, 20.0, 45.0, math.inf)


class Blocks:
    """Get Events and Create Incident run in process against the simulators; Sekoia.io requests counted per run."""

    def __init__(self, symphony: Symphony, sekoia: SekoiaSimulator, xsoar: XsoarSimulator, data: Path):
        self.symphony, self.sekoia, self.data = symphony, sekoia, data
        self.config = {
            "base_url": sekoia.url,
            "api_key": KEYS["sekoia"],
            "xsoar_url": xsoar.webhook_url,
            "xsoar_token": KEYS["xsoar"],
        }

    def requests(self, name: str, arguments: dict) -> tuple[int, int, dict]:
        """(Sekoia.io requests, search jobs) of one run, and its results."""
        self.sekoia.reset_counts()
        run = self.symphony.run_action(name, self.config, arguments, data_path=self.data, in_process=True)
        if run.error:
            raise RuntimeError(f"{name} failed: {run.error}")
        return self.sekoia.total_requests, self.sekoia.request_counts[JOBS], run.results or {}

    def get_events(self, alert: dict, **arguments: object) -> tuple[int, int, dict]:
        query = {"query": f'alert_short_ids:"{alert["short_id"]}"', "earliest_time": "-1d", "latest_time": "now"}
        return self.requests("GetEvents", query | {"expected_events": alert["similar"]} | arguments)

    def create_incident(self, alert: dict, **arguments: object) -> tuple[int, int, dict]:
        return self.requests("CreateIncident", {"alert_uuid": alert["short_id"], "fetch_events": True} | arguments)


def common_case(blocks: Blocks, alerts: int) -> None:
    rows = []
    for name, run in (("Get Events", blocks.get_events), ("Create Incident fetch_events", blocks.create_incident)):
        with_path, without, jobs = 0, 0, 0
        for _ in range(alerts):
            alert = blocks.sekoia.add_alert(notify=False, events=3, indexing_delay=0)
            made, searches, _ = run(alert)
            with_path, jobs = with_path + made, jobs + searches
            without += run(alert, indexing_wait=0)[0]
        rows.append(
            f"  {name}: {with_path / alerts:.2f} Sekoia.io requests per alert with the late-events path, "
            f"{without / alerts:.2f} searching once: {(with_path - without) / alerts:.2f} extra "
            f"({jobs / alerts:.2f} search job(s) per alert)"
        )
    print(f"Events already searchable ({alerts} alerts of 3 events per block):")
    print("\n".join(rows))


def late_case(blocks: Blocks, clock: ManualClock) -> None:
    print("\nEvents indexed late (Create Incident fetch_events, default indexing_wait 60 s, manual clock):")
    for delay in DELAYS:
        alert = blocks.sekoia.add_alert(notify=False, events=3, indexing_delay=delay)
        started = clock.now()
        made, searches, results = blocks.create_incident(alert)
        waited = clock.now() - started
        found = "none found" if results["events_missing"] else f"found {waited - delay:.1f} s after indexing"
        when = "never indexed" if math.isinf(delay) else f"indexed after {delay:g} s"
        print(
            f"  {when}: {searches} searches, {made} Sekoia.io requests, "
            f"block done after {waited:.1f} s, {found} (events_sent {results['events_sent']})"
        )


def overshoot(blocks: Blocks, clock: ManualClock) -> None:
    """The median delay from the events being searchable to their being found, over delays spread in 0..60 s."""
    late = []
    for tenth in range(1, 600, 7):
        delay = tenth / 10
        alert = blocks.sekoia.add_alert(notify=False, events=1, indexing_delay=delay)
        started = clock.now()
        blocks.create_incident(alert)
        late.append(clock.now() - started - delay)
    print(
        f"  over {len(late)} delays from 0.1 to 59.9 s: found a median {statistics.median(late):.1f} s "
        f"(max {max(late):.1f} s) after indexing"
    )


def main() -> None:
    alerts = int(sys.argv[1]) if len(sys.argv) > 1 else 20
    clock = ManualClock()
    SekoiaClient.clock = Clock(now=clock.now, sleep=clock.sleep)
    with (
        SekoiaSimulator(api_key=KEYS["sekoia"], seed_samples=False) as sekoia,
        XsoarSimulator(webhook_token=KEYS["xsoar"], api_key=KEYS["xsoar"], api_key_id="1") as xsoar,
        Symphony() as symphony,
        tempfile.TemporaryDirectory() as data,
    ):
        sekoia.clock = clock.now
        blocks = Blocks(symphony, sekoia, xsoar, Path(data))
        common_case(blocks, alerts)
        late_case(blocks, clock)
        overshoot(blocks, clock)


if __name__ == "__main__":
    main()
