"""The stand-in itself: starts actions and triggers the way Sekoia.io's platform does and serves their callbacks.

Process mode runs `python main.py <docker_parameters>` in the module directory with the SDK's inputs in environment
variables, as the platform runs the module's container. Data path: the SDK's local data path is `/symphony_data`
joined with its `sub_folder` setting; `SUB_FOLDER` holds the absolute data path, and pathlib joining an absolute
path yields that path, so the item reads and writes its files there.
"""

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from secrets import token_urlsafe
from typing import Any
from uuid import uuid4

from lab.doubles.faults import FaultPlan
from lab.doubles.server import BackgroundServer, LocalService
from lab.doubles.symphony.callbacks import CallbackServer
from lab.doubles.symphony.metrics import read_counters
from lab.doubles.symphony.records import EventHook, RunRecord
from lab.doubles.symphony.warm import EntryPoint

REPO_ROOT = Path(__file__).resolve().parents[3]
PLACEHOLDER = "encrypted"  # what the platform puts in the module configuration in place of a secret
TAIL_LINES = 30
# SDK settings read from the environment: never inherited from the caller's shell
SDK_INPUTS = frozenset(
    {
        "MODULE_CONFIGURATION",
        "ARGUMENTS",
        "TRIGGER_CONFIGURATION",
        "TOKEN",
        "URL_CALLBACK",
        "URL_LOGS",
        "URL_SECRETS",
        "SUB_FOLDER",
        "FILE_BACKEND",
        "LIVENESS_PORT",
        "METRICS_PORT",
        "SENTRY_DSN",
    }
)


@dataclass
class ActionResult:
    status: str  # "finished", or "crashed": the item ended without the finished callback
    results: dict | None
    error: str | None
    logs: str | None  # the SDK's formatted logs string
    outputs: dict | None
    duration: float  # seconds from the start to the finished callback
    stderr: str = ""  # process mode only (stdout merged in)
    run_id: str = ""  # key of the run's record in `Symphony.runs`

    @classmethod
    def of(cls, run: RunRecord, started: float, failure: str | None, stderr: str = "") -> "ActionResult":
        report = run.finished
        if report is None or run.finished_at is None:
            error = failure or "the action ended without sending its finished callback"
            return cls("crashed", None, error, None, None, time.monotonic() - started, stderr, run.run_id)
        return cls(
            "finished",
            report.get("results"),
            report.get("error"),
            report.get("logs"),
            report.get("outputs"),
            run.finished_at - started,
            stderr,
            run.run_id,
        )


