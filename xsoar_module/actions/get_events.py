"""Get Events: the events matching a query in a time window, through a Sekoia.io search job."""

import time
from datetime import UTC, datetime

from pydantic import Field, field_validator

from xsoar_module.actions.base import ModuleAction
from xsoar_module.models.events import (
    INDEXING_WAIT,
    INDEXING_WAIT_HELP,
    MAX_INDEXING_WAIT,
    MAX_SEARCH_TIMEOUT,
    NOW,
    SEARCH_TIMEOUT,
    EventsResults,
)
from xsoar_module.models.schema import ManifestModel, NonBlankStr, is_null_rendering


class GetEventsArguments(ManifestModel):
    query: NonBlankStr = Field(description='Events query, e.g. alert_short_ids:"{{ node.1.short_id }}"')
    earliest_time: NonBlankStr = Field(
        description="Start of the window: ISO-8601 (e.g. {{ node.1.events_earliest_time }}), relative (-1d), now or "
        "epoch seconds"
    )
    latest_time: str | None = Field(
        NOW,
        description="End of the window: ISO-8601 (e.g. {{ node.1.events_latest_time }}), relative (-1h), now or "
        "epoch seconds; empty, null or None mean now",
    )
    limit: int = Field(100, ge=1, le=1000, description="Maximum number of events to return (1-1000)")
    timeout: int = Field(
        SEARCH_TIMEOUT, ge=1, le=MAX_SEARCH_TIMEOUT, description="Seconds to wait for the search job to finish"
    )
    expected_events: int | None = Field(
        None,
        ge=0,
        description="How many events the alert has: Get Alert's {{ node.1.similar }}. While the search finds fewer "
        'events (for an alert\'s query alert_short_ids:"...", at least one), it searches again for up to '
        "indexing_wait seconds; empty: one for an alert's query, none otherwise",
    )
    indexing_wait: int = Field(INDEXING_WAIT, ge=0, le=MAX_INDEXING_WAIT, description=INDEXING_WAIT_HELP)

    @field_validator("expected_events", mode="before")
    @classmethod
    def _null_count_is_unknown(cls, value: object) -> object:
        return None if is_null_rendering(value) else value

    @field_validator("earliest_time", mode="before")
    @classmethod
    def _earliest_is_a_time(cls, value: object) -> object:
        if is_null_rendering(value):
            raise ValueError(
                f"{value!r} is no time (a null alert time?): use {{{{ node.1.events_earliest_time }}}}, "
                "which is never null, or a relative time such as -1d"
            )
        return value

    @field_validator("earliest_time", mode="after")
    @classmethod
    def _readable_earliest(cls, value: str) -> str:
        from xsoar_module.mapping.window import search_time

        return search_time(value, datetime.now(UTC))

    @field_validator("latest_time", mode="after")
    @classmethod
    def _null_latest_is_now(cls, value: str | None) -> str:
        from xsoar_module.mapping.window import search_time

        return NOW if value is None or is_null_rendering(value) else search_time(value, datetime.now(UTC))


class GetEvents(ModuleAction):
    """Search Sekoia.io events, polling the job without fixed sleeps, and page the results."""

    name = "Get Events"
    description = "Get the Sekoia.io events matching a query in a time window"
    results_model = EventsResults

    def run(self, arguments: GetEventsArguments) -> EventsResults:
        from xsoar_module.mapping.window import check_window, expected_events, is_alert_events_query
        from xsoar_module.timing import PollSchedule

        started = time.monotonic()
        latest_time = arguments.latest_time or NOW  # never None once validated (None means now)
        check_window(arguments.earliest_time, latest_time, datetime.now(UTC))
        with self.sekoia_client() as client:
            outcome = client.search_events(
                arguments.query,
                arguments.earliest_time,
                latest_time,
                arguments.limit,
                PollSchedule(timeout=arguments.timeout),
                expected=(
                    expected_events(arguments.expected_events)
                    if is_alert_events_query(arguments.query)
                    else arguments.expected_events or 0
                ),
                indexing_wait=arguments.indexing_wait,
            )
        self.log(
            f"Search job {outcome.job_uuid} for {arguments.query!r} ({arguments.earliest_time} .. "
            f"{arguments.latest_time}) finished after {outcome.status_polls} status poll(s) in "
            f"{time.monotonic() - started:.2f} s: {len(outcome.events)} event(s) returned of {outcome.total} found",
            level="info",
        )
        if note := outcome.indexing_note():
            self.log(f"Events of {arguments.query!r}: {note}", level="warning" if outcome.missing else "info")
        return EventsResults(
            events=outcome.events, events_missing=outcome.missing, indexing_waited=round(outcome.waited, 1)
        )
