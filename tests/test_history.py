"""Run history: runs and block runs in SQLite, secrets masked, safe with concurrent runs."""

import sqlite3
import threading
from contextlib import closing

import pytest

from lab.tools.history import History, HistoryError, mask_secrets

TOKEN = "history-token-canary-31f7"


@pytest.fixture
def history(tmp_path):
    with History(tmp_path / "state" / "runs.sqlite3", secrets=[TOKEN, ""]) as opened:
        yield opened


def test_a_run_with_its_blocks(history):
    run_id = history.start_run("Create incident", "7efbb487-3042-4db3-82f7-8c9e75cf21b7", "ALz7Qm3KpW2x")
    history.record_block(run_id, "0", "Alert Created", "succeeded", results={"short_id": "ALz7Qm3KpW2x"})
    history.record_block(
        run_id,
        "1",
        "Create Incident",
        "failed",
        arguments={"alert": {"short_id": "ALz7Qm3KpW2x"}},
        logs=[{"level": "error", "message": "XSOAR answered 500"}],
        error="XSOAR answered 500",
        duration=0.25,
    )
    history.finish_run(run_id, "failed", "node 1 (Create Incident) failed")
    run = history.run_detail(run_id)
    assert (run.status, run.summary, run.error) == ("failed", "ALz7Qm3KpW2x", "node 1 (Create Incident) failed")
    assert run.ended >= run.started
    assert [(block.node_id, block.status) for block in run.blocks] == [("0", "succeeded"), ("1", "failed")]
    assert run.blocks[0].results == {"short_id": "ALz7Qm3KpW2x"}
    assert run.blocks[1].arguments == {"alert": {"short_id": "ALz7Qm3KpW2x"}}
    assert run.blocks[1].logs[0]["message"] == "XSOAR answered 500"
    assert run.blocks[1].duration == 0.25 and run.blocks[1].error == "XSOAR answered 500"


def test_recent_runs_latest_first_with_block_outcomes(history):
    first = history.start_run("p", "u", "A1")
    history.record_block(first, "0", "Alert Created", "succeeded")
    history.finish_run(first, "succeeded")
    second = history.start_run("p", "u", "A2")
    runs = history.recent_runs()
    assert [(run.id, run.status) for run in runs] == [(second, "running"), (first, "succeeded")]
    assert [block.status for block in runs[1].blocks] == ["succeeded"] and runs[0].blocks == []
    assert [run.id for run in history.recent_runs(limit=1)] == [second]


def test_secrets_are_masked_before_storage(history):
    run_id = history.start_run("p", "u", "A1")
    history.record_block(
        run_id,
        "1",
        "HTTP",
        "failed",
        arguments={"headers": {"Authorization": f"Bearer {TOKEN}"}, "xsoar_token": "x", "url": "https://x"},
        results={"echo": f"got {TOKEN}"},
        logs=[f"sent {TOKEN}"],
        error=f"refused {TOKEN}",
    )
    history.finish_run(run_id, "failed", f"token {TOKEN} refused")
    block = history.run_detail(run_id).blocks[0]
    assert block.arguments == {"headers": {"Authorization": "***"}, "xsoar_token": "***", "url": "https://x"}
    assert block.results == {"echo": "got ***"} and block.logs == ["sent ***"] and block.error == "refused ***"
    assert history.run_detail(run_id).error == "token *** refused"
    history.close()
    assert TOKEN.encode() not in history.path.read_bytes()


def test_mask_secrets():
    value = {"api_key": "k", "password": None, "nested": [{"client_secret": "s"}, "a-longer-secret and b"], "n": 1}
    masked = mask_secrets(value, ["a-longer-secret", "longer", ""])
    assert masked == {"api_key": "***", "password": None, "nested": [{"client_secret": "***"}, "*** and b"], "n": 1}
    assert value["api_key"] == "k"


def test_concurrent_runs_are_all_recorded(history):
    def run(worker: int) -> None:
        for number in range(5):
            run_id = history.start_run("p", "u", f"W{worker}-{number}")
            for node_id in ("0", "1", "2"):
                history.record_block(run_id, node_id, "block", "succeeded", results={"worker": worker})
            history.finish_run(run_id, "succeeded")

    threads = [threading.Thread(target=run, args=(worker,)) for worker in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    runs = history.recent_runs(limit=100)
    assert len(runs) == 40 and all(run.status == "succeeded" and len(run.blocks) == 3 for run in runs)
    assert all({block.results["worker"] for block in run.blocks} == {int(run.summary[1])} for run in runs)


def test_the_file_persists_in_wal_mode(tmp_path):
    path = tmp_path / "runs.sqlite3"
    with History(path) as history:
        run_id = history.start_run("p", "u", "A1")
    with History(path) as history:
        assert history.run_detail(run_id).summary == "A1"
    with closing(sqlite3.connect(path)) as connection:
        assert connection.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_bad_calls_are_refused(history):
    with pytest.raises(HistoryError, match="no run 42"):
        history.run_detail(42)
    with pytest.raises(HistoryError, match="no run 42"):
        history.record_block(42, "0", "b", "succeeded")
    run_id = history.start_run("p", "u")
    with pytest.raises(HistoryError, match="'done'"):
        history.finish_run(run_id, "done")
    with pytest.raises(HistoryError, match="'ok'"):
        history.record_block(run_id, "0", "b", "ok")


def test_a_corrupt_history_file_is_one_clear_error(tmp_path):
    path = tmp_path / "runs.sqlite3"
    path.write_bytes(b"not a database" * 100)
    with pytest.raises(HistoryError, match=r"runs\.sqlite3: not a readable run history .*delete it"):
        History(path)
