"""Sync soak: 500 alerts with their incidents, 2,000 random changes made as a person on both sides (statuses and
comments both ways, a tenth of the steps on both sides of one pair at once, up to 1.5 s apart in either order), the
LiveAPI dropped every 15 s, Alert Updated then Incident Updated killed and started again; then what converged,
duplicated, echoed or was lost.

Usage, from the repository root:
    .venv/bin/python benchmarks/sync_soak.py [alerts] [changes] [poll interval s] [steps per second] [watched]
`watched` sets Incident Updated's watched_open_incidents (default 100: each poll reads the war rooms of 100 open
incidents, the next 100 at the next poll, all in turn).
Counts and rules: benchmarks/harness/sync_soak.py. Exits 1 when a pair is apart, a comment is duplicated, a comment
or status change is lost (a status change that lost a simultaneous step to a later one on the other side is not), or
an echo ran.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.harness.sync_soak import SyncSoakPlan, run_sync_soak  # noqa: E402


def main() -> int:
    alerts = int(sys.argv[1]) if len(sys.argv) > 1 else 500
    changes = int(sys.argv[2]) if len(sys.argv) > 2 else 2000
    interval = float(sys.argv[3]) if len(sys.argv) > 3 else 1.0
    rate = float(sys.argv[4]) if len(sys.argv) > 4 else SyncSoakPlan.rate
    watched = {"watched_open_incidents": int(sys.argv[5])} if len(sys.argv) > 5 else {}
    plan = SyncSoakPlan(alerts=alerts, changes=changes, poll_interval=interval, rate=rate, incident_updated=watched)
    print(f"sync soak: {plan}", flush=True)
    report = run_sync_soak(plan, lambda line: print(line, flush=True))
    print("\n".join(report.lines()))
    for line in report.apart[:20]:
        print(f"  apart: {line}")
    for line in report.missed[:40]:
        print(f"  {line}")
    print("PASS" if report.ok else "FAIL")
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())
