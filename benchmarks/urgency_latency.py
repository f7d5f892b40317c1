"""Delay from an alert's urgency change to its incident's new severity, without load: the two-block creation playbook
makes the incidents, then the shipped sync playbook (Alert Updated -> Update Incident, with fetch_events as shipped)
carries one urgency change at a time, Moderate -> Urgent with one more event, from `change_urgency` in the Sekoia.io
simulator (its LiveAPI message) to the XSOAR simulator holding severity 4 (read every 2 ms).

Usage, from the repository root: .venv/bin/python benchmarks/urgency_latency.py [changes] [--process]
(`--process`: each block its own process, as the platform runs them; else in the runner's process)
"""

import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.harness.measure import percentile  # noqa: E402
from lab.tools.chain import DemoOptions, running_playbooks  # noqa: E402
from lab.tools.playbook import REPO_ROOT  # noqa: E402
from lab.tools.runner import FinishedRun  # noqa: E402
from lab.tools.sync_round import incident_of, sync_playbook_names, wait_until  # noqa: E402

CREATION_PLAYBOOK = REPO_ROOT / "playbooks" / "create_incident_on_cortex_xsoar_two_blocks.json"
SYNC_PLAYBOOK = REPO_ROOT / "playbooks" / "sync_alert_changes_to_xsoar.json"
MODERATE = {"current_value": 30, "value": 30, "display": "Moderate"}
URGENT, SPACING, TIMEOUT, CREATION_TIMEOUT = 85, 0.3, 60.0, 600.0


def main() -> int:
    changes = int(next((arg for arg in sys.argv[1:] if arg.isdigit()), "20"))
    in_process = "--process" not in sys.argv
    finished: list[FinishedRun] = []
    with tempfile.TemporaryDirectory() as state:
        options = DemoOptions(mode="api", state=Path(state), sync=True, in_process=in_process)
        with running_playbooks(options, [CREATION_PLAYBOOK, SYNC_PLAYBOOK], observer=finished.append) as chain:
            sekoia, xsoar = chain.sekoia, chain.xsoar
            alerts = [sekoia.add_alert(events=2, urgency=MODERATE) for _ in range(changes)]
            created = lambda: all(incident_of(xsoar, alert["short_id"]) for alert in alerts)  # noqa: E731
            if not wait_until(created, CREATION_TIMEOUT):
                print("the incidents were not all created")
                return 1
            chain.runners.wait_idle(CREATION_TIMEOUT)
            delays: list[float] = []
            for alert in alerts:
                incident_id = incident_of(xsoar, alert["short_id"]) or ""
                made = time.monotonic()
                sekoia.change_urgency(alert["uuid"], URGENT, new_events=1)
                deadline = made + TIMEOUT
                while xsoar.incident(incident_id)["severity"] != 4 and time.monotonic() < deadline:
                    time.sleep(0.002)
                delays.append(time.monotonic() - made)
                chain.runners.wait_idle(TIMEOUT)
                time.sleep(SPACING)
            runs = [run for run in finished if run.playbook in sync_playbook_names()]
            failed = sum(1 for run in runs if run.status != "succeeded")
    how = "in the runner's process" if in_process else "one process per block"
    print(
        f"urgency -> severity, {len(delays)} changes one at a time ({how}): median "
        f"{statistics.median(delays) * 1000:.0f} ms, p95 {percentile(delays, 0.95) * 1000:.0f} ms, "
        f"max {max(delays) * 1000:.0f} ms; {len(runs)} sync run(s), {failed} failed"
    )
    return 0 if failed == 0 and len(runs) == changes and max(delays) < TIMEOUT else 1


if __name__ == "__main__":
    sys.exit(main())
