"""The Sekoia.io simulator's request budget (SEKOIA.md section 9): off by default; when on, 429 beyond 5 requests a
second per API key, and a block after an error storm or above 100 requests a second; counted per client."""

from collections.abc import Iterator

import pytest
import requests

from lab.doubles.sekoia import SekoiaSimulator
from lab.doubles.sekoia.budget import BudgetRules, RequestBudget

KEY = "budget-key-1"
OTHER_KEY = "budget-key-2"
SAMPLE = "/v1/sic/alerts/ALz7Qm3KpW2x"
MISSING = "/v1/sic/alerts/ALnotthere00"


class Clock:
    """Seconds that move only when the test says."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Client:
    def __init__(self, simulator: SekoiaSimulator, key: str = KEY):
        self.url = simulator.url
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Bearer {key}"

    def get(self, path: str = SAMPLE) -> requests.Response:
        return self.session.get(self.url + path, timeout=10)

    def statuses(self, count: int, path: str = SAMPLE) -> list[int]:
        return [self.get(path).status_code for _ in range(count)]


@pytest.fixture
def clock() -> Clock:
    return Clock()


def budgeted(clock: Clock, **rules: float) -> Iterator[SekoiaSimulator]:
    with SekoiaSimulator(api_key=KEY, budget=RequestBudget(BudgetRules(**rules), clock)) as simulator:  # type: ignore[arg-type]
        simulator.add_api_key(OTHER_KEY)
        yield simulator


@pytest.fixture
def simulator(clock: Clock) -> Iterator[SekoiaSimulator]:
    yield from budgeted(clock)


def test_off_by_default_a_client_may_hammer(sekoia):
    client = Client(sekoia, sekoia.api_key)
    assert client.statuses(30) == [200] * 30
    assert sekoia.budget is None


def test_429_beyond_5_requests_a_second_per_key(simulator, clock):
    client = Client(simulator)
    assert client.statuses(7) == [200] * 5 + [429] * 2
    refused = client.get()
    assert refused.json() == {"message": "Too many requests: more than 5 requests a second"}
    assert Client(simulator, OTHER_KEY).statuses(5) == [200] * 5  # another client has its own budget
    clock.now += 0.5
    assert client.get().status_code == 429  # the window slides: the 5 are still within the last second
    clock.now += 0.5
    assert client.statuses(6) == [200] * 5 + [429]
    counts = simulator.budget.counts[KEY]
    assert (counts.requests, counts.refused, counts.blocks) == (15, 5, 0)
    assert (simulator.budget.total.requests, simulator.budget.total.refused) == (20, 5)


def test_more_than_8_errors_a_second_blocks_the_client_for_30_seconds(clock):
    for simulator in budgeted(clock, requests_per_second=50):
        client = Client(simulator)
        assert client.statuses(8, MISSING) == [404] * 8
        assert client.get().status_code == 200  # 8 errors within a second: still allowed
        clock.now += 0.5
        assert client.get(MISSING).status_code == 404  # the 9th error within a second
        clock.now += 1.0
        blocked = client.get()
        assert blocked.status_code == 429 and "blocked" in blocked.json()["message"]
        clock.now += 28.9
        assert client.get().status_code == 429
        assert Client(simulator, OTHER_KEY).get().status_code == 200  # the others are not blocked
        clock.now += 0.1
        assert client.get().status_code == 200
        counts = simulator.budget.counts[KEY]
        assert (counts.blocks, counts.blocked, counts.errors) == (1, 2, 11)


def test_an_error_storm_of_refusals_blocks_too(simulator, clock):
    client = Client(simulator)
    assert client.statuses(14) == [200] * 5 + [429] * 9  # 9 refusals within a second: the 9th is an anomaly
    clock.now += 1.0
    assert client.get().status_code == 429
    assert simulator.budget.counts[KEY].blocks == 1


def test_the_block_lasts_as_configured(clock):
    for simulator in budgeted(clock, requests_per_second=50, block_seconds=5):
        client = Client(simulator)
        assert client.statuses(9, MISSING) == [404] * 9
        clock.now += 4.9
        assert client.get().status_code == 429
        clock.now += 0.1
        assert client.get().status_code == 200


def test_above_100_requests_a_second_blocks_the_client(clock):
    for simulator in budgeted(clock, errors_per_second=1000):
        client = Client(simulator)
        assert client.statuses(100) == [200] * 5 + [429] * 95
        clock.now += 1.0
        assert client.get().status_code == 200  # 100 requests within a second were no anomaly
        clock.now += 1.0
        assert client.statuses(101)[-1] == 429
        clock.now += 1.0
        assert client.get().status_code == 429  # blocked, although the last second saw no request
        clock.now += 29.0
        assert client.get().status_code == 200
        assert simulator.budget.counts[KEY].blocks == 1
