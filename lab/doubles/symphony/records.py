"""What the stand-in keeps of one run: its credentials and secrets, and everything the item reported."""

import shutil
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

EventHook = Callable[[dict[str, Any]], object]


@dataclass
class RunRecord:
    """One action or trigger run; the callback server writes it, the caller's threads read it under `changed`."""

    run_id: str
    token: str
    secrets: dict[str, Any]
    item_configuration: dict[str, Any]
    on_event: EventHook | None = None
    data_path: Path | None = None
    event_data_path: Path | None = None
    secret_requests: int = 0
    finished: dict[str, Any] | None = None
    finished_at: float | None = None
    events: list[dict[str, Any]] = field(default_factory=list)
    logs: list[dict[str, Any]] = field(default_factory=list)
    hook_errors: list[BaseException] = field(default_factory=list)
    changed: threading.Condition = field(default_factory=threading.Condition)
    _hooks: ThreadPoolExecutor | None = None

    def serve_secrets(self) -> dict[str, Any]:
        with self.changed:
            self.secret_requests += 1
            return dict(self.secrets)

    def finish(self, report: dict[str, Any]) -> bool:
        """Record the finished callback; False when the run had already finished (the platform answers 409)."""
        with self.changed:
            if self.finished is not None:
                return False
            self.finished, self.finished_at = report, time.monotonic()
            self.changed.notify_all()
            return True

    def keep_event_directory(self, directory: str) -> None:
        """Copy a trigger event's directory where the playbook runs read it, as the platform does before the
        trigger removes its own copy (`send_event(..., remove_directory=True)`)."""
        if self.data_path is None or self.event_data_path is None:
            raise ValueError("this run has no data path to take an event directory from")
        source = (self.data_path / directory).resolve()
        if not source.is_relative_to(self.data_path.resolve()) or not source.is_dir():
            raise FileNotFoundError(f"event directory {directory!r} is not in the trigger's data path")
        shutil.copytree(source, self.event_data_path / directory, dirs_exist_ok=True)

    def add_event(self, event: dict[str, Any]) -> None:
        """Record an event, then hand it to `on_event` in a worker thread (in order), as the platform starts runs."""
        with self.changed:
            self.events.append(event)
            self.changed.notify_all()
            if self.on_event is not None:
                if self._hooks is None:
                    self._hooks = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"on-event-{self.run_id[:8]}")
                self._hooks.submit(self.on_event, event).add_done_callback(self._keep_hook_error)

    def add_logs(self, logs: list[dict[str, Any]]) -> None:
        with self.changed:
            self.logs.extend(logs)
            self.changed.notify_all()

    def close_hooks(self, wait: bool) -> None:
        with self.changed:
            hooks, self._hooks = self._hooks, None
        if hooks is not None:
            hooks.shutdown(wait=wait)

    def _keep_hook_error(self, future: Future) -> None:
        if future.exception() is not None:
            with self.changed:
                self.hook_errors.append(future.exception())  # type: ignore[arg-type]
