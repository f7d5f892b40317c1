"""A clock for the simulators and the module's waits that moves only when told: a test or a benchmark covers minutes
without waiting them, or places changes in one second or in the next without waiting for the wall clock."""

import time


class ManualClock:
    """Epoch seconds that move only when slept on (`sleep`) or set (`at`): shared by a simulator and the module, it
    lets a test or a benchmark cover a wait of minutes without waiting real seconds."""

    def __init__(self) -> None:
        self.at = time.time()  # from the real clock on: what was stored earlier keeps its place in time

    def now(self) -> float:
        return self.at

    def sleep(self, seconds: float) -> None:
        self.at += seconds
