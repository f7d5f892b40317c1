"""The whole chain on one machine: simulated Sekoia.io and XSOAR, the shipped playbooks, their runs, the incidents,
then the sync round (lab/sync_round.py): changes made as a person on either side cross to the other."""

import secrets
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from rich.console import Console
from rich.progress import Progress

from lab.history import History
from lab.playbook import Catalogue, Playbook, load_playbook
from lab.runner import FinishedRun, PlaybookRunner, PlaybookRunners, RunnerOptions, RunObserver
from lab.sekoia_simulator import SekoiaSimulator
from lab.sekoia_simulator.simulator import DEFAULT_INDEXING_DELAY
from lab.server import Interrupts
from lab.symphony import Symphony
from lab.sync_round import SYNC_PLAYBOOKS, pair_states, run_sync_round, sync_playbook_names
from lab.views import incidents_table, pair_states_table, runs_table, sync_runs_table
from lab.xsoar_mapper import INCIDENT_TYPE
from lab.xsoar_simulator import XsoarSimulator

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_PLAYBOOK = REPO_ROOT / "playbooks" / "create_incident_on_cortex_xsoar.json"
LIVEAPI_TRIGGERS = frozenset({"AlertCreatedTrigger", "AlertUpdatedTrigger"})
POLLING_TRIGGER = "IncidentUpdatedTrigger"
POLL_INTERVAL_SETTING = "interval"  # Incident Updated's poll interval in seconds (default 30)
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
        "indexing_delay": LATE_INDEXING,  # as issue 18 found: the events searchable seconds after the alert
    },
]


Mode = Literal["webhook", "api"]


def as_mode(text: str) -> Mode:
    """`webhook` or `api`; ValueError otherwise."""
    if text == "api":
        return "api"
    if text == "webhook":
        return "webhook"
    raise ValueError(f"mode must be webhook or api, not {text!r}")


@dataclass(frozen=True)
class DemoOptions:
    alerts: int = 5
    mode: Mode = "webhook"
    playbook: Path = DEFAULT_PLAYBOOK
    in_process: bool = True
    stay: bool = False
    timeout: float = 120.0
    state: Path = REPO_ROOT / ".state"
    sync: bool = False  # also run the sync playbooks, and end with the sync round
    poll_interval: float = 1.0  # Incident Updated's interval here (its default, 30 s, would make a slow demo)
    incident_updated: dict[str, Any] = field(default_factory=dict)  # more Incident Updated settings
    module_dir: Path = REPO_ROOT  # the folder whose main.py runs the blocks (e.g. a precompiled copy of the image)
    indexing_delay: float = DEFAULT_INDEXING_DELAY  # seconds from a new alert to its events being searchable


def varied_alert(index: int) -> dict[str, Any]:
    """The index-th alert of the demo: several urgencies, event counts, one without rule, one without last_seen_at,
    one whose events are indexed later than the others'."""
    return dict(VARIED_ALERTS[index % len(VARIED_ALERTS)])


def module_configuration(
    sekoia: SekoiaSimulator, xsoar: XsoarSimulator, mode: str, keys: dict[str, str], sync: bool = False
) -> dict:
    """One configuration for every block; with `sync`, a webhook-mode one also carries the XSOAR REST API settings."""
    config: dict[str, Any] = {"base_url": sekoia.url, "api_key": keys["sekoia"], "xsoar_mode": mode}
    api = {
        "xsoar_api_key": keys["xsoar"],
        "xsoar_api_key_id": "1",
        "xsoar_command_investigation_id": xsoar.playground_id,
    }
    if mode == "api":
        return config | api | {"xsoar_url": xsoar.api_url_v8}
    return config | {"xsoar_url": xsoar.webhook_url, "xsoar_token": keys["xsoar"]} | (api if sync else {})


@dataclass
class Chain:
    """What runs on 127.0.0.1: both simulators and the runners of the playbooks."""

    sekoia: SekoiaSimulator
    xsoar: XsoarSimulator
    runners: PlaybookRunners


def runner_options(playbook: Playbook, catalogue: Catalogue, options: DemoOptions) -> RunnerOptions:
    """In process or not; Incident Updated polls every `options.poll_interval` seconds (and takes the other settings
    of `options.incident_updated`)."""
    trigger = catalogue.find(playbook.trigger().module_uuid, playbook.trigger().block_uuid)
    polling = trigger is not None and trigger.docker_parameters == POLLING_TRIGGER
    overrides = {POLL_INTERVAL_SETTING: options.poll_interval} | options.incident_updated if polling else None
    return RunnerOptions(in_process=options.in_process, trigger_configuration=overrides)


@contextmanager
def running_playbooks(
    options: DemoOptions, playbooks: list[Path], listener=None, observer: RunObserver | None = None
) -> Iterator[Chain]:
    """Simulators, the platform stand-in and a runner per playbook (each trigger its own process), on 127.0.0.1."""
    keys = {"sekoia": secrets.token_urlsafe(16), "xsoar": secrets.token_urlsafe(16)}
    with ExitStack() as stack:
        sekoia = stack.enter_context(
            SekoiaSimulator(api_key=keys["sekoia"], seed_samples=False, indexing_delay=options.indexing_delay)
        )
        xsoar = stack.enter_context(
            XsoarSimulator(
                webhook_token=keys["xsoar"], api_key=keys["xsoar"], api_key_id="1", webhook_incident_type=INCIDENT_TYPE
            )
        )
        symphony = stack.enter_context(Symphony(module_dir=options.module_dir))
        config = module_configuration(sekoia, xsoar, options.mode, keys, sync=len(playbooks) > 1)
        options.state.mkdir(parents=True, exist_ok=True)
        history = stack.enter_context(History(options.state / "runs.sqlite3", secrets=keys.values()))
        data_root = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="playbook-data-")))
        catalogue = Catalogue.from_module()
        loaded = [load_playbook(path) for path in playbooks]
        runners = PlaybookRunners.build(
            [(playbook, runner_options(playbook, catalogue, options)) for playbook in loaded],
            catalogue,
            symphony,
            config,
            history,
            data_root,
            listener,
            observer,
        )
        runners.start()
        stack.callback(runners.stop)
        live = sum(1 for runner in runners.runners if runner.trigger_parameters in LIVEAPI_TRIGGERS)
        sekoia.wait_for_clients(live, timeout=30)
        yield Chain(sekoia, xsoar, runners)


@contextmanager
def running_chain(
    options: DemoOptions, listener=None
) -> Iterator[tuple[SekoiaSimulator, XsoarSimulator, PlaybookRunner]]:
    """Simulators, the platform stand-in and the runner of `options.playbook`, all on 127.0.0.1."""
    with running_playbooks(options, [options.playbook], listener) as chain:
        yield chain.sekoia, chain.xsoar, chain.runners.runners[0]


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
    """The sync round (lab/sync_round.py), then its runs and both sides' states; True when it went as expected."""
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
