"""What Incident Updated remembers of each incident it saw, so that a poll tells what changed since the last one:
its status, close time and modification, and the newest war-room entry already looked at. Bounded, persisted."""

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import orjson

from xsoar_module.triggers.core.checkpoint import CheckpointError, is_number, read_state, write_whole

STATE_FILE = "incident_updated_state.json"
MAX_INCIDENTS = 5000
FORMAT_VERSION = 1


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


def _checked(state: IncidentState) -> IncidentState:
    """The state read back, or ValueError when a field has the wrong type (a file edited or written by another
    version): it would fail later, at each poll."""
    texts = isinstance(state.closed, str) and isinstance(state.modified, str)
    times = is_number(state.modified_at) and (state.entry_at is None or is_number(state.entry_at))
    ids = isinstance(state.entry_ids, list) and all(isinstance(entry_id, str) for entry_id in state.entry_ids)
    if not (texts and times and ids):
        raise ValueError("an incident's state has fields of the wrong type")
    return state


class IncidentStates:
    """The incidents' states in one JSON file, replaced whole; the most recently modified `limit` are kept."""

    def __init__(self, path: Path, limit: int = MAX_INCIDENTS):
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
            if not isinstance(body, dict) or body.get("version") != FORMAT_VERSION:
                raise ValueError(f"not a version {FORMAT_VERSION} state")
            self._states = {str(key): _checked(IncidentState(**value)) for key, value in body["incidents"].items()}
        except CheckpointError as exc:
            return str(exc)
        except (ValueError, TypeError, KeyError, AttributeError) as exc:
            self._states = {}
            return f"The state {self.path.name} is unreadable ({type(exc).__name__}: {exc})"
        return None

    def save(self) -> None:
        """Write the file; OSError when it cannot be."""
        incidents = {key: asdict(state) for key, state in self._states.items()}
        write_whole(self.path, orjson.dumps({"version": FORMAT_VERSION, "incidents": incidents}))

    def get(self, incident_id: str) -> IncidentState | None:
        return self._states.get(incident_id)

    def put(self, incident_id: str, state: IncidentState) -> None:
        self._states[incident_id] = state
        if len(self._states) > self.limit:
            oldest = sorted(self._states, key=lambda key: self._states[key].modified_at)
            for key in oldest[: len(self._states) - self.limit]:
                del self._states[key]

    def __len__(self) -> int:
        return len(self._states)
