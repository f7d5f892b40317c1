"""The demo's sync round through the runner: the creation playbook and both sync playbooks at once, each trigger its
own process; changes made as a person on one side reach the other once, and the module's own changes stop there."""

from pathlib import Path

import pytest

from lab.tools.chain import DEFAULT_PLAYBOOK, DemoOptions, running_playbooks
from lab.tools.runner import FinishedRun, event_summary
from lab.tools.sync_round import (
    ALERT_COMMENT,
    CLOSE_NOTES,
    EVENTS_BEFORE,
    INCIDENT_NOTE,
    NEW_EVENTS,
    SYNC_PLAYBOOKS,
    URGENCY_AFTER,
    pair_states,
    run_sync_round,
    sync_playbook_names,
    wait_until,
)
from xsoar_module.sync.marker import is_marked


@pytest.mark.long
@pytest.mark.parametrize("mode", ["webhook", "api"])
def test_the_sync_round_crosses_each_change_once(tmp_path: Path, mode: str):
    finished: list[FinishedRun] = []
    options = DemoOptions(mode=mode, state=tmp_path, sync=True, poll_interval=0.5)  # type: ignore[arg-type]
    with running_playbooks(options, [DEFAULT_PLAYBOOK, *SYNC_PLAYBOOKS], observer=finished.append) as chain:
        alerts = [chain.sekoia.add_alert(events=1) for _ in range(4)]
        assert wait_until(lambda: len(finished) >= 4, 60)
        report = run_sync_round(chain, alerts, finished, timeout=60)
        closed, rejected, commented, noted, risen = pair_states(chain, report.pairs)
    assert report.ok, (report.line(), report.crossed)
    assert (report.sync_runs, report.echoes, report.failed_runs) == (5, 0, 0)
    assert (closed["sekoia_status"], closed["xsoar_status"], closed["close_notes"]) == (
        "Closed",
        "Closed",
        CLOSE_NOTES,
    )
    assert (rejected["sekoia_status"], rejected["xsoar_status"], rejected["close_reason"]) == (
        "Rejected",
        "Closed",
        "False Positive",
    )
    assert is_marked(rejected["close_notes"])
    mirrored = [entry for entry in commented["entries"] if ALERT_COMMENT in entry]
    assert len(mirrored) == 1 and is_marked(mirrored[0]) and commented["comments"] == [ALERT_COMMENT]
    copies = [comment for comment in noted["comments"] if INCIDENT_NOTE in comment]
    assert len(copies) == 1 and is_marked(copies[0]) and noted["entries"] == [INCIDENT_NOTE]
    sync_events = [run.event for run in finished if run.playbook in sync_playbook_names()]
    assert sorted(str(event.get("change")) for event in sync_events) == [
        "closed",
        "comment",
        "note",
        "status",
        "urgency",
    ]
    assert (risen["urgency"], risen["severity"], risen["incident_urgency"]) == (URGENCY_AFTER, 4, URGENCY_AFTER)
    assert risen["events"] == EVENTS_BEFORE + NEW_EVENTS and risen["xsoar_status"] == "Active"


def test_run_summaries_name_the_change():
    assert event_summary({"short_id": "AL1", "change": "status", "status_name": "Rejected"}) == "AL1 status Rejected"
    assert event_summary({"short_id": "AL1", "change": "comment", "comment": {"uuid": "u"}}) == "AL1 comment"
    assert event_summary({"short_id": "AL1", "change": "urgency", "urgency": {"value": 88}}) == "AL1 urgency 88"
    assert (
        event_summary({"incident_id": "7", "alert_short_id": "AL1", "change": "closed"}) == "incident 7 closed (AL1)"
    )
    assert event_summary({"short_id": "AL1", "rule": {"name": "VPN brute force"}}) == "AL1 VPN brute force"
