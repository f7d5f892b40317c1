"""What the Alert Created trigger persists so that a restart neither loses nor repeats alerts.

The watermark is the `created_at` of the newest handled alert, held back by every alert still pending
(notified but not fetched yet, being sent, waiting for a retry) and by every gap in the notifications.
A catch-up lists the alerts created since the watermark minus an overlap; the uuids of the recently handled
alerts, kept with the watermark, make that overlap harmless.
"""

import contextlib
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeGuard

import orjson
from s3path import S3Path
from sekoia_automation.module import LogLevelStr

OVERLAP_SECONDS = 300
MAX_RECENT = 5000
FORMAT_VERSION = 1
GAP = "<gap in the notifications>"


class CheckpointError(Exception):
    """The checkpoint file exists but cannot be read."""


@dataclass
class Checkpoint:
    """`created_at`: the watermark; `floor`: never list alerts created before it; `recent`: uuid -> created_at."""

    created_at: int
    floor: int
    recent: dict[str, int] = field(default_factory=dict)

    @classmethod
    def first_start(cls, now: float, backfill_minutes: int) -> "Checkpoint":
        start = int(now) - backfill_minutes * 60
        return cls(created_at=start, floor=start)

    def to_bytes(self) -> bytes:
        return orjson.dumps(
            {"version": FORMAT_VERSION, "created_at": self.created_at, "floor": self.floor, "recent": self.recent}
        )

    @classmethod
    def from_bytes(cls, data: bytes) -> "Checkpoint":
        """Raises ValueError when the content is not a checkpoint."""
        body: Any = orjson.loads(data)
        if not isinstance(body, dict) or body.get("version") != FORMAT_VERSION:
            raise ValueError(f"not a version {FORMAT_VERSION} checkpoint")
        created_at, floor, recent = body.get("created_at"), body.get("floor"), body.get("recent")
        if not is_whole(created_at) or not is_whole(floor) or not isinstance(recent, dict):
            raise ValueError("created_at, floor or recent is missing or of the wrong type")
        if not all(is_number(at) for at in recent.values()):
            raise ValueError("a time of recent is not a number")
        return cls(created_at=created_at, floor=floor, recent={uuid: int(at) for uuid, at in recent.items()})


class CheckpointStore:
    """One JSON file, replaced whole on every save (a crash leaves the old or the new one, never half of it)."""

    def __init__(self, path: Path):
        self.path = path

    def load(self) -> Checkpoint | None:
        """The saved checkpoint, None on a first start; CheckpointError when the file is unreadable."""
        data = read_state(self.path, "checkpoint")
        try:
            return None if data is None else Checkpoint.from_bytes(data)
        except ValueError as exc:
            raise CheckpointError(f"The checkpoint {self.path.name} is unreadable ({exc})") from None

    def save(self, checkpoint: Checkpoint) -> None:
        write_whole(self.path, checkpoint.to_bytes())


def is_number(value: Any) -> TypeGuard[int | float]:
    """An int or a float, not a boolean (JSON's `true` is no time)."""
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def is_whole(value: Any) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)


def read_state(path: Path, what: str) -> bytes | None:
    """The content of a trigger's state file; None when there is none (a first start); CheckpointError naming the file
    when something else is at its path (a directory) or it cannot be read."""
    if not path.exists():
        return None
    if not path.is_file():
        raise CheckpointError(f"The {what} {path.name} is unreadable (it is not a file: a directory?)")
    try:
        return path.read_bytes()
    except OSError as exc:
        raise CheckpointError(f"The {what} {path.name} is unreadable ({exc.strerror or exc})") from None


def open_checkpoint(
    store: "CheckpointStore", first_start: Callable[[], Checkpoint], log: Callable[[str, LogLevelStr], None], lost: str
) -> tuple[Checkpoint, bool]:
    """The saved checkpoint and True; else a first start and False. The one rule of every unreadable state: an error
    log naming the file and what is `lost`, then a first start; a first start that cannot be saved is logged and the
    trigger runs on (saving again after its next change), never a crash that restarts forever."""
    try:
        checkpoint = store.load()
    except CheckpointError as exc:
        log(f"{exc}: starting as on a first start; {lost}", "error")
        checkpoint = None
    if checkpoint is not None:
        return checkpoint, True
    checkpoint = first_start()
    try:
        store.save(checkpoint)  # a restart resumes from this first start, not from its own "now"
    except OSError as exc:
        log(
            f"The checkpoint could not be saved ({exc.strerror or exc}): the trigger runs on and saves it again after "
            "its next change",
            "error",
        )
    return checkpoint, False


