"""Alerts through the whole chain while XSOAR, the Sekoia.io API, LiveAPI and the trigger misbehave: count what lands.

Shared by the soak benchmark (benchmarks/soak.py, 1,000 alerts) and its small variant in the test suite.
"""

import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from lab.doubles.faults import Fault
from lab.tools.chain import DemoOptions, running_chain
from lab.tools.history import Run
from xsoar_module.sync.rules import DUPLICATE_REASON


@dataclass(frozen=True)
class SoakPlan:
    alerts: int = 1000
    mode: Literal["webhook", "api"] = "api"
    raise_over: float = 60.0  # seconds over which the alerts are raised, at a steady rate
    xsoar_fault_rate: float = 0.3  # 503, 429 or a slow answer
    sekoia_fault_rate: float = 0.1  # 500, 502 or 503
    drop_every: float = 20.0  # seconds between LiveAPI connection drops
    restarts: int = 3  # trigger killed (SIGKILL) and started again
    timeout: float = 480.0  # to deliver everything after the last alert


@dataclass(frozen=True)
class SoakReport:
    raised: int
    incidents: int
    lost: int
    duplicated: int  # incidents beyond one per alert, not counting those closed as Duplicate
    duplicates: tuple[str, ...]  # each alert with several incidents: how many, and when it was raised
    closed_duplicates: int  # created by a second run of an alert at the same time as the first, and closed
    failed_runs: int
    failures: tuple[str, ...]  # the alert and error of each failed run
    drops: int
    restarts: int
    faults_xsoar: int
    faults_sekoia: int
    seconds: float

    def lines(self) -> list[str]:
        return [
            f"alerts raised        {self.raised}",
            f"incidents created    {self.incidents}",
            f"lost                 {self.lost}",
            f"duplicated           {self.duplicated}",
            *(f"  {duplicate}" for duplicate in self.duplicates),
            f"closed as Duplicate  {self.closed_duplicates}",
            f"failed runs          {self.failed_runs}",
            *(f"  {failure}" for failure in self.failures),
            f"LiveAPI drops        {self.drops}",
            f"trigger restarts     {self.restarts}",
            f"faults injected      XSOAR {self.faults_xsoar}, Sekoia.io API {self.faults_sekoia}",
            f"duration             {self.seconds:.1f} s",
        ]


@contextmanager
def every(period: float, action: Callable[[], None]) -> Iterator[None]:
    """Run `action` every `period` seconds in a thread, while the block runs."""
    stop = threading.Event()

    def loop() -> None:
        while not stop.wait(period):
            action()

    thread = threading.Thread(target=loop, daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()


def failure_of(run: Run) -> str:
    return f"run {run.id} ({run.summary}): {run.error}"


def run_soak(plan: SoakPlan, progress: Callable[[str], None] = lambda _line: None) -> SoakReport:
    """Raise the alerts under faults, restart the trigger, wait for delivery, and count lost and duplicated."""
    started = time.monotonic()
    with (
        tempfile.TemporaryDirectory() as state,
        running_chain(DemoOptions(mode=plan.mode, state=Path(state))) as (
            sekoia,
            xsoar,
            runner,
        ),
    ):
        failed: list[int] = []
        runner.listener = lambda run_id, status, _summary: failed.append(run_id) if status != "succeeded" else None
        xsoar.faults.rate(
            plan.xsoar_fault_rate, Fault(status=503), Fault(status=429, retry_after=0.2), Fault(delay=1.0)
        )
        sekoia.faults.rate(plan.sekoia_fault_rate, Fault(status=500), Fault(status=502), Fault(status=503))
        drops = Counter[str]()

        def drop() -> None:
            sekoia.drop_connections()
            drops.update(["drop"])

        raised: list[str] = []
        restart_at = {round(plan.alerts * (k + 1) / (plan.restarts + 1)) for k in range(plan.restarts)}
        interval = plan.raise_over / plan.alerts
        with every(plan.drop_every, drop):
            for index in range(plan.alerts):
                raised.append(sekoia.add_alert(events=1 + index % 4)["short_id"])
                if index + 1 in restart_at and runner.trigger is not None:
                    runner.trigger.kill()
                    progress(f"{index + 1} alerts raised: trigger killed, starting it again")
                    runner.start()
                time.sleep(interval)
            deadline = time.monotonic() + plan.timeout
            while time.monotonic() < deadline and len({i["alertId"] for i in xsoar.summary()} & set(raised)) < len(
                raised
            ):
                time.sleep(0.2)
        runner.wait_idle(60)
        incidents = xsoar.summary()
        closed_duplicates = sum(1 for incident in incidents if incident["closeReason"] == DUPLICATE_REASON)
        delivered = Counter(
            incident["alertId"] for incident in incidents if incident["closeReason"] != DUPLICATE_REASON
        )
        report = SoakReport(
            raised=len(raised),
            incidents=len(incidents),
            lost=sum(1 for short_id in raised if not delivered[short_id]),
            duplicated=sum(count - 1 for count in delivered.values() if count > 1),
            duplicates=tuple(
                f"{short_id}: {delivered[short_id]} incidents (alert {index + 1}; trigger killed after alert(s) "
                f"{sorted(restart_at)})"
                for index, short_id in enumerate(raised)
                if delivered[short_id] > 1
            ),
            closed_duplicates=closed_duplicates,
            failed_runs=len(failed),
            failures=tuple(failure_of(runner.history.run_detail(run_id)) for run_id in failed),
            drops=drops["drop"],
            restarts=len(restart_at),
            faults_xsoar=xsoar.faults.injected,
            faults_sekoia=sekoia.faults.injected,
            seconds=time.monotonic() - started,
        )
    return report
