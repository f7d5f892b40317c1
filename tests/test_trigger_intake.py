"""The queue of notified alerts: arrival order, batching under load, request rate, bounds."""

import threading
import time
from collections.abc import Iterator

import pytest

from lab.doubles.clock import ManualClock
from tests.support import stays, until
from xsoar_module.errors import NotFoundError, UnavailableError
from xsoar_module.timing import Clock, RateLimit
from xsoar_module.triggers.core.intake import LiveIntake, Notified


class Fetcher:
    """Scripted fetches: `missing` uuids are absent from listings, `broken` ones fail, `held` ones wait for `release`.

    `one` lists the single fetches as they start, `ended` as they end.
    """

    def __init__(self, missing: set[str] = frozenset(), broken: set[str] = frozenset(), held: set[str] = frozenset()):
        self.missing, self.broken, self.held = missing, broken, held
        self.release = threading.Event()
        self.one: list[str] = []
        self.ended: list[str] = []
        self.many: list[list[str]] = []
        self.listing_error: Exception | None = None

    def fetch_one(self, uuid: str) -> dict:
        self.one.append(uuid)
        try:
            if uuid in self.held:
                assert self.release.wait(5.0), f"{uuid} was never released"
            if uuid in self.broken:
                raise NotFoundError(f"no alert {uuid}", 404)
            return {"uuid": uuid}
        finally:
            self.ended.append(uuid)

    def fetch_many(self, uuids: list[str]) -> dict[str, dict]:
        self.many.append(list(uuids))
        if self.listing_error:
            raise self.listing_error
        return {uuid: {"uuid": uuid, "listed": True} for uuid in uuids if uuid not in self.missing | self.broken}


@pytest.fixture
def fetcher() -> Fetcher:
    return Fetcher()


def intake_of(fetcher: Fetcher, done: set[str] = frozenset(), **kwargs) -> LiveIntake:
    return LiveIntake(fetcher.fetch_one, fetcher.fetch_many, done.__contains__, **kwargs)


def taken(intake: LiveIntake, count: int, timeout: float = 5.0) -> list[Notified]:
    entries, deadline = [], time.monotonic() + timeout
    while len(entries) < count:
        assert time.monotonic() < deadline, f"only {len(entries)} of {count} entries came"
        entry = intake.take(0.1)
        if entry is not None:
            entries.append(entry)
    return entries


@pytest.fixture
def started() -> Iterator[list[LiveIntake]]:
    intakes: list[LiveIntake] = []
    yield intakes
    for intake in intakes:
        intake.close()


def test_a_lone_notification_is_fetched_at_once(fetcher: Fetcher, started: list[LiveIntake]):
    intake = intake_of(fetcher)
    started.append(intake)
    intake.start()
    intake.offer(Notified("a", time.time()))
    [entry] = taken(intake, 1)
    assert entry.alert == {"uuid": "a"} and entry.error is None
    assert fetcher.one == ["a"] and fetcher.many == []


def test_waiting_notifications_are_fetched_in_one_listing(fetcher: Fetcher, started: list[LiveIntake]):
    intake = intake_of(fetcher, rate=RateLimit(per_second=1000, burst=1))
    started.append(intake)
    uuids = [f"u{index:03d}" for index in range(150)]
    for uuid in uuids:
        intake.offer(Notified(uuid, time.time()))
    intake.start()
    entries = taken(intake, 150)
    assert [entry.uuid for entry in entries] == uuids  # arrival order
    assert sorted(len(batch) for batch in fetcher.many) == [50, 100]  # a page, then the rest
    assert fetcher.one == []


def test_arrival_order_holds_when_fetches_end_out_of_order(started: list[LiveIntake]):
    fetcher = Fetcher(held={"first"})
    intake = intake_of(fetcher)
    started.append(intake)
    intake.start()
    intake.offer(Notified("first", time.time()))
    until(lambda: fetcher.one == ["first"], timeout=5)  # a thread took it alone and is held
    intake.offer(Notified("second", time.time()))
    until(lambda: fetcher.ended == ["second"], timeout=5)  # another thread fetched the second first
    assert intake.take(0.0) is None  # the second is not handed over ahead of the first
    fetcher.release.set()
    assert [entry.uuid for entry in taken(intake, 2)] == ["first", "second"]


