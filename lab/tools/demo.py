"""The whole chain on one machine: simulated Sekoia.io and XSOAR, the shipped playbooks, their runs, the incidents,
then the sync round (lab/tools/sync_round.py): changes made as a person on either side cross to the other."""

import threading
import time
from typing import Any

from rich.console import Console
from rich.progress import Progress

from lab.doubles.server import Interrupts
from lab.tools.chain import REPO_ROOT, Chain, DemoOptions, running_playbooks
from lab.tools.playbook import load_playbook
from lab.tools.runner import FinishedRun
from lab.tools.sync_round import SYNC_PLAYBOOKS, pair_states, run_sync_round, sync_playbook_names
from lab.tools.views import incidents_table, pair_states_table, runs_table, sync_runs_table

LATE_INDEXING = 6.0  # seconds from the demo's late alert to its events being searchable (the others: the default)
VARIED_ALERTS: list[dict[str, Any]] = [
    {"events": 3},
    {
        "events": 12,
        "rule": {"uuid": "0c5e3f1a-8b7d-4c2e-9f10-a1b2c3d4e5f6", "name": "VPN brute force", "type": "sigma"},
        "urgency": {"current_value": 85, "display": "Urgent"},
        "title": "Brute force on the VPN gateway",
        "last_seen_at": None,  # as a third of real alerts: the events are found all the same
    },
    {
        "events": 1,
        "rule": {"uuid": "1d6f4a2b-9c8e-4d3f-8a21-b2c3d4e5f6a7", "name": "DNS tunnelling", "type": "anomaly"},
        "urgency": {"current_value": 30},
        "title": "Long TXT queries to a rare domain",
    },
    {"events": 1, "rule": None, "urgency": {"current_value": 10}, "title": "Alert without rule"},
    {
        "events": 5,
        "rule": {"uuid": "2e7a5b3c-0d9f-4e4a-9b32-c3d4e5f6a7b8", "name": "Ransom note written", "type": "sigma"},
        "urgency": {"current_value": 45, "display": "High"},
        "title": "README_RESTORE.txt written in 40 folders",
        "indexing_delay": LATE_INDEXING,  # as found on Sekoia.io: the events searchable seconds after the alert
    },
]


def varied_alert(index: int) -> dict[str, Any]:
    """The index-th alert of the demo: several urgencies, event counts, one without rule, one without last_seen_at,
    one whose events are indexed later than the others'."""
    return dict(VARIED_ALERTS[index % len(VARIED_ALERTS)])


def unseen_end_line(alerts: list[dict[str, Any]], incidents: list[dict[str, Any]]) -> str:
    """How the alerts that have events but no `last_seen_at` fared: the events of their incidents."""
    events = {incident["alertId"]: incident["events"] for incident in incidents}
    unseen = [alert["short_id"] for alert in alerts if alert.get("last_seen_at") is None and alert.get("similar")]
    with_events = sum(1 for short_id in unseen if events.get(short_id))
    return f"{len(unseen)} alert(s) with events but no last_seen_at, {with_events} of their incidents with events"


def late_events_line(alerts: list[dict[str, Any]], incidents: list[dict[str, Any]], delay: float) -> str:
    """How the alerts fared whose events were indexed after them (`delay` s, the demo's late one LATE_INDEXING s):
    the events of their incidents (all of them, up to 10, Create Incident's max_events)."""
    events = {incident["alertId"]: incident["events"] for incident in incidents}
    late = [alert for alert in alerts if alert.get("similar")]
    complete = sum(1 for alert in late if events.get(alert["short_id"]) == min(alert["similar"], 10))
    latest = [
        f"{alert['short_id']}: {events.get(alert['short_id'], 0)} of {alert['similar']} events in its incident"
        for index, alert in enumerate(alerts)
        if "indexing_delay" in varied_alert(index)
    ]
    later = f" ({LATE_INDEXING:g} s for {'; '.join(latest)})" if latest else ""
    return (
        f"{len(late)} alert(s) whose events Sekoia.io indexed {delay:g} s after the alert{later}, {complete} of their "
        "incidents with all their events"
    )


