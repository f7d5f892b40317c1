"""Events returned by a Sekoia.io events search, and the bounds of a search."""

from typing import Any

from pydantic import Field

from xsoar_module.models.schema import ManifestModel

Event = dict[str, Any]
NOW = "now"  # the end of a search window that moves with the search
SEARCH_TIMEOUT, MAX_SEARCH_TIMEOUT = 300, 3600  # seconds a search job may take: default, and the most allowed
INDEXING_WAIT, MAX_INDEXING_WAIT = 60, 600  # seconds to wait for events indexed late: default, and the most allowed
INDEXING_WAIT_HELP = (
    "Seconds to keep searching, with backoff, while the search finds fewer events than the alert has (Sekoia.io "
    "indexes them after it raises the alert); 0: search once"
)
EVENTS_MISSING_HELP = (
    "Events of the alert that the search had not found when the wait for late events ended (0: all found)"
)


class EventsResults(ManifestModel):
    """Same shape as Sekoia.io's own Get Events results, so `{{ node.N.events }}` keeps working."""

    events: list[Event] = Field(description="Events found (flat dicts with dotted keys such as source.ip)")
    events_missing: int = Field(0, description=EVENTS_MISSING_HELP)
    indexing_waited: float = Field(
        0.0, description="Seconds spent searching again for events indexed late (0: found by the first search)"
    )
