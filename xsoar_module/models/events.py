"""Events returned by a Sekoia.io events search, and the bounds of a search."""

from typing import Any

from pydantic import Field

from xsoar_module.models.schema import ManifestModel

Event = dict[str, Any]
NOW = "now"  # the end of a search window that moves with the search
SEARCH_TIMEOUT, MAX_SEARCH_TIMEOUT = 300, 3600  # seconds a search job may take: default, and the most allowed


class EventsResults(ManifestModel):
    """Same shape as Sekoia.io's own Get Events results, so `{{ node.N.events }}` keeps working."""

    events: list[Event] = Field(description="Events found (flat dicts with dotted keys such as source.ip)")
