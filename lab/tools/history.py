"""Run history in SQLite: one row per playbook run, one per block run, secrets masked before they are stored."""

import json
import re
import sqlite3
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

DEFAULT_PATH = Path(__file__).resolve().parents[2] / ".state" / "runs.sqlite3"
MASK = "***"
SECRET_KEY = re.compile(r"token|password|passwd|api[_-]?key|secret|authorization", re.IGNORECASE)
FINISHED_STATUSES = ("succeeded", "failed")
BLOCK_STATUSES = ("running", "succeeded", "failed", "skipped")
SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    playbook_name TEXT NOT NULL,
    playbook_uuid TEXT NOT NULL,
    summary TEXT NOT NULL,
    status TEXT NOT NULL,
    started TEXT NOT NULL,
    ended TEXT,
    error TEXT
);
CREATE TABLE IF NOT EXISTS block_runs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id INTEGER NOT NULL REFERENCES runs(id),
    node_id TEXT NOT NULL,
    block_name TEXT NOT NULL,
    status TEXT NOT NULL,
    arguments TEXT,
    results TEXT,
    logs TEXT,
    error TEXT,
    started TEXT NOT NULL,
    duration REAL
);
CREATE INDEX IF NOT EXISTS block_runs_by_run ON block_runs(run_id);
CREATE TABLE IF NOT EXISTS trigger_counters (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    playbook_name TEXT NOT NULL,
    trigger TEXT NOT NULL,
    counters TEXT NOT NULL,
    recorded TEXT NOT NULL
);
"""


class HistoryError(Exception):
    """A call the history cannot record or answer: unknown run, unknown status, a file that is not a history."""


@dataclass(frozen=True)
class BlockRun:
    node_id: str
    block_name: str
    status: str
    arguments: Any
    results: Any
    logs: Any
    error: str | None
    started: str
    duration: float | None


@dataclass(frozen=True)
class Run:
    id: int
    playbook_name: str
    playbook_uuid: str
    summary: str
    status: str
    started: str
    ended: str | None
    error: str | None
    blocks: list[BlockRun] = field(default_factory=list)


@dataclass(frozen=True)
class TriggerCounts:
    """A trigger's counters as its process last served them (`emitted`, `filtered`, ..., `delay_mean`)."""

    playbook_name: str
    trigger: str
    counters: dict[str, float]
    recorded: str


def now() -> str:
    """The current UTC time as ISO-8601 text, as the history stores times."""
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def mask_secrets(value: Any, secrets: Iterable[str] = ()) -> Any:
    """A copy of `value` where secret-looking keys hold `***` and every given secret string is replaced."""
    ordered = sorted({secret for secret in secrets if secret}, key=len, reverse=True)
    return _mask(value, ordered)


def _mask(value: Any, secrets: list[str]) -> Any:
    if isinstance(value, dict):
        return {
            key: MASK if SECRET_KEY.search(str(key)) and value[key] not in (None, "") else _mask(value[key], secrets)
            for key in value
        }
    if isinstance(value, (list, tuple)):
        return [_mask(item, secrets) for item in value]
    if isinstance(value, str):
        for secret in secrets:
            value = value.replace(secret, MASK)
    return value


