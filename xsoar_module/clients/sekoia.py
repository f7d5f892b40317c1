"""The one Sekoia.io API client: alerts, alert listing, workflow, comments and events search jobs."""

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import quote

import requests

from xsoar_module.clients.http import ClosingClient, HttpSession, Refusal, Refusals, RetryLog, RetryPolicy, parse_json
from xsoar_module.configuration import ModuleConfiguration
from xsoar_module.errors import (
    AuthenticationError,
    MalformedResponseError,
    NotFoundError,
    ServiceError,
)
from xsoar_module.quoting import shorten
from xsoar_module.secrets import SecretMasker
from xsoar_module.timing import INDEXING_BACKOFF, SYSTEM_CLOCK, Clock, Deadline, PollSchedule, iso8601_seconds

SERVICE = "Sekoia.io"
JOB_DONE, JOB_CANCELED, JOB_FAILED = 2, 3, 4
EVENTS_PAGE_SIZE = 1000
ALERTS_PAGE_SIZE = 100
# 8 attempts, waits from 0.2 s doubling to 10 s (about 23 s in all, within the 60 s deadline): a block that gives up
# fails its run, and its alert goes no further
SEKOIA_POLICY = RetryPolicy(attempts=8)
SEKOIA_TIMEOUT = (5.0, 30.0)  # connect, read
REFUSALS = Refusals(
    {
        401: Refusal(
            AuthenticationError,
            "{service} rejected the API key (401) for {what}: set a valid api_key in the module configuration",
        ),
        403: Refusal(
            AuthenticationError,
            "{service} refused {what} (403): the API key lacks a permission; give its role the SYMPHONY_* "
            "permissions and read access to alerts and events",
        ),
        404: Refusal(NotFoundError, "{service} found no {what} (404){detail}"),
    }
)


def identity_of(me: dict[str, Any]) -> str | None:
    """The identity (`uuid`, else `id`) of `GET /v1/me`'s answer: `created_by` of what the API key changes."""
    identity = me.get("uuid") or me.get("id")
    return identity if isinstance(identity, str) and identity else None


def _alert_path(alert_id: str) -> str:
    return f"/v1/sic/alerts/{quote(alert_id, safe='')}"


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


