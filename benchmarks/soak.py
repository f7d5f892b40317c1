"""Soak under injected faults: 1,000 alerts while XSOAR answers 30% 503/429/slow, the Sekoia.io API 10% 5xx, the
LiveAPI connection is dropped every 20 s and the trigger is killed and restarted 3 times; loopback only.

Usage, from the repository root: .venv/bin/python benchmarks/soak.py [api|webhook] [alerts]
API mode must end with every alert delivered once; webhook mode with none lost (duplicates are reported).
"""

import sys
from pathlib import Path
from typing import Literal

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.harness.soak import SoakPlan, run_soak  # noqa: E402


def main() -> int:
    mode: Literal["webhook", "api"] = "webhook" if sys.argv[1:2] == ["webhook"] else "api"
    alerts = int(sys.argv[2]) if len(sys.argv) > 2 else 1000
    plan = SoakPlan(alerts=alerts, mode=mode)
    print(f"soak: {plan}", flush=True)
    report = run_soak(plan, lambda line: print(line, flush=True))
    print("\n".join(report.lines()))
    ok = report.lost == 0 and (mode == "webhook" or report.duplicated == 0)
    print("PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
