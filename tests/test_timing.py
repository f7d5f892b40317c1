"""The timing core: backoff, deadlines, poll schedules, ISO-8601."""

import itertools
from datetime import UTC, datetime, timedelta, timezone

import pytest

from xsoar_module.timing import (
    Backoff,
    Deadline,
    PollSchedule,
    epoch,
    epoch_to_iso8601,
    iso8601,
    iso8601_seconds,
    parse_iso8601,
)


def test_backoff_without_jitter_doubles_up_to_its_longest():
    backoff = Backoff(first=5.0, longest=300.0)
    assert [backoff.delay(failures) for failures in (1, 2, 3, 7, 8, 50)] == [5.0, 10.0, 20.0, 300.0, 300.0, 300.0]


def test_backoff_jitter_spreads_each_delay_both_ways():
    backoff = Backoff(first=10.0, factor=1.0, longest=10.0, jitter=0.5)
    delays = [backoff.delay(1) for _ in range(200)]
    assert all(5.0 <= delay <= 15.0 for delay in delays)
    assert min(delays) < 10.0 < max(delays)


def test_a_deadline_counts_down_to_zero():
    assert 9.0 < Deadline(10.0).remaining() <= 10.0
    assert Deadline(-1.0).remaining() == 0.0


def test_a_poll_schedule_grows_to_its_longest():
    delays = list(itertools.islice(PollSchedule(first=0.1, factor=2.0, longest=0.5).delays(), 5))
    assert delays == [0.1, 0.2, 0.4, 0.5, 0.5]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (1764316800, 1764316800),
        (1764316800.9, 1764316800),
        ("2025-11-28T08:00:00Z", 1764316800),
        ("2025-11-28T09:00:00+01:00", 1764316800),
        ("2025-11-28T08:00:00", 1764316800),  # no zone: UTC
        (True, None),
        (float("inf"), None),
        ("yesterday", None),
        (None, None),
    ],
)
def test_epoch_reads_numbers_and_iso8601_texts(value, expected):
    assert epoch(value) == expected


def test_iso8601_forms():
    assert iso8601_seconds(1764316800.9) == "2025-11-28T08:00:00Z"
    assert epoch_to_iso8601(1764316800.25) == "2025-11-28T08:00:00.250Z"
    moment = datetime(2025, 11, 28, 9, 0, 0, 250, tzinfo=timezone(timedelta(hours=1)))
    assert iso8601(moment) == "2025-11-28T08:00:00.000250Z"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2025-11-28T08:00:00Z", datetime(2025, 11, 28, 8, tzinfo=UTC)),
        (" 2025-11-28T08:00:00 ", datetime(2025, 11, 28, 8, tzinfo=UTC)),
        ("2025-11-28T09:00:00+01:00", datetime(2025, 11, 28, 8, tzinfo=UTC)),
        ("yesterday", None),
    ],
)
def test_parse_iso8601(text: str, expected: datetime | None):
    assert parse_iso8601(text) == expected