class History:
    """Runs of playbooks, shared by concurrent runs: one connection behind a lock, WAL journal."""

    def __init__(self, path: Path | str = DEFAULT_PATH, secrets: Iterable[str] = ()):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._secrets = tuple(secrets)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(self.path, check_same_thread=False, timeout=10)
        self._db.row_factory = sqlite3.Row
        try:
            with self._lock, self._db:
                self._db.execute("PRAGMA journal_mode=WAL")
                self._db.executescript(SCHEMA)
        except sqlite3.DatabaseError as exc:
            self._db.close()
            raise HistoryError(
                f"{self.path}: not a readable run history ({exc}): move it away or delete it, "
                "a new one is created on the next run"
            ) from None

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def __enter__(self) -> "History":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _json(self, value: Any) -> str | None:
        return None if value is None else json.dumps(mask_secrets(value, self._secrets), default=str)

    def _text(self, value: str | None) -> str | None:
        return None if value is None else mask_secrets(str(value), self._secrets)

    def _write(self, sql: str, parameters: tuple) -> sqlite3.Cursor:
        with self._lock, self._db:
            return self._db.execute(sql, parameters)

    def _read(self, sql: str, parameters: tuple) -> list[sqlite3.Row]:
        with self._lock:
            return self._db.execute(sql, parameters).fetchall()

    def start_run(self, playbook_name: str, playbook_uuid: str, summary: str = "") -> int:
        """Record a run that starts now; `summary` tells the trigger event (e.g. the alert short id)."""
        cursor = self._write(
            "INSERT INTO runs (playbook_name, playbook_uuid, summary, status, started) VALUES (?, ?, ?, ?, ?)",
            (playbook_name, playbook_uuid, self._text(summary), "running", now()),
        )
        run_id = cursor.lastrowid
        assert run_id is not None  # set by every INSERT
        return run_id

    def record_block(
        self,
        run_id: int,
        node_id: str,
        block_name: str,
        status: str,
        *,
        arguments: Any = None,
        results: Any = None,
        logs: Any = None,
        error: str | None = None,
        started: str | None = None,
        duration: float | None = None,
    ) -> None:
        """Record how one node of run `run_id` went; arguments, results, logs and error are masked."""
        _check_status(status, BLOCK_STATUSES)
        self._check_run(run_id)
        self._write(
            "INSERT INTO block_runs (run_id, node_id, block_name, status, arguments, results, logs, error, started, "
            "duration) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                run_id,
                str(node_id),
                block_name,
                status,
                self._json(arguments),
                self._json(results),
                self._json(logs),
                self._text(error),
                started or now(),
                duration,
            ),
        )

    def finish_run(self, run_id: int, status: str, error: str | None = None) -> None:
        """Close run `run_id` as succeeded or failed."""
        _check_status(status, FINISHED_STATUSES)
        self._check_run(run_id)
        self._write(
            "UPDATE runs SET status = ?, ended = ?, error = ? WHERE id = ?", (status, now(), self._text(error), run_id)
        )

    def recent_runs(self, limit: int = 20) -> list[Run]:
        """The latest runs first, each with its block runs in the order they were recorded."""
        rows = self._read("SELECT * FROM runs ORDER BY id DESC LIMIT ?", (limit,))
        blocks = self._blocks([row["id"] for row in rows])
        return [_run(row, blocks.get(row["id"], [])) for row in rows]

    def run_detail(self, run_id: int) -> Run:
        """One run with all it recorded."""
        rows = self._read("SELECT * FROM runs WHERE id = ?", (run_id,))
        if not rows:
            raise HistoryError(f"no run {run_id} in {self.path}")
        return _run(rows[0], self._blocks([run_id]).get(run_id, []))

    def record_counters(self, playbook_name: str, trigger: str, counters: dict[str, float]) -> None:
        """Record a trigger's counters (read from its metrics endpoint before it stops)."""
        self._write(
            "INSERT INTO trigger_counters (playbook_name, trigger, counters, recorded) VALUES (?, ?, ?, ?)",
            (playbook_name, trigger, json.dumps(counters), now()),
        )

    def recent_counters(self, limit: int = 10) -> list[TriggerCounts]:
        """The latest triggers' counters first."""
        rows = self._read("SELECT * FROM trigger_counters ORDER BY id DESC LIMIT ?", (limit,))
        return [
            TriggerCounts(row["playbook_name"], row["trigger"], json.loads(row["counters"]), row["recorded"])
            for row in rows
        ]

    def _check_run(self, run_id: int) -> None:
        if not self._read("SELECT 1 FROM runs WHERE id = ?", (run_id,)):
            raise HistoryError(f"no run {run_id} in {self.path}")

    def _blocks(self, run_ids: list[int]) -> dict[int, list[BlockRun]]:
        if not run_ids:
            return {}
        marks = ", ".join("?" * len(run_ids))
        rows = self._read(f"SELECT * FROM block_runs WHERE run_id IN ({marks}) ORDER BY id", tuple(run_ids))
        blocks: dict[int, list[BlockRun]] = {}
        for row in rows:
            blocks.setdefault(row["run_id"], []).append(_block_run(row))
        return blocks


def _check_status(status: str, allowed: tuple[str, ...]) -> None:
    if status not in allowed:
        raise HistoryError(f"status {status!r} is not one of {', '.join(allowed)}")


def _loads(text: str | None) -> Any:
    return None if text is None else json.loads(text)


def _block_run(row: sqlite3.Row) -> BlockRun:
    return BlockRun(
        node_id=row["node_id"],
        block_name=row["block_name"],
        status=row["status"],
        arguments=_loads(row["arguments"]),
        results=_loads(row["results"]),
        logs=_loads(row["logs"]),
        error=row["error"],
        started=row["started"],
        duration=row["duration"],
    )


def _run(row: sqlite3.Row, blocks: list[BlockRun]) -> Run:
    return Run(
        id=row["id"],
        playbook_name=row["playbook_name"],
        playbook_uuid=row["playbook_uuid"],
        summary=row["summary"],
        status=row["status"],
        started=row["started"],
        ended=row["ended"],
        error=row["error"],
        blocks=blocks,
    )
