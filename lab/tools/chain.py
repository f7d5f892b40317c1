"""The chain on 127.0.0.1 that the demo, the soaks and the tests run: both simulators, the Symphony stand-in and a
runner per playbook, with one module configuration for every block."""

import secrets
import tempfile
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from lab.doubles.sekoia import SekoiaSimulator
from lab.doubles.sekoia import simulator as sekoia_simulator
from lab.doubles.symphony import Symphony
from lab.doubles.xsoar import XsoarSimulator
from lab.doubles.xsoar.mapper import INCIDENT_TYPE
from lab.tools.history import History
from lab.tools.playbook import REPO_ROOT, Catalogue, Playbook, load_playbook
from lab.tools.runner import PlaybookRunner, PlaybookRunners, RunnerOptions, RunObserver

DEFAULT_PLAYBOOK = REPO_ROOT / "playbooks" / "create_incident_on_cortex_xsoar.json"
LIVEAPI_TRIGGERS = frozenset({"AlertCreatedTrigger", "AlertUpdatedTrigger"})
POLLING_TRIGGER = "IncidentUpdatedTrigger"
POLL_INTERVAL_SETTING = "interval"  # Incident Updated's poll interval in seconds (default 30)


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
    # seconds from a new alert to its events being searchable (the simulator's default when built)
    indexing_delay: float = field(default_factory=lambda: sekoia_simulator.DEFAULT_INDEXING_DELAY)


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
