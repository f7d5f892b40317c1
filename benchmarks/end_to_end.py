"""End to end through the runner (in-process blocks): alert created in the Sekoia.io simulator -> incident stored in
the XSOAR simulator, with the shipped four-block template.

Prints p50/p95 for single alerts (one at a time) and for a burst, the burst's throughput, loss and duplicates, the
peak resident memory of the trigger and of the runner process (which also hosts both simulators), and the HTTP
requests per alert counted by the simulators, next to the minimum the APIs allow.
Usage, from the repository root: .venv/bin/python benchmarks/end_to_end.py [webhook|api] [burst]
"""

import sys
import tempfile
import time
from pathlib import Path
from typing import Literal

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.harness.measure import Arrivals, Timing, memory_kib  # noqa: E402
from lab.tools.chain import DemoOptions, running_chain  # noqa: E402

SINGLE = 20
NO_INDEXING_DELAY = 0.0  # events searchable at once: the module's own delay (late events: benchmarks/late_events.py)
SPACING = 0.5  # seconds between single alerts: alerts arriving one by one, under the trigger's request rate
MINIMUM = {
    "sekoia": 4,
    "webhook": 1,
    "api": 3,
}  # alert + (job, one status poll, one events page); XSOAR create (API mode: with a search before and one after)


def main() -> None:
    mode: Literal["webhook", "api"] = "api" if sys.argv[1:2] == ["api"] else "webhook"
    burst = int(sys.argv[2]) if len(sys.argv) > 2 else 1000
    arrivals = Arrivals()
    with (
        tempfile.TemporaryDirectory() as state,
        running_chain(DemoOptions(mode=mode, state=Path(state), indexing_delay=NO_INDEXING_DELAY)) as chain,
    ):
        sekoia, xsoar, runner = chain
        xsoar.on_incident = arrivals.record
        sekoia.reset_counts()
        xsoar.reset()
        single = []
        for _ in range(SINGLE):
            created = time.monotonic()
            short_id = sekoia.add_alert(events=3)["short_id"]
            if not arrivals.wait([short_id], 30):
                raise RuntimeError(f"no incident for {short_id}")
            single.append(arrivals.times[short_id] - created)
            time.sleep(SPACING)
        runner.wait_idle(30)
        sekoia_per_alert = sekoia.total_requests / SINGLE
        xsoar_per_alert = len(xsoar.requests) / SINGLE
        print(f"mode {mode}, shipped template (4 blocks), in-process blocks, loopback\n")
        print(Timing(single).line(f"single alerts {SPACING:g} s apart, creation -> incident"))

        created_at: dict[str, float] = {}
        started = time.monotonic()
        for _ in range(burst):
            alert = sekoia.add_alert(events=3)
            created_at[alert["short_id"]] = time.monotonic()
        delivered = arrivals.wait(list(created_at), 600)
        elapsed = time.monotonic() - started
        runner.wait_idle(60)
        latencies = [arrivals.times[s] - created_at[s] for s in created_at if s in arrivals.times]
        print(Timing(latencies).line(f"burst of {burst}, creation -> incident"))
        lost = sum(1 for s in created_at if s not in arrivals.times)
        duplicated = sum(arrivals.counts[s] - 1 for s in created_at if arrivals.counts[s] > 1)
        print(
            f"burst: {burst} raised, {burst - lost} delivered, {lost} lost, {duplicated} duplicated, "
            f"{elapsed:.1f} s, {burst / elapsed:.0f} alerts/s{'' if delivered else ' (timed out)'}"
        )
        assert runner.trigger is not None, "running_chain starts the trigger"
        print(
            f"peak resident memory: trigger {memory_kib(runner.trigger.pid, 'VmHWM') / 1024:.0f} MiB, "
            f"runner with both simulators {memory_kib('self', 'VmHWM') / 1024:.0f} MiB"
        )
        print(
            f"HTTP requests per alert: Sekoia.io {sekoia_per_alert:.1f} (minimum {MINIMUM['sekoia']}: the trigger's "
            f"alert fetch and the events search; the template's Get Alert fetches the alert again), "
            f"XSOAR {xsoar_per_alert:.1f} (minimum {MINIMUM[mode]})"
        )


if __name__ == "__main__":
    main()
