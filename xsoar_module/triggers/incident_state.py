"""What Incident Updated remembers of each incident it saw, so that a poll tells what changed since the last one:
its status, close time and modification, and the newest war-room entry already looked at. Persisted compactly.

Nothing a later poll needs is forgotten: every open incident keeps its entry mark (its notes are read from it, not
from the checkpoint) and the closed ones their closure (a reopening is told from it); only the oldest closures beyond
`limit` closed incidents are forgotten (a reopening of one of those is then not emitted).
"""

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from xsoar_module.sync.snapshots import STATUS_CLOSED
from xsoar_module.timing import xsoar_epoch
from xsoar_module.triggers.core.checkpoint import CheckpointError, is_number, read_state, write_whole

STATE_FILE = "incident_updated_state.json"
MAX_CLOSED = 100_000  # closed incidents remembered (about 70 bytes each in the file), the oldest closures forgotten
FORMAT_VERSION = 2  # one row per incident: [status, modified, closed, entry_at, *entry_ids], trailing empties left out
READABLE_VERSIONS = (1, FORMAT_VERSION)  # version 1 (0.1): one object per incident, read on upgrade


@dataclass
class IncidentState:
    """`status` (XSOAR's number), `closed` and `modified` as XSOAR wrote them, `modified_at` in epoch seconds,
    `entry_at`: the creation of the newest war-room entry looked at, `entry_ids`: the entries created then."""

    status: Any
    closed: str
    modified: str
    modified_at: float
    entry_at: float | None = None
    entry_ids: list[str] = field(default_factory=list)

    def row(self) -> list[Any]:
        """The compact form saved: the close time only for a closed incident, `modified_at` derived from `modified`."""
        row = [self.status, self.modified]
        closed = self.closed if self.status == STATUS_CLOSED else ""
        if self.entry_at is not None or self.entry_ids:
            return [*row, closed, self.entry_at, *self.entry_ids]
        return [*row, closed] if closed else row

    @classmethod
    def of_row(cls, row: Any) -> "IncidentState":
        """The state of a saved row; ValueError when it has the wrong shape or types (a file edited or written by
        another version): it would fail later, at each poll."""
        if not isinstance(row, list) or len(row) < 2:
            raise ValueError("an incident's state is not a list of at least its status and modification")
        status, modified, closed, entry_at, *entry_ids = row + ["", None][len(row) - 2 :]
        return _checked(cls(status, closed, modified, xsoar_epoch(modified) or 0.0, entry_at, entry_ids))


def _checked(state: IncidentState) -> IncidentState:
    """The state read back, or ValueError when a field has the wrong type."""
    texts = isinstance(state.closed, str) and isinstance(state.modified, str)
    times = is_number(state.modified_at) and (state.entry_at is None or is_number(state.entry_at))
    ids = isinstance(state.entry_ids, list) and all(isinstance(entry_id, str) for entry_id in state.entry_ids)
    if not (texts and times and ids):
        raise ValueError("an incident's state has fields of the wrong type")
    return state


class IncidentStates:
    """The incidents' states in one JSON file, replaced whole: every open incident's, and the `limit` most recently
    closed incidents'."""

    def __init__(self, path: Path, limit: int = MAX_CLOSED):
        self.path = path
        self.limit = limit
        self._states: dict[str, IncidentState] = {}

    def load(self) -> str | None:
        """Read the file (absent: nothing known); why it could not be read, if so (then nothing is known)."""
        try:
            data = read_state(self.path, "state")
            if data is None:
                return None
            body = orjson.loads(data)
            if not isinstance(body, dict) or body.get("version") not in READABLE_VERSIONS:
                raise ValueError(f"not a version {FORMAT_VERSION} state")
            if body["version"] == 1:
                states = {key: _checked(IncidentState(**value)) for key, value in body["incidents"].items()}
            else:
                states = {key: IncidentState.of_row(row) for key, row in body["incidents"].items()}
            self._states = {str(key): state for key, state in states.items()}
        except CheckpointError as exc:
            return str(exc)
        except (ValueError, TypeError, KeyError, AttributeError) as exc:
            self._states = {}
            return f"The state {self.path.name} is unreadable ({type(exc).__name__}: {exc})"
        return None

    def save(self) -> None:
        """Write the file, after forgetting the oldest closures beyond the limit; OSError when it cannot be."""
        self._forget_old_closures()
        incidents = {key: state.row() for key, state in self._states.items()}
        write_whole(self.path, orjson.dumps({"version": FORMAT_VERSION, "incidents": incidents}))

    def get(self, incident_id: str) -> IncidentState | None:
        return self._states.get(incident_id)

    def put(self, incident_id: str, state: IncidentState) -> None:
        self._states[incident_id] = state

    def _forget_old_closures(self) -> None:
        closed = [key for key, state in self._states.items() if state.status == STATUS_CLOSED]
        if len(closed) > self.limit:
            closed.sort(key=lambda key: xsoar_epoch(self._states[key].closed) or self._states[key].modified_at)
            for key in closed[: len(closed) - self.limit]:
                del self._states[key]

    def __len__(self) -> int:
        return len(self._states)
