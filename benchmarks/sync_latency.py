"""Delay of a change crossing each way, without load: one change at a time, made as a person, from the change to
the end of its run on the other side (the mirrored change made), each change after a random wait of up to one poll
interval, so that changes fall at any moment of the poll cycle. Sekoia.io -> XSOAR rides the LiveAPI; XSOAR ->
Sekoia.io waits for Incident Updated's next poll, so its delay is about half the poll interval plus the run: with
the default interval of 30 s, the poll dominates (about 15 s on average, 30 s at worst).

Usage, from the repository root: .venv/bin/python benchmarks/sync_latency.py [changes] [poll interval s]
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.harness.sync_soak import TO_SEKOIA, TO_XSOAR, SyncSoakPlan, run_sync_soak  # noqa: E402


def main() -> int:
    changes = int(sys.argv[1]) if len(sys.argv) > 1 else 60
    interval = float(sys.argv[2]) if len(sys.argv) > 2 else 1.0
    plan = SyncSoakPlan(
        alerts=10,
        changes=changes,
        simultaneous=0.0,
        rate=4.0,
        poll_interval=interval,
        drop_every=3600.0,
        restarts=False,
        max_busy=1,
        jitter=interval,
    )
    print(f"sync latency: {changes} changes one at a time, Incident Updated polls every {interval:g} s", flush=True)
    report = run_sync_soak(plan, lambda line: print(line, flush=True))
    for way in (TO_XSOAR, TO_SEKOIA):
        median = report.median_ms(way)
        print(f"{way}: median {'-' if median is None else f'{median:.0f} ms'} (n={len(report.delays[way])})")
    print("\n".join(report.lines()))
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())
