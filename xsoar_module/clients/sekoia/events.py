"""Sekoia.io events search jobs: run one to its end, and search again for events indexed late."""

from dataclasses import dataclass, replace
from typing import Any

from xsoar_module.clients.sekoia.connection import SERVICE, SekoiaConnection
from xsoar_module.errors import MalformedResponseError, ServiceError
from xsoar_module.timing import INDEXING_BACKOFF, Deadline, PollSchedule

JOB_DONE, JOB_CANCELED, JOB_FAILED = 2, 3, 4
EVENTS_PAGE_SIZE = 1000


@dataclass
class SearchOutcome:
    """The last search job's events and total; with `expected`, how the wait for events indexed late went."""

    events: list[dict[str, Any]]
    job_uuid: str
    total: int
    status_polls: int  # over every search job
    expected: int = 0  # events the search was to find (0: none awaited)
    searches: int = 1  # search jobs run: more than one when events were indexed late
    waited: float = 0.0  # seconds from the first search to the end of the last (0 when the first sufficed)

    @property
    def found(self) -> int:
        """Events the last search matched: its total, at least the events it returned."""
        return max(self.total, len(self.events))

    @property
    def missing(self) -> int:
        """Expected events the last search did not find (not indexed yet when the wait ended)."""
        return max(self.expected - self.found, 0)

    def indexing_note(self) -> str | None:
        """How the wait for events indexed late went, for the Runs page; None when the first search sufficed."""
        if self.searches == 1 and not self.missing:
            return None
        searched = f"{self.searches} search(es) over {self.waited:.1f} s"
        if self.missing:
            return (
                f"{self.found} of the {self.expected} expected event(s) found after {searched}: Sekoia.io had not "
                f"indexed the other {self.missing} when the wait ended; going on without them"
            )
        return f"{self.found} event(s) found ({self.expected} expected) after {searched}: they were indexed late"


class EventsSearch(SekoiaConnection):
    """The events search of the Sekoia.io API."""

    def search_events(
        self,
        query: str,
        earliest_time: str,
        latest_time: str,
        limit: int,
        schedule: PollSchedule,
        *,
        expected: int = 0,
        indexing_wait: float = 0.0,
    ) -> SearchOutcome:
        """Run an events search job to its end and return up to `limit` events.

        While the search finds fewer than `expected` events (Sekoia.io indexes events after it raises their alert),
        search again with backoff (`INDEXING_BACKOFF`) until `indexing_wait` seconds have passed, the last search
        starting at that bound; then return the last search as it is (`missing` says what it lacked). A search that
        finds them at once costs no more than without `expected`.
        """
        started = self.clock.now()
        outcome = self._search_once(query, earliest_time, latest_time, limit, schedule)
        searches, polls, remaining = 1, outcome.status_polls, float(indexing_wait)
        while outcome.found < expected and remaining > 0:
            delay = INDEXING_BACKOFF.delay(searches)
            self.clock.sleep(min(delay, remaining))
            outcome = self._search_once(query, earliest_time, latest_time, limit, schedule)
            searches, polls = searches + 1, polls + outcome.status_polls
            remaining = 0 if delay >= remaining else indexing_wait - (self.clock.now() - started)  # 0: at the bound
        waited = self.clock.now() - started if searches > 1 else 0.0
        return replace(outcome, status_polls=polls, expected=expected, searches=searches, waited=waited)

    def _search_once(
        self, query: str, earliest_time: str, latest_time: str, limit: int, schedule: PollSchedule
    ) -> SearchOutcome:
        job = self._json(
            "POST",
            "/v1/sic/conf/events/search/jobs",
            json={
                "term": query,
                "earliest_time": earliest_time,
                "latest_time": latest_time,
                "visible": False,
                "max_last_events": limit,
            },
            what="the events search",
        )
        job_uuid = job.get("uuid")
        if not isinstance(job_uuid, str):
            raise MalformedResponseError(f"{SERVICE} created an events search job without a uuid")
        status, polls = self._wait_for_job(job_uuid, query, schedule)
        events = self._job_events(job_uuid, limit)
        return SearchOutcome(events=events, job_uuid=job_uuid, total=int(status.get("total") or 0), status_polls=polls)

    def _wait_for_job(self, job_uuid: str, query: str, schedule: PollSchedule) -> tuple[dict[str, Any], int]:
        deadline = Deadline(schedule.timeout)
        for polls, delay in enumerate(schedule.delays(), start=1):
            job = self._json("GET", f"/v1/sic/conf/events/search/jobs/{job_uuid}", what=f"search job {job_uuid}")
            status = job.get("status")
            if status == JOB_DONE:
                return job, polls
            if status in (JOB_CANCELED, JOB_FAILED):
                state = "was canceled" if status == JOB_CANCELED else "failed"
                raise ServiceError(
                    f"The events search job {job_uuid} {state} on {SERVICE} (query {query!r}); "
                    "check the query syntax and the time window, then run the block again"
                )
            remaining = deadline.remaining()
            if remaining <= 0:
                raise ServiceError(
                    f"The events search job {job_uuid} did not finish within {schedule.timeout:.0f} s "
                    f"(last status {status}); narrow the time window or the query"
                )
            self._sleep(min(delay, remaining))
        raise AssertionError("unreachable")  # pragma: no cover

    def _job_events(self, job_uuid: str, limit: int) -> list[dict[str, Any]]:
        events: list[dict[str, Any]] = []
        while len(events) < limit:
            size = min(EVENTS_PAGE_SIZE, limit - len(events))
            page = self._json(
                "GET",
                f"/v1/sic/conf/events/search/jobs/{job_uuid}/events",
                params={"limit": size, "offset": len(events)},
                what=f"events of search job {job_uuid}",
            )
            items = page.get("items")
            if not isinstance(items, list):
                raise MalformedResponseError(f"{SERVICE} answered events of job {job_uuid} without an items list")
            events.extend(items)
            if len(items) < size or len(events) >= int(page.get("total") or 0):
                break
        return events[:limit]
