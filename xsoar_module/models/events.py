"""Events returned by a Sekoia.io events search."""

from typing import Any

from pydantic import Field

from xsoar_module.models.schema import ManifestModel

Event = dict[str, Any]


class EventsResults(ManifestModel):
    """Same shape as Sekoia.io's own Get Events results, so `{{ node.N.events }}` keeps working."""

    events: list[Event] = Field(description="Events found (flat dicts with dotted keys such as source.ip)")
