"""Figures for the benchmarks: percentiles, process memory, timing of a callable, incident arrival times."""

import os
import statistics
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path


def percentile(values: list[float], fraction: float) -> float:
    """Nearest-rank percentile (fraction 0.95 = p95)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def memory_kib(pid: int | str = "self", field: str = "VmRSS") -> int:
    """A memory line of /proc/<pid>/status in KiB: VmRSS (resident now) or VmHWM (peak resident)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1])
    raise RuntimeError(f"no {field} line for process {pid}")


def load_line() -> str:
    """The machine's load while measuring: other processes weigh on every figure."""
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.1f} / {five:.1f} / {fifteen:.1f} (1 / 5 / 15 min) on {os.cpu_count()} CPUs"


@dataclass(frozen=True)
class Timing:
    samples: list[float]

    @property
    def median_ms(self) -> float:
        return 1000 * statistics.median(self.samples)

    @property
    def p95_ms(self) -> float:
        return 1000 * percentile(self.samples, 0.95)

    def line(self, label: str) -> str:
        return f"{label:<52} median {self.median_ms:8.1f} ms   p95 {self.p95_ms:8.1f} ms   (n={len(self.samples)})"


def time_calls(call: Callable[[], object], runs: int, warmup: int = 1) -> Timing:
    """Wall time of `runs` calls after `warmup` unmeasured ones."""
    for _ in range(warmup):
        call()
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        call()
        samples.append(time.perf_counter() - started)
    return Timing(samples)


class Arrivals:
    """When each alert's incident was stored, keyed by short id."""

    def __init__(self) -> None:
        self.times: dict[str, float] = {}
        self.counts: Counter[str] = Counter()
        self.changed = threading.Condition()

    def record(self, incident: dict) -> None:
        raw = incident.get("rawJSON") or ""
        short_id = incident.get("dbotMirrorId") or incident.get("CustomFields", {}).get("alertid")
        if not short_id and '"alertId"' in raw:
            short_id = raw.split('"alertId":"', 1)[1].split('"', 1)[0]
        with self.changed:
            self.times.setdefault(short_id, time.monotonic())
            self.counts[short_id] += 1
            self.changed.notify_all()

    def wait(self, short_ids: list[str], timeout: float) -> bool:
        with self.changed:
            return self.changed.wait_for(lambda: all(s in self.times for s in short_ids), timeout)