def test_alerts_missing_from_the_listing_are_fetched_one_by_one(started: list[LiveIntake]):
    fetcher = Fetcher(missing={"late"}, broken={"gone"})
    intake = intake_of(fetcher, rate=RateLimit(per_second=1000, burst=1))
    started.append(intake)
    for uuid in ["a", "late", "gone", "b"]:
        intake.offer(Notified(uuid, time.time()))
    intake.start()
    entries = {entry.uuid: entry for entry in taken(intake, 4)}
    assert entries["a"].alert == {"uuid": "a", "listed": True}
    assert entries["late"].alert == {"uuid": "late"}
    assert isinstance(entries["gone"].error, NotFoundError) and entries["gone"].alert is None
    assert sorted(fetcher.one) == ["gone", "late"]


def test_a_failed_listing_is_the_error_of_each_of_its_alerts(fetcher: Fetcher, started: list[LiveIntake]):
    fetcher.listing_error = UnavailableError("Sekoia.io could not be reached")
    intake = intake_of(fetcher, rate=RateLimit(per_second=1000, burst=1))
    started.append(intake)
    for uuid in ["a", "b", "c"]:
        intake.offer(Notified(uuid, time.time()))
    intake.start()
    assert all(entry.error is fetcher.listing_error for entry in taken(intake, 3))
    assert fetcher.one == []  # no request storm against a failing service


def test_handled_alerts_are_not_fetched(fetcher: Fetcher, started: list[LiveIntake]):
    intake = intake_of(fetcher, done={"old"})
    started.append(intake)
    intake.offer(Notified("old", time.time()))
    intake.offer(Notified("new", time.time()))
    intake.start()
    entries = taken(intake, 2)
    assert [(entry.uuid, entry.alert) for entry in entries] == [("old", None), ("new", {"uuid": "new"})]
    assert "old" not in fetcher.one + [uuid for batch in fetcher.many for uuid in batch]


def test_the_queue_is_bounded_and_deduplicated(fetcher: Fetcher):
    intake = intake_of(fetcher, capacity=2)
    assert intake.offer(Notified("a", 0.0)) and intake.offer(Notified("a", 0.0))
    assert intake.offer(Notified("b", 0.0))
    assert not intake.offer(Notified("c", 0.0))
    assert len(intake) == 2


def test_only_a_few_alerts_are_fetched_ahead_of_the_emission(fetcher: Fetcher, started: list[LiveIntake]):
    intake = intake_of(fetcher, ahead=3, batch=1)
    started.append(intake)
    for index in range(10):
        intake.offer(Notified(f"u{index}", time.time()))
    intake.start()
    until(lambda: len(fetcher.ended) == 3, timeout=5)
    stays(lambda: len(fetcher.one) == 3, 0.2, what="3 fetches")  # nothing taken yet: at most `ahead` alerts held
    taken(intake, 1)
    until(lambda: len(fetcher.ended) == 4, timeout=5)
    stays(lambda: len(fetcher.one) == 4, 0.2, what="4 fetches")


def test_take_returns_early_when_woken(fetcher: Fetcher):
    intake = intake_of(fetcher)
    threading.Timer(0.05, intake.wake).start()
    started = time.monotonic()
    assert intake.take(5.0) is None
    assert time.monotonic() - started < 4.0  # woken well before its 5 s


class ClockedStop(threading.Event):
    """A stop never set, whose waits move a manual clock instead of waiting: `waits` lists them."""

    def __init__(self, clock: ManualClock):
        super().__init__()
        self.clock, self.waits = clock, []

    def wait(self, timeout: float | None = None) -> bool:
        self.waits.append(timeout)
        self.clock.sleep(timeout or 0.0)
        return False


def test_rate_limit_allows_a_burst_then_spaces_requests():
    manual = ManualClock()
    stop = ClockedStop(manual)
    rate = RateLimit(per_second=20, burst=2, clock=Clock(now=manual.now, sleep=manual.sleep))
    assert all(rate.wait(stop) for _ in range(2)) and stop.waits == []  # the burst goes at once
    assert all(rate.wait(stop) for _ in range(3))
    assert stop.waits == pytest.approx([0.05, 0.05, 0.05])  # then one request every 1/20 s


def test_rate_limit_wait_ends_when_stopped():
    rate, stop = RateLimit(per_second=0.1, burst=1), threading.Event()
    assert rate.wait(stop)
    stop.set()
    assert not rate.wait(stop)
