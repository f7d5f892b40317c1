"""The Alert Created trigger's persisted progress: atomic file, watermark held by pending alerts and gaps."""

import os
from pathlib import Path

import orjson
import pytest

from xsoar_module.triggers.core.checkpoint import Checkpoint, CheckpointError, CheckpointStore, Ledger, open_checkpoint

T0 = 1_764_316_800


def ledger_at(tmp_path: Path, created_at: int = T0, floor: int | None = None, **kwargs) -> Ledger:
    store = CheckpointStore(tmp_path / "checkpoint.json")
    return Ledger(store, Checkpoint(created_at, created_at if floor is None else floor), **kwargs)


def saved(tmp_path: Path) -> Checkpoint:
    loaded = CheckpointStore(tmp_path / "checkpoint.json").load()
    assert loaded is not None
    return loaded


def test_first_start_reaches_back_by_the_backfill():
    assert Checkpoint.first_start(T0 + 0.9, 0) == Checkpoint(T0, T0)
    assert Checkpoint.first_start(T0, 15) == Checkpoint(T0 - 900, T0 - 900)


def test_store_round_trip_and_absent_file(tmp_path: Path):
    store = CheckpointStore(tmp_path / "checkpoint.json")
    assert store.load() is None
    checkpoint = Checkpoint(T0, T0 - 60, {"a": T0, "b": T0 - 1})
    store.save(checkpoint)
    assert store.load() == checkpoint
    assert [p.name for p in tmp_path.iterdir()] == ["checkpoint.json"]  # no temporary file left behind


