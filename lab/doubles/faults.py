"""Fault plans for the simulators: scripted sequences and random rates of errors, latency and resets."""

import random
import threading
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Fault:
    """One misbehaviour: an error status (with optional Retry-After), latency, or a dropped connection.

    `delay` waits before handling; `delay_after` handles the request, then waits before answering (the
    client may time out although the work was done); `raw_body` answers that text as is (not JSON).
    """

    status: int | None = None
    retry_after: float | None = None
    delay: float = 0.0
    delay_after: float = 0.0
    reset: bool = False
    body: str | None = None
    raw_body: str | None = None


@dataclass
class _Rule:
    method: str | None
    path_contains: str | None
    queue: list[Fault] = field(default_factory=list)
    probability: float = 0.0
    choices: list[Fault] = field(default_factory=list)

    def matches(self, method: str, path: str) -> bool:
        return (self.method is None or self.method.upper() == method.upper()) and (
            self.path_contains is None or self.path_contains in path
        )


class FaultPlan:
    """Thread-safe: the first matching scripted fault is consumed, else a random one may be drawn."""

    def __init__(self, seed: int = 0):
        self._rules: list[_Rule] = []
        self._random = random.Random(seed)
        self._lock = threading.Lock()
        self.injected = 0

    def script(self, *faults: Fault, method: str | None = None, path_contains: str | None = None) -> "FaultPlan":
        """The next matching requests get these faults, in order, once each (`path_contains`: a part of the path
        and query string)."""
        with self._lock:
            self._rules.append(_Rule(method, path_contains, queue=list(faults)))
        return self

    def rate(
        self, probability: float, *choices: Fault, method: str | None = None, path_contains: str | None = None
    ) -> "FaultPlan":
        """Each matching request gets one of `choices` with this probability."""
        with self._lock:
            self._rules.append(_Rule(method, path_contains, probability=probability, choices=list(choices)))
        return self

    def clear(self) -> None:
        with self._lock:
            self._rules.clear()

    def draw(self, method: str, path: str) -> Fault | None:
        with self._lock:
            for rule in self._rules:
                if rule.matches(method, path) and rule.queue:
                    self.injected += 1
                    return rule.queue.pop(0)
            for rule in self._rules:
                if rule.matches(method, path) and rule.choices and self._random.random() < rule.probability:
                    self.injected += 1
                    return self._random.choice(rule.choices)
        return None
