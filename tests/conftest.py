"""Shared fixtures: the simulators and the platform stand-in, started on 127.0.0.1 for the whole session."""

import time
from pathlib import Path

import pytest

from lab.doubles.sekoia import SekoiaSimulator
from lab.doubles.sekoia import simulator as sekoia_simulator
from lab.doubles.symphony import Symphony
from lab.doubles.xsoar import XsoarSimulator
from tests.support import SEKOIA_KEY, XSOAR_API_KEY, XSOAR_TOKEN
from xsoar_module.clients.retry import RetryPolicy
from xsoar_module.clients.xsoar.connection import XSOAR_POLICY

# The tests' Sekoia.io indexes a new alert's events 0.3 s after it, not 2 s: the late-events path (a first search that
# finds nothing, then one more) still runs at every alert the tests raise, without seconds of waiting each
sekoia_simulator.DEFAULT_INDEXING_DELAY = 0.3


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Long tests first: workers take tests in this order; one left alone with a long test would end the run late."""
    items.sort(key=lambda item: item.get_closest_marker("long") is None)


@pytest.fixture(scope="session")
def sekoia():
    with SekoiaSimulator(api_key=SEKOIA_KEY) as simulator:
        yield simulator


@pytest.fixture(scope="session")
def xsoar():
    with XsoarSimulator(webhook_token=XSOAR_TOKEN, api_key=XSOAR_API_KEY, api_key_id="17") as simulator:
        yield simulator


@pytest.fixture(scope="session")
def symphony():
    with Symphony() as stand_in:
        yield stand_in


@pytest.fixture(autouse=True)
def _clean_simulators(request):
    """Each test starts with no fault, no stored incident, fresh counters, the published rules and the wall clock (a
    test may have set a manual one)."""
    for name in ("sekoia", "xsoar"):
        if name in request.fixturenames:
            simulator = request.getfixturevalue(name)
            simulator.faults.clear()
            simulator.clock = time.time
            if name == "sekoia":
                simulator.reset_counts()
                simulator.follow_published_rules()
            else:
                simulator.reset()
    yield


@pytest.fixture
def data_path(tmp_path: Path) -> Path:
    path = tmp_path / "data"
    path.mkdir()
    return path


@pytest.fixture
def quick_xsoar_retries(monkeypatch):
    """Blocks run in process retry XSOAR as many times within the same deadline, waiting tenths of a second."""
    quick = RetryPolicy(
        attempts=XSOAR_POLICY.attempts, deadline=XSOAR_POLICY.deadline, initial_wait=0.05, max_wait=0.5
    )
    monkeypatch.setattr("xsoar_module.clients.xsoar.connection.XSOAR_POLICY", quick)