def test_save_replaces_the_file_whole(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    store = CheckpointStore(tmp_path / "checkpoint.json")
    store.save(Checkpoint(T0, T0))

    def crash(*_args):
        raise OSError("killed before the rename")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(OSError):
        store.save(Checkpoint(T0 + 10, T0))
    assert store.load() == Checkpoint(T0, T0)  # the previous checkpoint, intact


@pytest.mark.parametrize(
    "content",
    [
        b"{not json",
        b"[]",
        b'{"version": 9, "created_at": 1, "floor": 1, "recent": {}}',
        b'{"version": 1}',
        b'{"version": 1, "created_at": true, "floor": 1, "recent": {}}',
        b'{"version": 1, "created_at": 1, "floor": 1, "recent": {"a": "soon"}}',
        b'{"version": 1, "created_at": 1, "floor": 1, "recent": {"a": false}}',
    ],
)
def test_unreadable_checkpoint_is_reported(tmp_path: Path, content: bytes):
    (tmp_path / "checkpoint.json").write_bytes(content)
    with pytest.raises(CheckpointError, match="checkpoint.json is unreadable"):
        CheckpointStore(tmp_path / "checkpoint.json").load()


def test_done_moves_the_watermark_and_remembers_the_uuid(tmp_path: Path):
    ledger = ledger_at(tmp_path)
    ledger.done("a", T0 + 5)
    assert ledger.watermark == T0 + 5
    assert ledger.is_done("a") and not ledger.is_done("b")
    ledger.flush()
    assert saved(tmp_path) == Checkpoint(T0 + 5, T0, {"a": T0 + 5})


def test_a_pending_alert_holds_the_watermark_until_done(tmp_path: Path):
    ledger = ledger_at(tmp_path)
    ledger.hold("early", T0 + 2)
    ledger.done("late", T0 + 9)
    assert ledger.watermark == T0 + 2
    ledger.done("early", T0 + 2)
    assert ledger.watermark == T0 + 9


def test_release_lets_the_watermark_move(tmp_path: Path):
    ledger = ledger_at(tmp_path)
    ledger.hold("deleted", T0 + 1)
    ledger.done("x", T0 + 7)
    assert ledger.watermark == T0 + 1
    ledger.release("deleted")
    assert ledger.watermark == T0 + 7


def test_watermark_never_goes_back(tmp_path: Path):
    ledger = ledger_at(tmp_path)
    ledger.done("x", T0 + 50)
    ledger.hold("old", T0 + 10)
    ledger.done("older", T0 + 5)
    assert ledger.watermark == T0 + 50


def test_a_gap_holds_the_watermark_until_a_later_catch_up_completes(tmp_path: Path):
    ledger = ledger_at(tmp_path)
    opened = ledger.open_gap(T0 + 3)
    ledger.done("x", T0 + 10)
    assert ledger.watermark == T0 + 3
    ledger.open_gap(T0 + 8)  # another gap while the catch-up ran: it does not fill this one
    ledger.close_gaps(opened)
    assert ledger.watermark == T0 + 3
    ledger.close_gaps(ledger.gaps_opened)
    assert ledger.watermark == T0 + 10


def test_catch_up_starts_an_overlap_before_the_watermark_never_before_the_floor(tmp_path: Path):
    ledger = ledger_at(tmp_path, created_at=T0, floor=T0 - 100, overlap=300)
    assert ledger.catch_up_since == T0 - 100
    ledger.done("x", T0 + 1000)
    assert ledger.catch_up_since == T0 + 700


def test_recent_uuids_are_bounded_keeping_the_newest(tmp_path: Path):
    ledger = ledger_at(tmp_path, max_recent=3)
    for index in range(5):
        ledger.done(f"u{index}", T0 + index)
    ledger.flush()
    assert set(saved(tmp_path).recent) == {"u2", "u3", "u4"}


def test_uuids_no_catch_up_can_list_again_are_forgotten(tmp_path: Path):
    ledger = ledger_at(tmp_path, overlap=10)
    ledger.done("old", T0)
    ledger.done("mid", T0 + 15)
    ledger.done("new", T0 + 30)  # the catch-up lists from T0 + 20: "old" (T0 < T0 + 30 - 2 * 10) can go
    ledger.flush()
    assert set(saved(tmp_path).recent) == {"mid", "new"}


def test_many_alerts_of_one_second_are_all_remembered(tmp_path: Path):
    ledger = ledger_at(tmp_path)
    for index in range(300):
        ledger.done(f"same-second-{index}", T0 + 1)
    assert all(ledger.is_done(f"same-second-{index}") for index in range(300))
    assert ledger.watermark == T0 + 1


def test_flush_writes_only_changes_and_keeps_them_when_the_write_fails(tmp_path: Path):
    ledger = ledger_at(tmp_path)
    ledger.flush()
    assert not (tmp_path / "checkpoint.json").exists()  # nothing changed
    ledger.done("x", T0 + 1)
    (tmp_path / "checkpoint.json").mkdir()  # os.replace onto a directory fails
    with pytest.raises(OSError):
        ledger.flush()
    (tmp_path / "checkpoint.json").rmdir()
    ledger.flush()
    assert saved(tmp_path).recent == {"x": T0 + 1}


def test_a_restart_resumes_from_the_saved_state(tmp_path: Path):
    ledger = ledger_at(tmp_path)
    ledger.done("a", T0 + 4)
    ledger.flush()
    resumed = Ledger(CheckpointStore(tmp_path / "checkpoint.json"), saved(tmp_path))
    assert resumed.is_done("a") and resumed.watermark == T0 + 4
    body = orjson.loads((tmp_path / "checkpoint.json").read_bytes())
    assert body == {"version": 1, "created_at": T0 + 4, "floor": T0, "recent": {"a": T0 + 4}}


def test_a_directory_at_the_checkpoint_path_is_reported(tmp_path: Path):
    (tmp_path / "checkpoint.json").mkdir()
    with pytest.raises(CheckpointError, match="checkpoint.json is unreadable .*not a file"):
        CheckpointStore(tmp_path / "checkpoint.json").load()


def test_an_unreadable_and_unwritable_checkpoint_is_logged_and_started_afresh(tmp_path: Path):
    (tmp_path / "checkpoint.json").mkdir()
    logs: list[tuple[str, str]] = []
    checkpoint, resumed = open_checkpoint(
        CheckpointStore(tmp_path / "checkpoint.json"),
        lambda: Checkpoint(T0, T0),
        lambda *log: logs.append(log),
        "lost",
    )
    assert (checkpoint, resumed) == (Checkpoint(T0, T0), False)
    assert [level for _, level in logs] == ["error", "error"]
    assert "checkpoint.json is unreadable" in logs[0][0] and "lost" in logs[0][0]
    assert "could not be saved" in logs[1][0]


def test_a_time_in_the_future_counts_as_now(tmp_path: Path):
    ledger = ledger_at(tmp_path, clock=lambda: T0 + 10.5)
    ledger.done("tomorrow", T0 + 86400)
    assert ledger.watermark == T0 + 10 and ledger.is_done("tomorrow")