class TriggerRun:
    """A trigger process and what it sent: events (each one would start a playbook run) and logs."""

    def __init__(self, record: RunRecord, process: subprocess.Popen, output_path: Path, metrics_port: int):
        self.record = record
        self._process = process
        self._output_path = output_path
        self.metrics_port = metrics_port  # the SDK's metrics exporter (Prometheus text at /metrics)

    def counters(self) -> dict[str, float] | None:
        """The trigger's counters from its metrics endpoint; None when it does not answer."""
        return read_counters(self.metrics_port) if self.is_running() else None

    @property
    def events(self) -> list[dict]:
        with self.record.changed:
            return list(self.record.events)

    @property
    def logs(self) -> list[dict]:
        with self.record.changed:
            return list(self.record.logs)

    @property
    def stderr(self) -> str:
        """Everything the process wrote so far (stdout merged in)."""
        return self._output_path.read_text(errors="replace") if self._output_path.exists() else ""

    def is_running(self) -> bool:
        return self._process.poll() is None

    @property
    def pid(self) -> int:
        return self._process.pid

    def wait_for_events(self, n: int, timeout: float = 30) -> list[dict]:
        self._wait(lambda: len(self.record.events) >= n, timeout, lambda: f"{n} events expected, got {self.events}")
        return self.events

    def wait_for_log(self, text: str, level: str | None = None, timeout: float = 30) -> dict:
        """The first log whose message contains `text` (at that level, when given)."""
        self._wait(
            lambda: self._log_with(text, level) is not None,
            timeout,
            lambda: f"no {level or ''} log with {text!r} in {self.logs}",
        )
        return self._log_with(text, level)  # type: ignore[return-value]

    def stop(self, timeout: float = 30) -> int:
        """SIGTERM (the SDK's graceful stop), then SIGKILL after `timeout`; the exit code."""
        if self.is_running():
            self._process.send_signal(signal.SIGTERM)
            try:
                self._process.wait(timeout)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
        self.record.close_hooks(wait=False)
        return self._process.returncode

    def kill(self) -> None:
        """SIGKILL: a crash, nothing flushed."""
        self._process.kill()
        self._process.wait()
        self.record.close_hooks(wait=False)

    def _log_with(self, text: str, level: str | None) -> dict | None:
        with self.record.changed:
            logs = list(self.record.logs)
        return next(
            (log for log in logs if text in str(log.get("message")) and level in (None, log.get("level"))), None
        )

    def _wait(self, done: Callable[[], bool], timeout: float, describe: Callable[[], str]) -> None:
        deadline = time.monotonic() + timeout
        with self.record.changed:
            while not done():
                remaining = deadline - time.monotonic()
                if remaining <= 0 or not self.is_running():
                    ending = "in time" if remaining <= 0 else f"and the trigger exited ({self._process.returncode})"
                    raise TimeoutError(f"{describe()} {ending}; output tail:\n{_tail(self.stderr)}")
                self.record.changed.wait(min(remaining, 0.2))


