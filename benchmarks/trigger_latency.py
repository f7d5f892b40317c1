"""Alert Created latency and memory: run the trigger as the platform does, against the Sekoia.io simulator.

Prints the delay from an alert's creation in the simulator to its event reaching the platform stand-in (median and
95th percentile of 20, one at a time, 0.5 s apart: below the trigger's own limit of 4 alert requests a second), then
the trigger process's resident memory (VmRSS) after a burst of 1,000 more alerts.
Usage, from the repository root: .venv/bin/python benchmarks/trigger_latency.py
"""

import os
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
TRIGGER = "AlertCreatedTrigger"
SAMPLES = 20
SPACING = 0.5
BURST = 1000


def trigger_pid() -> int:
    """The trigger process started by this script (a child running `main.py AlertCreatedTrigger`)."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            command = (entry / "cmdline").read_bytes().split(b"\0")
            parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        if parent == os.getpid() and command[-2:-1] == [TRIGGER.encode()]:
            return int(entry.name)
    raise RuntimeError("the trigger process was not found")


def resident_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError("no VmRSS line")


def main() -> None:
    arrivals: dict[str, float] = {}
    arrived = threading.Condition()

    def on_event(event: dict) -> None:
        with arrived:
            arrivals[event["event"]["alert_uuid"]] = time.monotonic()
            arrived.notify_all()

    def wait_for(uuid: str, timeout: float = 30) -> float:
        with arrived:
            if not arrived.wait_for(lambda: uuid in arrivals, timeout):
                raise TimeoutError(f"no event for alert {uuid}")
            return arrivals[uuid]

    with (
        SekoiaSimulator(api_key=KEY, seed_samples=False) as sekoia,
        Symphony() as symphony,
        tempfile.TemporaryDirectory() as data_path,
    ):
        configuration = {"base_url": sekoia.url, "api_key": KEY, "xsoar_url": "http://127.0.0.1:9/unused"}
        run = symphony.start_trigger(TRIGGER, configuration, {}, data_path=Path(data_path), on_event=on_event)
        sekoia.wait_for_clients(1, timeout=30)
        pid = trigger_pid()
        time.sleep(1.0)  # let the first catch-up end

        delays = []
        for _ in range(SAMPLES):
            created = time.monotonic()
            alert = sekoia.add_alert(events=0)
            delays.append(wait_for(alert["uuid"]) - created)
            time.sleep(SPACING)
        print(
            f"latency over {SAMPLES} alerts, one at a time: median {statistics.median(delays) * 1000:.1f} ms, "
            f"p95 {percentile(delays, 0.95) * 1000:.1f} ms, max {max(delays) * 1000:.1f} ms"
        )
        print(f"resident memory before the burst: {resident_kib(pid) / 1024:.1f} MiB")

        started = time.monotonic()
        last = [sekoia.add_alert(events=0)["uuid"] for _ in range(BURST)][-1]
        created_in = time.monotonic() - started
        wait_for(last, timeout=300)
        with arrived:
            arrived.wait_for(lambda: len(arrivals) >= SAMPLES + BURST, 60)
        elapsed = time.monotonic() - started
        print(
            f"{BURST} alerts created in {created_in:.1f} s, all {len(arrivals) - SAMPLES} events received "
            f"after {elapsed:.1f} s ({BURST / elapsed:.0f} alerts/s)"
        )
        print(f"resident memory after {BURST} alerts: {resident_kib(pid) / 1024:.1f} MiB (VmRSS)")
        print(
            f"events: {len(run.events)}, distinct alerts: {len(arrivals)}, "
            f"Sekoia.io requests: {dict(sekoia.request_counts)}"
        )
        run.stop()


if __name__ == "__main__":
    main()
