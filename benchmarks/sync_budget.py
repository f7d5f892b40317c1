"""Alert Updated against a Sekoia.io that enforces its request budget (5 requests a second per key, SEKOIA.md §9).

A person acknowledges N alerts at once in the simulated Sekoia.io (budget on, `lab/doubles/sekoia/budget.py`); the
trigger runs as the platform runs it, with its default settings. Prints the time until every change is emitted, the
trigger's Sekoia.io requests per change, and those the budget refused (429) or blocked (after an anomaly).
Usage, from the repository root: .venv/bin/python benchmarks/sync_budget.py [alerts, default 200]
"""

import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from lab.doubles.sekoia import SekoiaSimulator  # noqa: E402
from lab.doubles.sekoia.budget import RequestBudget  # noqa: E402
from lab.doubles.symphony import Symphony  # noqa: E402

KEY = "benchmark-key"
TRIGGER = "AlertUpdatedTrigger"
TIMEOUT = 600.0


def main() -> None:
    alerts_count = int(sys.argv[1]) if len(sys.argv) > 1 else 200
    emitted: set[str] = set()
    arrived = threading.Condition()

    def on_event(event: dict) -> None:
        if event["event"]["change"] == "status":
            with arrived:
                emitted.add(event["event"]["alert_uuid"])
                arrived.notify_all()

    budget = RequestBudget()
    with (
        SekoiaSimulator(api_key=KEY, seed_samples=False, budget=budget) as sekoia,
        Symphony() as symphony,
        tempfile.TemporaryDirectory() as data_path,
    ):
        alerts = [sekoia.add_alert(events=0, notify=False) for _ in range(alerts_count)]
        configuration = {"base_url": sekoia.url, "api_key": KEY, "xsoar_url": "http://127.0.0.1:9/unused"}
        run = symphony.start_trigger(TRIGGER, configuration, {}, data_path=Path(data_path), on_event=on_event)
        sekoia.wait_for_clients(1, timeout=60)
        time.sleep(2.0)  # let the first catch-up end
        before = budget.counts.get(KEY)
        requests_before = before.requests if before else 0
        refused_before = before.refused if before else 0
        started = time.monotonic()
        for alert in alerts:
            sekoia.change_status_as_person(alert["uuid"], "Acknowledged")
        with arrived:
            done = arrived.wait_for(lambda: len(emitted) >= alerts_count, TIMEOUT)
        elapsed = time.monotonic() - started
        counts = budget.counts[KEY]
        requests = counts.requests - requests_before
        refused = counts.refused - refused_before
        print(
            f"{alerts_count} alerts acknowledged at once, budget on (5 requests a second per key):\n"
            f"  emitted {len(emitted)}/{alerts_count} in {elapsed:.1f} s{'' if done else ' (timed out)'}\n"
            f"  Sekoia.io requests {requests} ({requests / alerts_count:.2f} per change), "
            f"refused {refused} (429), of them during a block {counts.blocked}, blocks {counts.blocks}\n"
            f"  by route: {dict(sekoia.request_counts)}"
        )
        run.stop()


if __name__ == "__main__":
    main()
