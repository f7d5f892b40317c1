"""A small sync soak as a correctness test: random changes on both sides through the shipped playbooks, LiveAPI drops
and a restart of each sync trigger; both sides converge, every comment crosses once, nothing echoes."""

import pytest

from benchmarks.harness.sync_soak import TO_SEKOIA, TO_XSOAR, SyncSoakPlan, run_sync_soak


@pytest.mark.long
def test_random_changes_on_both_sides_converge_without_echo_loss_or_duplicate():
    """Pairs take no rest between changes (a person acts as soon as the last change crossed, within the same second
    or the same poll) and a quarter of the steps change both sides at once, up to 0.6 s apart."""
    plan = SyncSoakPlan(
        alerts=20,
        changes=40,
        simultaneous=0.25,
        conflict_gap=0.6,
        rate=20.0,
        poll_interval=0.3,
        drop_every=2.0,
        crossing_timeout=10.0,
        rest=0.0,
    )
    report = run_sync_soak(plan)
    assert report.changes >= 40 and report.restarts == 2 and report.drops >= 1, "\n".join(report.lines())
    assert report.converged == report.pairs == 20, "\n".join(report.lines() + report.apart + report.missed)
    assert (report.duplicated, report.echoes, report.lost) == (0, 0, 0), "\n".join(report.lines() + report.missed)
    assert report.delays[TO_XSOAR] and report.delays[TO_SEKOIA], "\n".join(report.lines())
