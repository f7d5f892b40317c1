"""Incident Updated delay: from a person's closure in the XSOAR simulator to the event at the platform stand-in.

Runs the trigger as the platform does, closes incidents one at a time at random moments of the poll cycle (a random
wait of up to one interval before each), and prints the median, 95th percentile and maximum delay.
Usage, from the repository root: .venv/bin/python benchmarks/incident_updated_delay.py [--interval 30] [--samples 8]
"""

import argparse
import random
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from lab.doubles.symphony import Symphony  # noqa: E402
from lab.doubles.xsoar import XsoarSimulator  # noqa: E402

KEY, KEY_ID = "benchmark-key", "5"
TRIGGER = "IncidentUpdatedTrigger"


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--interval", type=float, default=30.0, help="the trigger's interval setting (s)")
    parser.add_argument("--samples", type=int, default=8)
    args = parser.parse_args()
    arrivals: dict[str, float] = {}
    arrived = threading.Condition()

    def on_event(event: dict) -> None:
        with arrived:
            arrivals[event["event"]["incident_id"]] = time.monotonic()
            arrived.notify_all()

    with (
        XsoarSimulator(api_key=KEY, api_key_id=KEY_ID) as xsoar,
        Symphony() as symphony,
        tempfile.TemporaryDirectory() as data_path,
    ):
        ids = [
            xsoar.add_incident(
                {"name": f"AL{n}", "CustomFields": {"alertid": f"AL{n}"}, "createInvestigation": True}, "api"
            )["id"]
            for n in range(args.samples)
        ]
        configuration = {"api_key": "unused", "xsoar_url": xsoar.url, "xsoar_mode": "api", "xsoar_api_key": KEY}
        settings = {"interval": args.interval}
        run = symphony.start_trigger(TRIGGER, configuration, settings, data_path=Path(data_path), on_event=on_event)
        run.wait_for_log("Incident Updated started", timeout=60)
        delays = []
        for incident_id in ids:
            time.sleep(random.uniform(0.0, args.interval))
            closed = time.monotonic()
            xsoar.close_as_person(incident_id, "Resolved", "benchmark")
            with arrived:
                if not arrived.wait_for(lambda: incident_id in arrivals, args.interval * 4 + 30):  # noqa: B023
                    raise TimeoutError(f"no event for incident {incident_id}")
            delays.append(arrivals[incident_id] - closed)
        run.stop()
        print(
            f"interval {args.interval:g} s, {args.samples} closures: median {statistics.median(delays):.2f} s, "
            f"p95 {percentile(delays, 0.95):.2f} s, max {max(delays):.2f} s; events {len(run.events)}"
        )


if __name__ == "__main__":
    main()
