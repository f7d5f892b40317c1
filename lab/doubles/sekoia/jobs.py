"""The simulated Sekoia.io's event searches: a job over the events indexed when it is created (on the simulator's
clock), done after `job_duration` seconds with `job_final_status`, its events read by pages."""

import random
import threading
from collections.abc import Callable
from typing import Any

from aiohttp import web

from lab.doubles.sekoia.queries import (
    DEFAULT_EVENTS_PAGE,
    JOB_DONE,
    MAX_EVENTS_PAGE,
    Refusal,
    SearchJob,
    in_window,
    int_parameter,
    short_id_of_term,
)
from lab.doubles.sekoia.records import StoredAlert


class EventSearches:
    """The event search jobs of `SekoiaSimulator`."""

    clock: Callable[[], float]
    seed: int
    messy: bool
    job_duration: float
    job_final_status: int
    _lock: threading.Lock
    _stored: list[StoredAlert]
    _jobs: dict[str, SearchJob]

    def _events_of(self, short_id: str | None) -> list[dict[str, Any]]:
        """The searchable events of the alert with this short ID, or of every alert."""
        with self._lock:
            now = self.clock()
            chosen = [s for s in self._stored if short_id is None or s.alert.get("short_id") == short_id]
            return [event for stored in chosen for event in stored.searchable_events(now)]

    def _new_job(self, body: dict[str, Any]) -> SearchJob:
        """A job for a `POST .../search/jobs` body: the events of its term and window, the latest `max_last_events`;
        a share of them (the seed picks) say `expired` once done, yet serve their events."""
        selected = self._events_of(short_id_of_term(body.get("term")))
        events = in_window(selected, body.get("earliest_time"), body.get("latest_time"))
        matched = len(events)
        cap = body.get("max_last_events")
        if isinstance(cap, int) and cap > 0:
            events = events[-cap:]
        expired = self.messy and random.Random(f"{self.seed}/job/{len(self._jobs)}").random() < 1 / 2
        job = SearchJob(body, events, self.job_duration, self.job_final_status, matched, expired)
        self._jobs[job.uuid] = job
        return job

    def _job(self, request: web.Request) -> SearchJob:
        job = self._jobs.get(request.match_info["job"])
        if job is None:
            raise Refusal("Job not found", 404)
        return job

    async def _get_job(self, request: web.Request) -> web.Response:
        return web.json_response(self._job(request).describe())

    async def _job_events(self, request: web.Request) -> web.Response:
        job = self._job(request)
        limit = int_parameter(request.query, "limit", DEFAULT_EVENTS_PAGE, 1, MAX_EVENTS_PAGE)
        offset = int_parameter(request.query, "offset", 0, 0)
        if job.status != JOB_DONE:
            raise Refusal(f"The search job is not done (status {job.status})", 409)
        return web.json_response({"items": job.events[offset : offset + limit], "total": job.matched})