class Symphony(LocalService):
    """Serves the callbacks of the runs it starts; `faults` makes its endpoints misbehave on purpose."""

    def __init__(self, module_dir: Path = REPO_ROOT, host: str = "127.0.0.1", port: int = 0):
        self.module_dir = Path(module_dir).resolve()
        self.faults = FaultPlan()
        self.runs: dict[str, RunRecord] = {}
        self._triggers: list[TriggerRun] = []
        self._server = BackgroundServer(CallbackServer(self.runs, self.faults).app(), host, port, name="symphony")
        self._output_dir = Path()

    def start(self) -> "Symphony":
        self._output_dir = Path(tempfile.mkdtemp(prefix="symphony-"))
        return super().start()

    def stop(self) -> None:
        for trigger in self._triggers:
            trigger.stop(timeout=5)
        for run in self.runs.values():
            run.close_hooks(wait=True)
        super().stop()
        shutil.rmtree(self._output_dir, ignore_errors=True)

    def run_action(
        self,
        docker_parameters: str,
        module_configuration: dict,
        arguments: dict,
        *,
        secrets: dict | None = None,
        data_path: Path,
        in_process: bool = False,
        timeout: float = 120,
    ) -> ActionResult:
        """Run one action to its end; `timeout` bounds process mode (an in-process run cannot be interrupted)."""
        run = self._open_run(module_configuration, secrets)
        data_path.mkdir(parents=True, exist_ok=True)
        started = time.monotonic()
        if in_process:
            inputs = self._inputs(run) | {"arguments": _json_copy(arguments)}
            failure = self._entry_point.run_action(docker_parameters, self._manifest(), inputs, data_path)
            return ActionResult.of(run, started, failure)
        process, output_path = self._spawn(docker_parameters, self._environment(run, data_path, arguments=arguments))
        failure = None
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
            failure = f"killed after {timeout:g} s without the finished callback"
        stderr = output_path.read_text(errors="replace")
        output_path.unlink()
        return ActionResult.of(run, started, failure or _tail(stderr), stderr)

    def start_trigger(
        self,
        docker_parameters: str,
        module_configuration: dict,
        trigger_configuration: dict,
        *,
        secrets: dict | None = None,
        data_path: Path,
        on_event: EventHook | None = None,
        env: dict | None = None,
        event_data_path: Path | None = None,
    ) -> TriggerRun:
        """Start a trigger process (its own liveness and metrics ports); `on_event(record)` runs for each event.

        An event's directory is copied from `data_path` to `event_data_path` (default: `<data_path>_runs`), where
        the playbook runs read it, before the event is acknowledged.
        """
        run = self._open_run(module_configuration, secrets, on_event)
        run.data_path = data_path
        run.event_data_path = event_data_path or data_path.with_name(f"{data_path.name}_runs")
        data_path.mkdir(parents=True, exist_ok=True)
        run.event_data_path.mkdir(parents=True, exist_ok=True)
        liveness_port, metrics_port = _free_ports(2)
        environment = self._environment(run, data_path, trigger_configuration=trigger_configuration) | {
            "LIVENESS_PORT": str(liveness_port),
            "METRICS_PORT": str(metrics_port),
        }
        process, output_path = self._spawn(docker_parameters, environment | (env or {}))
        trigger = TriggerRun(run, process, output_path, metrics_port)
        self._triggers.append(trigger)
        return trigger

    @cached_property
    def _entry_point(self) -> EntryPoint:
        return EntryPoint.read(self.module_dir)

    def _manifest(self) -> dict:
        return json.loads((self.module_dir / "manifest.json").read_text())

    def _open_run(
        self, module_configuration: dict, secrets: dict | None, on_event: EventHook | None = None
    ) -> RunRecord:
        """The platform's view of a run: secret values only behind the callbacks, placeholders in the configuration."""
        names = self._manifest().get("configuration", {}).get("secrets", [])
        if secrets is None:
            secrets = {name: module_configuration[name] for name in names if name in module_configuration}
        item_configuration = {
            key: PLACEHOLDER if key in names and value is not None else value
            for key, value in module_configuration.items()
        }
        run = RunRecord(
            run_id=str(uuid4()),
            token=token_urlsafe(24),
            secrets=_json_copy(secrets),
            item_configuration=_json_copy(item_configuration),
            on_event=on_event,
        )
        self.runs[run.run_id] = run
        return run

    def _inputs(self, run: RunRecord) -> dict[str, Any]:
        return {
            "module_configuration": _json_copy(run.item_configuration),
            "token": run.token,
            "url_callback": f"{self.url}/callback/{run.run_id}",
            "url_logs": f"{self.url}/logs/{run.run_id}",
            "url_secrets": f"{self.url}/secrets/{run.run_id}",
        }

    def _environment(self, run: RunRecord, data_path: Path, **item: Any) -> dict[str, str]:
        environment = {name: value for name, value in os.environ.items() if name not in SDK_INPUTS}
        for name, value in (self._inputs(run) | item).items():
            environment[name.upper()] = value if isinstance(value, str) else json.dumps(value)
        environment["SUB_FOLDER"] = str(data_path.resolve())
        return environment

    def _spawn(self, docker_parameters: str, environment: dict[str, str]) -> tuple[subprocess.Popen, Path]:
        output_path = self._output_dir / f"{uuid4()}.log"
        with output_path.open("wb") as output:
            process = subprocess.Popen(
                [sys.executable, "main.py", docker_parameters],
                cwd=self.module_dir,
                env=environment,
                stdin=subprocess.DEVNULL,
                stdout=output,
                stderr=subprocess.STDOUT,
            )
        return process, output_path


def _json_copy(value: Any) -> Any:
    """What the item gets: the value as it survives JSON, never the caller's own objects."""
    return json.loads(json.dumps(value))


def _tail(text: str) -> str:
    return "\n".join(text.strip().splitlines()[-TAIL_LINES:])


def _free_ports(count: int) -> list[int]:
    sockets = [socket.socket() for _ in range(count)]
    try:
        for sock in sockets:
            sock.bind(("", 0))
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()
