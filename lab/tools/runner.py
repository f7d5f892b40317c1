"""Run playbooks the way Sekoia.io does: each trigger as its own process, one run per event, blocks in graph order.

Several playbooks run at once as in one Sekoia.io workspace (e.g. the creation playbook and both sync playbooks):
`PlaybookRunners` starts one `PlaybookRunner` per playbook, each with its own trigger process and data folder
(checkpoints never shared), all writing to one run history.
"""

import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lab.doubles.symphony import Symphony, TriggerRun
from lab.tools.checks import check_playbook
from lab.tools.history import History
from lab.tools.playbook import Catalogue, Node, Playbook, PlaybookError
from lab.tools.templating import TemplateError, build_context, render_arguments

RunListener = Callable[[int, str, str], None]


@dataclass(frozen=True)
class FinishedRun:
    """A run as an observer sees it once it ended: its trigger event and each block's results (by node id)."""

    run_id: int
    playbook: str
    status: str
    event: dict[str, Any]
    results: dict[str, Any]
    ended: float  # time.monotonic() when the run ended


RunObserver = Callable[[FinishedRun], None]


class RunnerError(Exception):
    """The playbook cannot be run: the message lists every problem found."""


@dataclass(frozen=True)
class RunnerOptions:
    in_process: bool = True
    concurrency: int = 4
    trigger_configuration: dict[str, Any] | None = None


def event_summary(event: dict[str, Any]) -> str:
    """What a run is about, for the run list: `ALz7Qm3KpW2x PowerShell Download Cradle` (a new alert),
    `ALz7Qm3KpW2x status Closed` or `ALz7Qm3KpW2x comment` (an alert change), `incident 12 closed (ALz7Qm3KpW2x)`."""
    if event.get("incident_id") is not None:
        alert = event.get("alert_short_id") or event.get("alert_uuid")
        parts = [f"incident {event['incident_id']}", str(event.get("change") or ""), f"({alert})" if alert else ""]
        return " ".join(part for part in parts if part)
    change = event.get("change")
    if change == "status":
        detail = f"status {event.get('status_name')}"
    elif change == "urgency":
        detail = f"urgency {(event.get('urgency') or {}).get('value')}"
    else:
        detail = str(change or (event.get("rule") or {}).get("name") or "")
    parts = [event.get("short_id") or event.get("alert_uuid") or "", detail]
    return " ".join(part for part in parts if part) or "(event without alert)"


