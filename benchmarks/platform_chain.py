"""The chain as users feel it on the platform: alert created -> incident in XSOAR, one process per block.

As `make demo ARGS=--process` runs it: the trigger in its own process, then every block of a run as a fresh
`python main.py <block>` process (the platform starts a container per block) in a precompiled copy of the image's
/app, against the simulated Sekoia.io and XSOAR on loopback. The four-block playbook (the documentation's shape) and
the two-block one run side by side, each with its own simulators and trigger; single alerts alternate between them
(each waits for its incident and for the end of its run), so that the load of a shared machine weighs on both alike.
After each alert of the four-block playbook, a bare HTTP-request block (an SDK action whose run is one `requests.post`
of the same incident, `benchmarks/cold_block.py`) runs started the same way, against an XSOAR of its own: its row
stands beside Create Incident's.
Usage, from the repository root: .venv/bin/python benchmarks/platform_chain.py [alerts per playbook] [webhook|api]
"""

import statistics
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path
from typing import Literal

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.cold_block import bare_arguments, bare_block, last_body  # noqa: E402
from benchmarks.harness.measure import Arrivals, Timing, load_line  # noqa: E402
from lab.doubles.xsoar import XsoarSimulator  # noqa: E402
from lab.tools.chain import DemoOptions, running_chain  # noqa: E402
from lab.tools.image import image_app  # noqa: E402

PLAYBOOKS = {
    "four blocks": ROOT / "playbooks" / "create_incident_on_cortex_xsoar.json",
    "two blocks": ROOT / "playbooks" / "create_incident_on_cortex_xsoar_two_blocks.json",
}
TIMEOUT = 120.0
BARE_TOKEN = "bare-block-token"


def block_medians(runner, runs: int) -> dict[str, float]:
    """Median duration of each block of the latest runs, as the runner recorded them (run call to process exit)."""
    durations: dict[str, list[float]] = {}
    for run in runner.history.recent_runs(limit=runs):
        for block in run.blocks:
            durations.setdefault(block.block_name, []).append(block.duration or 0.0)
    return {name: statistics.median(values) for name, values in durations.items()}


def main() -> None:
    alerts = int(sys.argv[1]) if len(sys.argv) > 1 else 20
    mode: Literal["webhook", "api"] = "api" if sys.argv[2:3] == ["api"] else "webhook"
    latencies: dict[str, list[float]] = {name: [] for name in PLAYBOOKS}
    with ExitStack() as stack:
        app = image_app(Path(stack.enter_context(tempfile.TemporaryDirectory())) / "app")
        bare = stack.enter_context(bare_block(Path(stack.enter_context(tempfile.TemporaryDirectory()))))
        bare_xsoar = stack.enter_context(XsoarSimulator(webhook_token=BARE_TOKEN))
        bare_runs: list[float] = []
        chains = {}
        for name, playbook in PLAYBOOKS.items():
            state = Path(stack.enter_context(tempfile.TemporaryDirectory()))
            options = DemoOptions(
                mode=mode, playbook=playbook, in_process=False, state=state, module_dir=app, indexing_delay=0
            )  # events searchable at once: the module's own delay (late events: benchmarks/late_events.py)
            sekoia, xsoar, runner = stack.enter_context(running_chain(options))
            arrivals = Arrivals()
            xsoar.on_incident = arrivals.record
            chains[name] = (sekoia, runner, arrivals, xsoar)
        for index in range(alerts):
            for name in list(PLAYBOOKS) if index % 2 == 0 else reversed(list(PLAYBOOKS)):
                sekoia, runner, arrivals, xsoar = chains[name]
                created = time.monotonic()
                short_id = sekoia.add_alert(events=3)["short_id"]
                if not arrivals.wait([short_id], TIMEOUT):
                    raise RuntimeError(f"{name}: no incident for {short_id} after {TIMEOUT:g} s")
                latencies[name].append(arrivals.times[short_id] - created)
                if not runner.wait_idle(TIMEOUT):
                    raise RuntimeError(f"{name}: the run of {short_id} did not end")
                if name == "four blocks" and mode == "webhook":
                    bare_runs.append(bare(bare_arguments(last_body(xsoar), bare_xsoar))[1])
        print(
            f"mode {mode}, one process per block (precompiled /app), loopback simulators, "
            f"{alerts} single alerts per playbook\n"
        )
        for name, samples in latencies.items():
            print(Timing(samples).line(f"{name}: alert created -> incident"))
            medians = block_medians(chains[name][1], alerts)
            print(f"  blocks (median): {', '.join(f'{block} {value:.2f} s' for block, value in medians.items())}")
        if bare_runs:
            bare_median, create = statistics.median(bare_runs), block_medians(chains["four blocks"][1], alerts)
            print(
                f"  bare requests.post block, started the same way (median): {bare_median:.2f} s; "
                f"four blocks' Create Incident / bare block: {create['Create Incident'] / bare_median:.3f}"
            )
        four, two = (statistics.median(latencies[name]) for name in PLAYBOOKS)
        print(f"\ntwo blocks / four blocks, median: {two / four:.2f} ({1000 * (four - two):.0f} ms less per alert)")
        print(load_line())


if __name__ == "__main__":
    main()
