"""A small soak as a correctness test: alerts under injected faults and a trigger restart, none lost."""

import pytest

from benchmarks.harness.soak import SoakPlan, run_soak


@pytest.mark.long
@pytest.mark.parametrize("mode", ["api", "webhook"])
def test_no_alert_lost_under_faults_and_a_restart(mode: str):
    plan = SoakPlan(alerts=60, mode=mode, raise_over=3.0, drop_every=1.0, restarts=1, timeout=90.0)
    report = run_soak(plan)
    assert report.raised == 60 and report.restarts == 1 and report.drops >= 1
    assert report.faults_xsoar > 0 and report.faults_sekoia > 0
    assert report.lost == 0, "\n".join(report.lines())
    if mode == "api":  # one open incident per alert: a second run's, at the same time as the first, is closed
        assert report.duplicated == 0, "\n".join(report.lines())