def write_whole(path: Path, data: bytes) -> None:
    """Replace the file whole: a crash leaves the old or the new content, never half of it. OSError naming the file
    alone (not the data folder's path) when it cannot be written."""
    try:
        if isinstance(path, S3Path):  # an object PUT already replaces the object whole
            path.write_bytes(data)
            return
        temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        try:
            with open(temporary, "wb") as out:
                out.write(data)
                out.flush()
                os.fsync(out.fileno())
            os.replace(temporary, path)
        except OSError:
            with contextlib.suppress(OSError):
                temporary.unlink(missing_ok=True)
            raise
    except OSError as exc:
        raise OSError(exc.errno, f"{path.name} could not be written: {exc.strerror or exc}") from None


class Ledger:
    """Thread-safe progress: handled uuids, pending holds, and how far the watermark may move."""

    def __init__(
        self,
        store: CheckpointStore,
        checkpoint: Checkpoint,
        *,
        overlap: int = OVERLAP_SECONDS,
        max_recent: int = MAX_RECENT,
        clock: Callable[[], float] = time.time,
    ):
        self._store = store
        self._clock = clock
        self._checkpoint = checkpoint
        self._overlap = overlap
        self._max_recent = max_recent
        self._newest = checkpoint.created_at
        self._holds: dict[str, float] = {}
        self._gaps_opened = 0
        self._dirty = False
        self._lock = threading.Lock()
        self._save_lock = threading.Lock()

    @property
    def watermark(self) -> int:
        return self._checkpoint.created_at

    @property
    def catch_up_since(self) -> int:
        """List alerts created since then: the watermark minus the overlap, never before the first start."""
        with self._lock:
            return max(self._checkpoint.floor, self._checkpoint.created_at - self._overlap)

    def is_done(self, uuid: str) -> bool:
        with self._lock:
            return uuid in self._checkpoint.recent

    def hold(self, key: str, bound: float) -> None:
        """Keep the watermark at or below `bound` until `key` is released or done."""
        with self._lock:
            self._holds[key] = min(self._holds.get(key, bound), bound)

    def release(self, key: str) -> None:
        with self._lock:
            self._holds.pop(key, None)
            self._advance()

    def done(self, uuid: str, created_at: int | float | None) -> None:
        """The alert was emitted (or filtered out): it is never emitted again. A time in the future (a server's wrong
        clock, a forged date) counts as now: it never moves the watermark past changes still to come."""
        with self._lock:
            at = int(created_at) if is_number(created_at) else self._checkpoint.created_at
            at = min(at, int(self._clock()))
            self._checkpoint.recent[uuid] = at
            self._newest = max(self._newest, at)
            self._holds.pop(uuid, None)
            self._cap_recent()
            self._advance()
            self._dirty = True

    def open_gap(self, bound: float) -> int:
        """Notifications after `bound` may be missing: hold the watermark until a later catch-up completes."""
        with self._lock:
            self._holds[GAP] = min(self._holds.get(GAP, bound), bound)
            self._gaps_opened += 1
            return self._gaps_opened

    @property
    def gaps_opened(self) -> int:
        with self._lock:
            return self._gaps_opened

    def close_gaps(self, opened_before_catch_up: int) -> None:
        """A catch-up that started after the last gap was opened completed: the gap is filled."""
        with self._lock:
            if self._gaps_opened == opened_before_catch_up:
                self._holds.pop(GAP, None)
                self._advance()

    def flush(self) -> None:
        """Save the checkpoint if it changed; raises OSError (and keeps it to save) when the write fails."""
        with self._save_lock:
            with self._lock:
                if not self._dirty:
                    return
                snapshot = Checkpoint(
                    self._checkpoint.created_at, self._checkpoint.floor, dict(self._checkpoint.recent)
                )
                self._dirty = False
            try:
                self._store.save(snapshot)
            except BaseException:
                with self._lock:
                    self._dirty = True
                raise

    def _advance(self) -> None:
        limit = min(self._holds.values(), default=float("inf"))
        target = int(min(self._newest, limit))
        if target > self._checkpoint.created_at:
            self._checkpoint.created_at = target
            self._prune()
            self._dirty = True

    def _prune(self) -> None:
        """Forget uuids no catch-up can list again (created well before the listed window)."""
        oldest_listed = self._checkpoint.created_at - 2 * self._overlap
        recent = self._checkpoint.recent
        for uuid in [uuid for uuid, at in recent.items() if at < oldest_listed]:
            del recent[uuid]

    def _cap_recent(self) -> None:
        """Keep the newest `max_recent` uuids, forgetting the oldest (pruning normally keeps far fewer).

        Beyond that many alerts handled within the window a catch-up lists (a flood, or a catch-up failing for long
        while the watermark is held), a forgotten alert listed again starts a second run.
        """
        recent = self._checkpoint.recent
        if len(recent) > self._max_recent:
            for uuid in sorted(recent, key=recent.__getitem__)[: len(recent) - self._max_recent]:
                del recent[uuid]