class PlaybookRunner:
    """Starts the playbook's trigger and runs the blocks for each event; runs of different alerts overlap (bounded)."""

    def __init__(
        self,
        playbook: Playbook,
        catalogue: Catalogue,
        symphony: Symphony,
        module_configuration: dict[str, Any],
        history: History,
        data_root: Path,
        options: RunnerOptions = RunnerOptions(),
        listener: RunListener | None = None,
        observer: RunObserver | None = None,
    ):
        problems = check_playbook(playbook, catalogue)
        if problems:
            raise RunnerError(f"{playbook.name} cannot run:\n" + "\n".join(f"- {problem}" for problem in problems))
        self.playbook = playbook
        self.catalogue = catalogue
        self.symphony = symphony
        self.module_configuration = module_configuration
        self.history = history
        self.options = options
        self.listener = listener
        self.observer = observer
        self.trigger_data = data_root / "trigger"
        self.run_data = data_root / "runs"
        self.trigger: TriggerRun | None = None
        self._pool = ThreadPoolExecutor(max_workers=options.concurrency, thread_name_prefix="playbook-run")
        self._pending: set[Future] = set()
        self._lock = threading.Lock()

    @property
    def trigger_parameters(self) -> str | None:
        """The docker parameters of the playbook's trigger (e.g. `AlertCreatedTrigger`)."""
        return self._block(self.playbook.trigger()).docker_parameters

    def start(self) -> TriggerRun:
        node = self.playbook.trigger()
        block = self._block(node)
        configuration = (node.arguments or {}) | (self.options.trigger_configuration or {})
        self.trigger = self.symphony.start_trigger(
            block.docker_parameters,
            self.module_configuration,
            configuration,
            data_path=self.trigger_data,
            event_data_path=self.run_data,
            on_event=self.submit,
        )
        return self.trigger

    def submit(self, record: dict[str, Any]) -> Future:
        """Queue one playbook run for a trigger event."""
        future = self._pool.submit(self.run_event, record)
        with self._lock:
            self._pending.add(future)
        future.add_done_callback(self._forget)
        return future

    def wait_idle(self, timeout: float = 60.0) -> bool:
        """Wait until every queued run has finished."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                if not self._pending:
                    return True
            time.sleep(0.02)
        return False

    def stop(self) -> None:
        """Record the trigger's counters, stop it, start the runs of the events it already sent, wait for every run."""
        if self.trigger is not None:
            if (counters := self.trigger.counters()) is not None:
                self.history.record_counters(self.playbook.name, self.playbook.trigger().name, counters)
            if self.trigger.is_running():
                self.trigger.stop()
            self.trigger.record.close_hooks(wait=True)
        self._pool.shutdown(wait=True)

    def run_event(self, record: dict[str, Any]) -> int:
        """One playbook run: every block after the trigger, in graph order; the first failure ends it."""
        event = record.get("event") or {}
        summary = event_summary(event)
        run_id = self.history.start_run(self.playbook.name, self.playbook.uuid, summary)
        results: dict[str, Any] = {self.playbook.trigger().id: event}
        status, error = "succeeded", None
        try:
            for node_id in self.playbook.order_after_trigger():
                error = self._run_block(run_id, self.playbook.nodes[node_id], results)
                if error is not None:
                    status = "failed"
                    break
        except Exception as exc:  # the runner keeps serving the other runs
            status, error = "failed", f"the runner failed: {type(exc).__name__}: {exc}"
        self.history.finish_run(run_id, status, error)
        if self.listener is not None:
            self.listener(run_id, status, summary)
        if self.observer is not None:
            self.observer(FinishedRun(run_id, self.playbook.name, status, event, results, time.monotonic()))
        return run_id

    def _run_block(self, run_id: int, node: Node, results: dict[str, Any]) -> str | None:
        """Run one block and record it; the error that ends the run, if any."""
        started = time.time()
        block = self._block(node)
        try:
            arguments = render_arguments(node.arguments or {}, build_context(results), node.id)
        except TemplateError as exc:
            self.history.record_block(run_id, node.id, node.name, "failed", error=str(exc), duration=0.0)
            return f"node {node.id} ({node.name}): {exc}"
        outcome = self.symphony.run_action(
            block.docker_parameters,
            self.module_configuration,
            arguments,
            data_path=self.run_data,
            in_process=self.options.in_process,
        )
        failed = outcome.error is not None or outcome.status != "finished"
        self.history.record_block(
            run_id,
            node.id,
            node.name,
            "failed" if failed else "succeeded",
            arguments=arguments,
            results=outcome.results,
            logs=outcome.logs,
            error=outcome.error,
            duration=time.time() - started,
        )
        if failed:
            return f"node {node.id} ({node.name}): {outcome.error or outcome.status}"
        results[node.id] = outcome.results or {}
        return None

    def _block(self, node: Node):
        block = self.catalogue.find(node.module_uuid, node.block_uuid)
        if block is None or block.foreign:
            raise PlaybookError(f"node {node.id} ({node.name}) uses a block this runner cannot run")
        return block

    def _forget(self, future: Future) -> None:
        with self._lock:
            self._pending.discard(future)


class PlaybookRunners:
    """Several playbooks at once: one runner each (its own trigger process and data folder), one run history."""

    def __init__(self, runners: list[PlaybookRunner]):
        self.runners = runners

    @classmethod
    def build(
        cls,
        playbooks: list[tuple[Playbook, RunnerOptions]],
        catalogue: Catalogue,
        symphony: Symphony,
        module_configuration: dict[str, Any],
        history: History,
        data_root: Path,
        listener: RunListener | None = None,
        observer: RunObserver | None = None,
    ) -> "PlaybookRunners":
        """Check every playbook first (RunnerError lists each one's problems), then a runner per playbook."""
        problems, runners = [], []
        for index, (playbook, options) in enumerate(playbooks):
            try:
                runners.append(
                    PlaybookRunner(
                        playbook,
                        catalogue,
                        symphony,
                        module_configuration,
                        history,
                        data_root / f"playbook-{index}",
                        options,
                        listener,
                        observer,
                    )
                )
            except RunnerError as exc:
                problems.append(str(exc))
        if problems:
            raise RunnerError("\n".join(problems))
        return cls(runners)

    def start(self) -> None:
        for runner in self.runners:
            runner.start()

    def stop(self) -> None:
        for runner in self.runners:
            runner.stop()

    def wait_idle(self, timeout: float = 60.0) -> bool:
        """Wait until no playbook has a queued run."""
        deadline = time.monotonic() + timeout
        return all(runner.wait_idle(max(0.0, deadline - time.monotonic())) for runner in self.runners)

    def by_trigger(self, docker_parameters: str) -> PlaybookRunner:
        """The runner whose playbook starts from this trigger (e.g. `IncidentUpdatedTrigger`)."""
        for runner in self.runners:
            if runner.trigger_parameters == docker_parameters:
                return runner
        raise KeyError(docker_parameters)
