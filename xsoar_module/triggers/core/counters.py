"""What a trigger did since its process started, for the SOC: each outcome counted once, logged as a summary line at
a fixed interval, and exposed as Sekoia.io's module library exposes trigger metrics (prometheus_client counters and
a histogram in the default registry, which the SDK serves on the trigger's `metrics_port`).

Loaded when a trigger runs (main.py imports every item in every block's process).
"""

import threading
from collections.abc import Callable
from typing import Literal, get_args

from prometheus_client import Counter, Histogram
from sekoia_automation.module import LogLevelStr

NAMESPACE = "symphony_module_cortex_xsoar"
ITEMS_METRIC = f"{NAMESPACE}_trigger_items"  # served as `..._trigger_items_total{trigger, outcome}`
DELAY_METRIC = f"{NAMESPACE}_trigger_emission_delay_seconds"  # `..._count`, `..._sum`, `..._bucket{trigger, le}`
Outcome = Literal["emitted", "filtered", "echoes_suppressed", "superseded", "retried", "failed"]
OUTCOMES: tuple[Outcome, ...] = get_args(Outcome)
DELAY_BUCKETS = (0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0, 300.0, 900.0, 3600.0)

ITEMS = Counter(
    name=ITEMS_METRIC,
    documentation="What the trigger did with the changes it saw: emitted (a run started), filtered (the trigger's "
    "filters), echoes_suppressed (the module's own changes), superseded (a notified change read back as a later one "
    "already emitted), retried (a send, fetch, catch-up or poll tried again), failed (given up)",
    labelnames=["trigger", "outcome"],
)
EMISSION_DELAY = Histogram(
    name=DELAY_METRIC,
    documentation="Seconds from a change (its time on the service, whole seconds) to the run it started",
    labelnames=["trigger"],
    buckets=DELAY_BUCKETS,
)


class TriggerCounters:
    """The counts of one trigger (thread-safe), mirrored into the Prometheus metrics labelled with its name."""

    def __init__(self, trigger: str):
        self.trigger = trigger
        self._counts: dict[Outcome, int] = dict.fromkeys(OUTCOMES, 0)
        self._delays = 0
        self._delay_total = 0.0
        self._delay_longest = 0.0
        self._lock = threading.Lock()

    def count(self, outcome: Outcome) -> None:
        with self._lock:
            self._counts[outcome] += 1
        ITEMS.labels(trigger=self.trigger, outcome=outcome).inc()

    def emitted(self, delay: float | None) -> None:
        """A run started; `delay`: seconds since the change (None when the change has no time)."""
        self.count("emitted")
        if delay is None:
            return
        delay = max(delay, 0.0)
        with self._lock:
            self._delays += 1
            self._delay_total += delay
            self._delay_longest = max(self._delay_longest, delay)
        EMISSION_DELAY.labels(trigger=self.trigger).observe(delay)

    def snapshot(self) -> dict[str, float]:
        """The counts by outcome, and the delays' number, mean and longest."""
        with self._lock:
            mean = self._delay_total / self._delays if self._delays else 0.0
            counts: dict[str, float] = {outcome: count for outcome, count in self._counts.items()}
            return counts | {"delays": self._delays, "delay_mean": mean, "delay_longest": self._delay_longest}

    def summary(self) -> str:
        """`Alert Created counters since start: 3 emitted, 1 filtered, ...; change to emission: mean 1.2 s, ...`."""
        counts = self.snapshot()
        outcomes = ", ".join(f"{counts[outcome]:.0f} {outcome.replace('_', ' ')}" for outcome in OUTCOMES)
        delay = (
            f"mean {counts['delay_mean']:.1f} s, longest {counts['delay_longest']:.1f} s over {counts['delays']:.0f}"
            if counts["delays"]
            else "none yet"
        )
        return f"{self.trigger} counters since start: {outcomes}; delay from change to emission: {delay}"


def log_summaries(
    counters: TriggerCounters, interval: float, log: Callable[[str, LogLevelStr], None], stop: threading.Event
) -> threading.Thread:
    """A daemon thread logging the counters' summary every `interval` seconds until `stop` is set."""

    def loop() -> None:
        while not stop.wait(interval):
            log(counters.summary(), "info")

    thread = threading.Thread(target=loop, name="trigger-counters", daemon=True)
    thread.start()
    return thread
