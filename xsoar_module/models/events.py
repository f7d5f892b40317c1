"""Events returned by a Sekoia.io events search."""

from typing import Any

from pydantic import BaseModel, Field

Event = dict[str, Any]


class EventsResults(BaseModel):
    """Same shape as Sekoia.io's own Get Events results, so `{{ node.N.events }}` keeps working."""

    events: list[Event] = Field(description="Events found (flat dicts with dotted keys such as source.ip)")
