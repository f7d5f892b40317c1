"""Get Events: the events matching a query in a time window, through a Sekoia.io search job."""

import time

from pydantic import Field

from xsoar_module.actions.base import ModuleAction
from xsoar_module.clients.sekoia import PollSchedule
from xsoar_module.models.events import EventsResults
from xsoar_module.models.schema import ManifestModel, NonBlankStr


class GetEventsArguments(ManifestModel):
    query: NonBlankStr = Field(description='Events query, e.g. alert_short_ids:"{{ node.1.short_id }}"')
    earliest_time: NonBlankStr = Field(
        description="Start of the window: ISO-8601 (e.g. {{ node.1.first_seen_at }}) or -1d"
    )
    latest_time: NonBlankStr = Field(description="End of the window: ISO-8601 (e.g. {{ node.1.last_seen_at }}) or now")
    limit: int = Field(100, ge=1, le=1000, description="Maximum number of events to return (1-1000)")
    timeout: int = Field(300, ge=1, le=3600, description="Seconds to wait for the search job to finish")


class GetEvents(ModuleAction):
    """Search Sekoia.io events, polling the job without fixed sleeps, and page the results."""

    name = "Get Events"
    description = "Get the Sekoia.io events matching a query in a time window"
    results_model = EventsResults

    def run(self, arguments: GetEventsArguments) -> EventsResults:
        started = time.monotonic()
        with self.sekoia_client() as client:
            outcome = client.search_events(
                arguments.query,
                arguments.earliest_time,
                arguments.latest_time,
                arguments.limit,
                PollSchedule(timeout=arguments.timeout),
            )
        self.log(
            f"Search job {outcome.job_uuid} for {arguments.query!r} ({arguments.earliest_time} .. "
            f"{arguments.latest_time}) finished after {outcome.status_polls} status poll(s) in "
            f"{time.monotonic() - started:.2f} s: {len(outcome.events)} event(s) returned of {outcome.total} found",
            level="info",
        )
        return EventsResults(events=outcome.events)