def run_demo(options: DemoOptions, console: Console) -> bool:
    """Raise the alerts, wait for their incidents, print the runs and the incidents, then (with `sync`) the sync
    round; True when every alert got its incident and every change crossed once."""
    finished: list[FinishedRun] = []
    created = threading.Event()
    playbook_name = load_playbook(options.playbook).name

    def on_run(run: FinishedRun) -> None:
        finished.append(run)
        if sum(1 for run in finished if run.playbook == playbook_name) >= options.alerts:
            created.set()

    playbooks = [options.playbook, *(SYNC_PLAYBOOKS if options.sync else ())]
    with running_playbooks(options, playbooks, observer=on_run) as chain:
        sekoia, xsoar, history = chain.sekoia, chain.xsoar, chain.runners.runners[0].history
        console.print(f"Sekoia.io simulator {sekoia.url} (LiveAPI {sekoia.liveapi_url})")
        console.print(f"XSOAR simulator     {xsoar.url} ({options.mode} mode)")
        for path in playbooks:
            console.print(
                f"Playbook            {path.relative_to(REPO_ROOT) if path.is_relative_to(REPO_ROOT) else path}"
            )
        started = time.monotonic()
        with Progress(console=console, transient=True) as progress:
            task = progress.add_task("alerts -> incidents", total=options.alerts)
            raised = [sekoia.add_alert(**varied_alert(index)) for index in range(options.alerts)]
            deadline = started + options.timeout
            while not created.is_set() and time.monotonic() < deadline:
                progress.update(task, completed=len(finished))
                created.wait(0.1)
        elapsed = time.monotonic() - started
        complete = created.is_set() and len(xsoar.incidents) >= options.alerts
        console.print(runs_table(history.recent_runs(limit=options.alerts)))
        console.print(incidents_table(xsoar.summary()))
        creation_runs = [run for run in finished if run.playbook == playbook_name]
        failed = sum(1 for run in creation_runs if run.status != "succeeded")
        console.print(
            f"{options.alerts} alert(s) raised, {len(creation_runs)} run(s) finished ({failed} failed), "
            f"{len(xsoar.incidents)} incident(s) in XSOAR, in {elapsed:.2f} s"
        )
        console.print(unseen_end_line(raised, xsoar.summary()))
        console.print(late_events_line(raised, xsoar.summary(), options.indexing_delay))
        synced = not options.sync or show_sync_round(chain, raised, finished, options, console)
        console.print("Inspect a run: .venv/bin/python -m lab show <run>   List them: .venv/bin/python -m lab runs")
        if options.stay:
            console.print("Staying up (Ctrl-C to stop): point a browser or curl at the URLs above.")
            Interrupts().wait()
        return complete and failed == 0 and synced


def show_sync_round(
    chain: Chain, raised: list[dict[str, Any]], finished: list[FinishedRun], options: DemoOptions, console: Console
) -> bool:
    """The sync round (lab/tools/sync_round.py), then its runs and both sides' states; True when it went as
    expected."""
    console.print(
        f"Sync round: 2 changes made as a person in XSOAR, 2 in Sekoia.io, and an alert's urgency rising in Sekoia.io "
        f"(Incident Updated polls every "
        f"{options.poll_interval:g} s here; its default is 30 s)"
    )
    before = len(finished)
    report = run_sync_round(chain, raised, finished, options.timeout)
    sync_ids = {run.run_id for run in finished[before:] if run.playbook in sync_playbook_names()}
    history = chain.runners.runners[0].history
    console.print(sync_runs_table([run for run in history.recent_runs(limit=50) if run.id in sync_ids][::-1]))
    console.print(pair_states_table(pair_states(chain, report.pairs)))
    for change in report.crossed:
        console.print(f"  crossed: {change}")
    console.print(report.line())
    return report.ok
