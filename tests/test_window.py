"""The window of an alert's events (one rule for Get Alert and Create Incident) and the window checks."""

from datetime import UTC, datetime

import pytest

from xsoar_module.errors import InvalidInputError
from xsoar_module.mapping.window import check_window, events_window, parse_time, search_time
from xsoar_module.models.alert import Alert
from xsoar_module.models.schema import is_null_rendering

NOW = datetime(2026, 12, 2, 7, 0, 0, 250000, tzinfo=UTC)
CREATED = 1764316800  # 2025-11-28T08:00:00Z


@pytest.mark.parametrize(
    ("times", "window"),
    [
        (
            {"first_seen_at": "2025-11-28T07:58:41.120000Z", "last_seen_at": "2025-11-28T07:59:58.904999Z"},
            ("2025-11-28T07:58:41.120000Z", "2025-11-28T07:59:58.904999Z"),
        ),
        (
            {"first_seen_at": "2025-11-28T07:58:41Z", "last_seen_at": None, "created_at": CREATED},
            ("2025-11-28T07:58:41Z", "2026-12-02T07:00:00.250000Z"),
        ),
        ({"created_at": CREATED}, ("2025-11-27T08:00:00Z", "2026-12-02T07:00:00.250000Z")),
        (
            {"created_at": CREATED, "first_seen_at": "not a time"},
            ("2025-11-27T08:00:00Z", "2026-12-02T07:00:00.250000Z"),
        ),
        ({"first_seen_at": "2025-11-28T09:58:41+02:00"}, ("2025-11-28T07:58:41Z", "2026-12-02T07:00:00.250000Z")),
        ({"first_seen_at": "2025-11-28T07:58:41"}, ("2025-11-28T07:58:41Z", "2026-12-02T07:00:00.250000Z")),
        ({}, ("2026-11-02T07:00:00.250000Z", "2026-12-02T07:00:00.250000Z")),
        (
            {"first_seen_at": "2025-11-28T08:00:00Z", "last_seen_at": "2025-11-28T07:00:00Z"},
            ("2025-11-28T07:00:00Z", "2025-11-28T07:00:00Z"),
        ),
    ],
    ids=["seen", "null-last-seen", "old-alert", "garbage-first-seen", "offset", "no-zone", "no-time", "inverted"],
)
def test_events_window_is_never_null_and_never_inverted(times, window):
    assert events_window(Alert.model_validate(times), NOW) == window


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("now", NOW),
        ("-1d", datetime(2026, 12, 1, 7, 0, 0, 250000, tzinfo=UTC)),
        ("-30m", datetime(2026, 12, 2, 6, 30, 0, 250000, tzinfo=UTC)),
        ("-2w", datetime(2026, 11, 18, 7, 0, 0, 250000, tzinfo=UTC)),
        ("2025-11-28T08:00:00", datetime(2025, 11, 28, 8, tzinfo=UTC)),
        ("-1d@d", None),
        ("None", None),
        (None, None),
    ],
)
def test_parse_time(text, expected):
    assert parse_time(text, NOW) == expected


@pytest.mark.parametrize(
    ("earliest", "latest"),
    [("-1d", "now"), ("2025-11-28T07:00:00Z", "2025-11-28T08:00:00Z"), ("-1d@d", "now"), ("now", "now")],
)
def test_ordered_or_unknown_windows_pass(earliest, latest):
    check_window(earliest, latest, NOW)


@pytest.mark.parametrize(
    ("earliest", "latest"), [("now", "-1d"), ("2025-11-28T08:00:00Z", "2025-11-28T07:00:00Z"), ("2027-01-01", "now")]
)
def test_an_inverted_window_names_both_arguments(earliest, latest):
    with pytest.raises(InvalidInputError) as raised:
        check_window(earliest, latest, NOW)
    assert str(raised.value).startswith(
        f"Invalid arguments: earliest_time {earliest!r} is after latest_time {latest!r}"
    )


@pytest.mark.parametrize(
    ("value", "null"),
    [(None, True), ("", True), (" None ", True), ("null", True), ("undefined", True), ("now", False)],
)
def test_null_renderings(value, null):
    assert is_null_rendering(value) is null


@pytest.mark.parametrize(
    ("text", "sent"),
    [
        ("now", "now"),
        (" -30m ", "-30m"),
        ("-2w", "-2w"),
        ("2025-11-28", "2025-11-28"),
        ("2025-11-28T08:00:00", "2025-11-28T08:00:00"),
        ("2025-11-28T08:00:00+02:00", "2025-11-28T08:00:00+02:00"),
        ("1764316800", "2025-11-28T08:00:00Z"),
        ("1764316800.25", "2025-11-28T08:00:00.250000Z"),
    ],
)
def test_search_times_accepted_and_epoch_seconds_sent_as_iso(text, sent):
    assert search_time(text, NOW) == sent


@pytest.mark.parametrize("text", ["yesterday-ish", "-1d@d", "+1d", "1e9", "9" * 20, "2025-13-01"])
def test_unreadable_search_times_are_refused_with_the_accepted_forms(text):
    with pytest.raises(ValueError, match=r"is not a time: give ISO-8601 .* relative .* now, or epoch seconds"):
        search_time(text, NOW)
