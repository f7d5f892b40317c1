"""The whole chain on one machine: simulated Sekoia.io and XSOAR, the shipped playbook, its runs, the incidents."""

import secrets
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from rich.console import Console
from rich.progress import Progress

from lab.history import History
from lab.playbook import Catalogue, load_playbook
from lab.runner import PlaybookRunner, RunnerOptions
from lab.sekoia_simulator import SekoiaSimulator
from lab.server import wait_for_interrupt
from lab.symphony import Symphony
from lab.views import incidents_table, runs_table
from lab.xsoar_mapper import INCIDENT_TYPE
from lab.xsoar_simulator import XsoarSimulator

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_PLAYBOOK = REPO_ROOT / "playbooks" / "create_incident_on_cortex_xsoar.json"
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
    {"events": 0, "rule": None, "urgency": {"current_value": 10}, "title": "Alert without rule nor events"},
    {
        "events": 5,
        "rule": {"uuid": "2e7a5b3c-0d9f-4e4a-9b32-c3d4e5f6a7b8", "name": "Ransom note written", "type": "sigma"},
        "urgency": {"current_value": 45, "display": "High"},
        "title": "README_RESTORE.txt written in 40 folders",
    },
]


@dataclass(frozen=True)
class DemoOptions:
    alerts: int = 5
    mode: Literal["webhook", "api"] = "webhook"
    playbook: Path = DEFAULT_PLAYBOOK
    in_process: bool = True
    stay: bool = False
    timeout: float = 120.0
    state: Path = REPO_ROOT / ".state"
    module_dir: Path = REPO_ROOT  # the folder whose main.py runs the blocks (e.g. a precompiled copy of the image)


def varied_alert(index: int) -> dict[str, Any]:
    """The index-th alert of the demo: several urgencies, event counts, one without rule, one without last_seen_at."""
    return dict(VARIED_ALERTS[index % len(VARIED_ALERTS)])


def module_configuration(sekoia: SekoiaSimulator, xsoar: XsoarSimulator, mode: str, keys: dict[str, str]) -> dict:
    config: dict[str, Any] = {"base_url": sekoia.url, "api_key": keys["sekoia"], "xsoar_mode": mode}
    if mode == "api":
        return config | {"xsoar_url": xsoar.api_url_v8, "xsoar_api_key": keys["xsoar"], "xsoar_api_key_id": "1"}
    return config | {"xsoar_url": xsoar.webhook_url, "xsoar_token": keys["xsoar"]}


@contextmanager
def running_chain(options: DemoOptions, listener=None) -> Iterator[tuple[SekoiaSimulator, XsoarSimulator, Any]]:
    """Simulators, the platform stand-in and the runner of the playbook, all on 127.0.0.1."""
    keys = {"sekoia": secrets.token_urlsafe(16), "xsoar": secrets.token_urlsafe(16)}
    with ExitStack() as stack:
        sekoia = stack.enter_context(SekoiaSimulator(api_key=keys["sekoia"], seed_samples=False))
        xsoar = stack.enter_context(
            XsoarSimulator(
                webhook_token=keys["xsoar"], api_key=keys["xsoar"], api_key_id="1", webhook_incident_type=INCIDENT_TYPE
            )
        )
        symphony = stack.enter_context(Symphony(module_dir=options.module_dir))
        config = module_configuration(sekoia, xsoar, options.mode, keys)
        options.state.mkdir(parents=True, exist_ok=True)
        history = stack.enter_context(History(options.state / "runs.sqlite3", secrets=keys.values()))
        data_root = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="playbook-data-")))
        runner = PlaybookRunner(
            load_playbook(options.playbook),
            Catalogue.from_module(),
            symphony,
            config,
            history,
            data_root,
            RunnerOptions(in_process=options.in_process),
            listener,
        )
        runner.start()
        stack.callback(runner.stop)
        sekoia.wait_for_clients(1, timeout=30)
        yield sekoia, xsoar, runner


def unseen_end_line(alerts: list[dict[str, Any]], incidents: list[dict[str, Any]]) -> str:
    """How the alerts that have events but no `last_seen_at` fared: the events of their incidents."""
    events = {incident["alertId"]: incident["events"] for incident in incidents}
    unseen = [alert["short_id"] for alert in alerts if alert.get("last_seen_at") is None and alert.get("similar")]
    with_events = sum(1 for short_id in unseen if events.get(short_id))
    return f"{len(unseen)} alert(s) with events but no last_seen_at, {with_events} of their incidents with events"


def run_demo(options: DemoOptions, console: Console) -> bool:
    """Raise the alerts, wait for their incidents, print the runs and the incidents; True when all arrived."""
    finished: list[tuple[int, str, str]] = []
    done = threading.Event()

    def on_run(run_id: int, status: str, summary: str) -> None:
        finished.append((run_id, status, summary))
        if len(finished) >= options.alerts:
            done.set()

    with running_chain(options, on_run) as (sekoia, xsoar, runner):
        console.print(f"Sekoia.io simulator {sekoia.url} (LiveAPI {sekoia.liveapi_url})")
        console.print(f"XSOAR simulator     {xsoar.url} ({options.mode} mode)")
        console.print(f"Playbook            {options.playbook.relative_to(REPO_ROOT)}")
        started = time.monotonic()
        with Progress(console=console, transient=True) as progress:
            task = progress.add_task("alerts -> incidents", total=options.alerts)
            raised = [sekoia.add_alert(**varied_alert(index)) for index in range(options.alerts)]
            deadline = started + options.timeout
            while not done.is_set() and time.monotonic() < deadline:
                progress.update(task, completed=len(finished))
                done.wait(0.1)
        elapsed = time.monotonic() - started
        complete = done.is_set() and len(xsoar.incidents) >= options.alerts
        console.print(runs_table(runner.history.recent_runs(limit=options.alerts)))
        console.print(incidents_table(xsoar.summary()))
        failed = sum(1 for _, status, _ in finished if status != "succeeded")
        console.print(
            f"{options.alerts} alert(s) raised, {len(finished)} run(s) finished ({failed} failed), "
            f"{len(xsoar.incidents)} incident(s) in XSOAR, in {elapsed:.2f} s"
        )
        console.print(unseen_end_line(raised, xsoar.summary()))
        console.print("Inspect a run: .venv/bin/python -m lab show <run>   List them: .venv/bin/python -m lab runs")
        if options.stay:
            console.print("Staying up (Ctrl-C to stop): point a browser or curl at the URLs above.")
            wait_for_interrupt()
        return complete and failed == 0
