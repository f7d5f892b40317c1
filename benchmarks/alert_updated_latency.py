"""Alert Updated latency: run the trigger as the platform does, against the Sekoia.io simulator.

Prints the delay from a status change made in the simulator (a person's, through the workflow) to its event reaching
the platform stand-in, and the same for comments: median and 95th percentile of 20 each, one at a time, 0.5 s apart.
Usage, from the repository root: .venv/bin/python benchmarks/alert_updated_latency.py
"""

import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.harness.measure import percentile  # noqa: E402
from lab.doubles.sekoia import SekoiaSimulator  # noqa: E402
from lab.doubles.symphony import Symphony  # noqa: E402

KEY = "benchmark-key"
TRIGGER = "AlertUpdatedTrigger"
SAMPLES = 20
SPACING = 0.5


def main() -> None:
    arrivals: dict[tuple[str, str], float] = {}
    arrived = threading.Condition()

    def on_event(event: dict) -> None:
        with arrived:
            arrivals[(event["event"]["alert_uuid"], event["event"]["change"])] = time.monotonic()
            arrived.notify_all()

    def wait_for(key: tuple[str, str], timeout: float = 30) -> float:
        with arrived:
            if not arrived.wait_for(lambda: key in arrivals, timeout):
                raise TimeoutError(f"no event for {key}")
            return arrivals[key]

    with (
        SekoiaSimulator(api_key=KEY, seed_samples=False) as sekoia,
        Symphony() as symphony,
        tempfile.TemporaryDirectory() as data_path,
    ):
        alerts = [sekoia.add_alert(events=0, notify=False) for _ in range(SAMPLES)]
        configuration = {"base_url": sekoia.url, "api_key": KEY, "xsoar_url": "http://127.0.0.1:9/unused"}
        run = symphony.start_trigger(TRIGGER, configuration, {}, data_path=Path(data_path), on_event=on_event)
        sekoia.wait_for_clients(1, timeout=30)
        time.sleep(1.0)  # let the first catch-up end
        delays: dict[str, list[float]] = {"status": [], "comment": []}
        for alert in alerts:
            for change in delays:
                made = time.monotonic()
                if change == "status":
                    sekoia.change_status_as_person(alert["uuid"], "Acknowledged")
                else:
                    sekoia.comment_as_person(alert["uuid"], "looking into it")
                delays[change].append(wait_for((alert["uuid"], change)) - made)
                time.sleep(SPACING)
        for change, values in delays.items():
            print(
                f"{change} changes, {len(values)} one at a time: median {statistics.median(values) * 1000:.1f} ms, "
                f"p95 {percentile(values, 0.95) * 1000:.1f} ms, max {max(values) * 1000:.1f} ms"
            )
        print(f"events: {len(run.events)}, Sekoia.io requests: {dict(sekoia.request_counts)}")
        run.stop()


if __name__ == "__main__":
    main()
