"""Each block through the SDK protocol on loopback, and the cold start of an action.

Prints median and p95 wall time per block (warm, in-process, as a runtime keeping the module loaded would run it),
the HTTP requests each block made (counted by the simulators) and the cold start of an action (process start to the
`finished` callback). The import of main.py next to the bare SDK's: benchmarks/imports.py.
Usage, from the repository root: .venv/bin/python benchmarks/blocks.py [runs]
"""

import copy
import itertools
import json
import statistics
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.harness.measure import Timing, time_calls  # noqa: E402
from lab.doubles.sekoia import SekoiaSimulator  # noqa: E402
from lab.doubles.symphony import Symphony  # noqa: E402
from lab.doubles.xsoar import XsoarSimulator  # noqa: E402

KEYS = {"sekoia": "bench-sekoia-key", "xsoar": "bench-xsoar-key"}
ALERT = json.loads((ROOT / "lab" / "samples" / "alert.json").read_text())
EVENTS = json.loads((ROOT / "lab" / "samples" / "alert_events.json").read_text())["items"]
EVENTS_QUERY = {
    "query": f'alert_short_ids:"{ALERT["short_id"]}"',
    "earliest_time": ALERT["first_seen_at"],
    "latest_time": ALERT["last_seen_at"],
}


class Bench:
    def __init__(self, symphony: Symphony, sekoia: SekoiaSimulator, xsoar: XsoarSimulator, data_path: Path):
        self.symphony, self.sekoia, self.xsoar, self.data_path = symphony, sekoia, xsoar, data_path
        self.sekoia_config = {"base_url": sekoia.url, "api_key": KEYS["sekoia"], "xsoar_url": xsoar.webhook_url}
        self.webhook_config = self.sekoia_config | {"xsoar_token": KEYS["xsoar"]}
        self.api_config = self.sekoia_config | {
            "xsoar_mode": "api",
            "xsoar_url": xsoar.api_url_v8,
            "xsoar_api_key": KEYS["xsoar"],
            "xsoar_api_key_id": "1",
        }
        self._serial = itertools.count()

    def action(self, name: str, config: dict, arguments: dict, in_process: bool = True):
        result = self.symphony.run_action(name, config, arguments, data_path=self.data_path, in_process=in_process)
        if result.error or result.status != "finished":
            raise RuntimeError(f"{name} failed: {result.error or result.stderr}")
        return result

    def fresh_alert(self) -> dict:
        """The sample alert under a new short id, so that API mode creates instead of deduplicating."""
        alert = copy.deepcopy(ALERT)
        alert["short_id"] = f"ALbench{next(self._serial):05d}"
        return alert

    def measure(self, label: str, call, runs: int, requests) -> Timing:
        timing = time_calls(call, runs)
        print(f"{timing.line(label)}   {requests()}")
        return timing


def main() -> None:
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 30
    print(f"python {sys.version.split()[0]}, {runs} runs per block, loopback simulators, warm in-process blocks\n")
    with (
        SekoiaSimulator(api_key=KEYS["sekoia"]) as sekoia,
        XsoarSimulator(webhook_token=KEYS["xsoar"], api_key=KEYS["xsoar"], api_key_id="1") as xsoar,
        Symphony() as symphony,
        tempfile.TemporaryDirectory() as data,
    ):
        bench = Bench(symphony, sekoia, xsoar, Path(data))

        def sekoia_requests() -> str:
            made = sekoia.total_requests / (runs + 1)
            polls = sekoia.request_counts["GET /v1/sic/conf/events/search/jobs/{job}"] / (runs + 1)
            sekoia.reset_counts()
            return f"Sekoia requests/run {made:.1f}" + (f", status polls/run {polls:.1f}" if polls else "")

        def xsoar_requests() -> str:
            made = len(xsoar.requests) / (runs + 1)
            xsoar.reset()
            return f"XSOAR requests/run {made:.1f}"

        sekoia.reset_counts()
        bench.measure(
            "Get Alert",
            lambda: bench.action("GetAlert", bench.sekoia_config, {"uuid": ALERT["uuid"]}),
            runs,
            sekoia_requests,
        )
        instant = bench.measure(
            "Get Events, job finished at once",
            lambda: bench.action("GetEvents", bench.sekoia_config, EVENTS_QUERY),
            runs,
            sekoia_requests,
        )
        sekoia.job_duration = 0.3
        bench.measure(
            "Get Events, job finishing after 300 ms",
            lambda: bench.action("GetEvents", bench.sekoia_config, EVENTS_QUERY),
            runs,
            sekoia_requests,
        )
        sekoia.job_duration = 0.0
        xsoar.reset()
        bench.measure(
            "Create Incident, webhook",
            lambda: bench.action("CreateIncident", bench.webhook_config, {"alert": ALERT, "events": EVENTS}),
            runs,
            xsoar_requests,
        )
        bench.measure(
            "Create Incident, API (search + create)",
            lambda: bench.action("CreateIncident", bench.api_config, {"alert": bench.fresh_alert(), "events": EVENTS}),
            runs,
            xsoar_requests,
        )
        bench.measure(
            "Create Incident, API, already there (search only)",
            lambda: bench.action("CreateIncident", bench.api_config, {"alert": ALERT, "events": EVENTS}),
            runs,
            xsoar_requests,
        )
        print(
            f"\nGet Events with an instant job: {instant.median_ms:.1f} ms median; target < 50 ms "
            f"({50 / instant.median_ms:.1f}x under it); the module library's Get Events sleeps >= 1000 ms "
            f"({1000 / instant.median_ms:.0f}x slower)"
        )
        cold = [
            bench.action("GetAlert", bench.sekoia_config, {"uuid": ALERT["uuid"]}, in_process=False).duration
            for _ in range(5)
        ]
        print(
            f"\nCold start of Get Alert (process start -> finished callback): median {statistics.median(cold):.3f} s"
        )


if __name__ == "__main__":
    main()