class SekoiaClient(ClosingClient):
    """Talks to `{api_url}/v1/...` with a Bearer key; errors say what to fix."""

    clock: Clock = SYSTEM_CLOCK  # the waits for events indexed late (a test's clock in tests)

    def __init__(
        self,
        config: ModuleConfiguration,
        *,
        policy: RetryPolicy | None = None,
        on_retry: RetryLog | None = None,
        sleep: Callable[[float], None] = time.sleep,
        timeout: tuple[float, float] = SEKOIA_TIMEOUT,
    ):
        self.http = HttpSession(
            SERVICE,
            config.sekoia_api_url,
            {"Authorization": f"Bearer {config.require_api_key()}"},
            policy=policy or SEKOIA_POLICY,
            timeout=timeout,
            on_retry=on_retry,
            setting="base_url",
            masker=SecretMasker.of(config),
        )
        self._sleep = sleep

    def me(self) -> dict[str, Any]:
        """Who the API key belongs to: validates the key."""
        return self._json("GET", "/v1/me", what="the API key check")

    def get_alert(
        self, alert_id: str, stix: bool = False, *, history: bool = False, comments: bool = False
    ) -> dict[str, Any]:
        """An alert by UUID or short ID (with its status history and comments when asked). An answer naming another
        alert (its uuid and short ID, when given, both differ from `alert_id`) is an error, never acted on."""
        flags = {"stix": stix, "history": history, "comments": comments}
        params = {name: "true" for name, wanted in flags.items() if wanted} or None
        alert = self._json("GET", _alert_path(alert_id), params=params, what=f"alert {alert_id}")
        named = [str(alert[key]) for key in ("uuid", "short_id") if alert.get(key) is not None]
        if named and alert_id.strip().lower() not in [name.lower() for name in named]:
            raise MalformedResponseError(
                f"{SERVICE} answered the request for alert {shorten(alert_id, 80)} with alert "
                f"{shorten(' / '.join(named), 120)}: nothing is changed; check that base_url points to the Sekoia.io "
                "API"
            )
        return alert

    def workflow(self, alert_id: str) -> list[dict[str, Any]]:
        """The workflow actions open from the alert's current status (`{id, name, description}`)."""
        body = self._json("GET", f"{_alert_path(alert_id)}/workflow", what=f"the workflow of alert {alert_id}")
        actions = body.get("actions")
        if not isinstance(actions, list):
            raise MalformedResponseError(
                f"{SERVICE} answered the workflow of alert {alert_id} without an actions list"
            )
        return [action for action in actions if isinstance(action, dict)]

    def apply_transition(
        self, alert_id: str, action_id: str, comment: str | None, applied: Callable[[], bool]
    ) -> None:
        """Apply a workflow action; when an attempt got no answer, `applied()` says whether it took effect before
        the request is sent again (a second PATCH of the same action would be refused)."""
        body: dict[str, Any] = {"action_uuid": action_id} | ({"comment": comment} if comment else {})
        path, what = f"{_alert_path(alert_id)}/workflow", f"the status change of alert {alert_id}"
        answer = self.http.request_unless_found("PATCH", path, lambda: applied() or None, json=body)
        if isinstance(answer, requests.Response) and not answer.ok:
            raise REFUSALS.error(answer, SERVICE, what)

    def comments(self, alert_id: str) -> list[dict[str, Any]]:
        """The comments of an alert."""
        body = self._json("GET", f"{_alert_path(alert_id)}/comments", what=f"the comments of alert {alert_id}")
        items = body.get("items")
        if not isinstance(items, list):
            raise MalformedResponseError(f"{SERVICE} answered the comments of alert {alert_id} without an items list")
        return [item for item in items if isinstance(item, dict)]

    def get_comment(self, alert_id: str, comment_uuid: str) -> dict[str, Any]:
        """One comment of an alert."""
        path = f"{_alert_path(alert_id)}/comments/{quote(comment_uuid, safe='')}"
        return self._json("GET", path, what=f"comment {comment_uuid} of alert {alert_id}")

    def add_comment(self, alert_id: str, content: str, author: str) -> dict[str, Any]:
        """Comment an alert; when an attempt got no answer, the alert's comments are read for this content before
        it is sent again (never two copies)."""
        path, what = f"{_alert_path(alert_id)}/comments", f"the comment on alert {alert_id}"

        sent = self.http.masker.mask(content)  # what the alert holds once sent

        def find() -> dict[str, Any] | None:
            return next((item for item in self.comments(alert_id) if item.get("content") == sent), None)

        answer = self.http.request_unless_found("POST", path, find, json={"content": content, "author": author})
        if isinstance(answer, dict):
            return answer
        if not answer.ok:
            raise REFUSALS.error(answer, SERVICE, what)
        body = parse_json(answer, SERVICE, "base_url")
        return body if isinstance(body, dict) else {}

    def list_alerts(self, params: dict[str, Any]) -> dict[str, Any]:
        """One page of `GET /v1/sic/alerts` (`{"total", "has_more", "items"}`)."""
        page = self._json("GET", "/v1/sic/alerts", params=params, what="the alert listing")
        if not isinstance(page.get("items"), list):
            raise MalformedResponseError(f"{SERVICE} answered an alert listing without an items list")
        return page

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

    def _json(self, method: str, path: str, *, what: str, **kwargs: Any) -> dict[str, Any]:
        response = self.http.request(method, path, **kwargs)
        if not response.ok:
            raise REFUSALS.error(response, SERVICE, what)
        body = parse_json(response, SERVICE, "base_url")
        if not isinstance(body, dict):
            raise MalformedResponseError(f"{SERVICE} answered {what} with JSON that is not an object")
        return body

    def iter_alerts_created_since(self, since: int, page_size: int = ALERTS_PAGE_SIZE) -> Iterator[dict[str, Any]]:
        """Alerts created at or after `since` (epoch seconds), oldest first; the caller deduplicates by uuid."""
        return self._iter_alerts_since("created_at", since, page_size)

    def iter_alerts_updated_since(self, since: int, page_size: int = ALERTS_PAGE_SIZE) -> Iterator[dict[str, Any]]:
        """Alerts updated at or after `since` (epoch seconds), least recently updated first."""
        return self._iter_alerts_since("updated_at", since, page_size)

    def _iter_alerts_since(self, field: str, since: int, page_size: int) -> Iterator[dict[str, Any]]:
        """Alerts whose `field` (a time) is at or after `since`, in its order.

        Each page moves the window to the newest time listed and skips, by offset, the alerts already listed
        in that second: many alerts created in one second neither stall the paging nor make the offsets grow.
        """
        start, offset = since, 0
        while True:
            page = self.list_alerts(
                {
                    f"date[{field}]": f"{iso8601_seconds(start)},now",
                    "sort": field,
                    "direction": "asc",
                    "limit": page_size,
                    "offset": offset,
                }
            )
            items = page["items"]
            yield from items
            if len(items) < page_size:
                return
            last = items[-1].get(field)
            if not isinstance(last, (int, float)) or int(last) <= start:
                offset += len(items)
                continue
            start = int(last)
            offset = sum(1 for item in items if item.get(field) == last)

    def get_alerts(self, uuids: list[str]) -> dict[str, dict[str, Any]]:
        """Up to a page of alerts by uuid in one listing request; the ones it does not return are left out."""
        if len(uuids) > ALERTS_PAGE_SIZE:
            raise ValueError(f"at most {ALERTS_PAGE_SIZE} alerts at once")
        page = self.list_alerts({"match[uuid]": ",".join(uuids), "limit": len(uuids)})
        wanted = set(uuids)
        return {item["uuid"]: item for item in page["items"] if isinstance(item, dict) and item.get("uuid") in wanted}
