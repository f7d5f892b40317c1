"""Creating an XSOAR incident once per alert: the Generic Webhook, or the API with deduplication."""

from dataclasses import dataclass
from typing import Any

import requests

from xsoar_module.clients.answers import is_html, parse_json
from xsoar_module.clients.xsoar.connection import SERVICE
from xsoar_module.clients.xsoar.incidents import IncidentStore, id_of
from xsoar_module.errors import MalformedResponseError, ServiceError


@dataclass
class Delivery:
    """What XSOAR did with an incident."""

    incident_id: str | None
    deduplicated: bool
    requests: int
    first_id: str | None = None  # the alert's first incident, when another run created it at the same time
    duplicate_closed: str | None = None  # this run's incident, closed as a duplicate of the first


class IncidentCreation(IncidentStore):
    """Creates an alert's incident, once when XSOAR's API allows."""

    def send_webhook(self, body: dict[str, Any]) -> Delivery:
        """POST the body to the Generic Webhook. A timed-out attempt is retried: a duplicate is possible."""
        before = self.http.requests_sent

        def warn_duplicate() -> None:
            self._warn(
                f"{SERVICE} did not answer the webhook in time: sending again, so the incident of alert "
                f"{body.get('alertId')} may be created twice (an alert lost is worse than a duplicate)"
            )

        response = self.http.request("POST", "", json=body, on_unknown_outcome=warn_duplicate)
        if not response.ok:
            raise self._error(response, "the webhook")
        try:
            answer = parse_json(response, SERVICE, "xsoar_url") if response.content.strip() else None
        except MalformedResponseError:
            if is_html(response):  # a login or SSO portal in front of XSOAR answered, not the webhook
                raise
            # text from the integration: created all the same, failing now would only bring a duplicate
            self._warn(f"{SERVICE} accepted the webhook ({response.status_code}) but its answer is not JSON")
            answer = None
        return Delivery(_webhook_incident_id(answer), False, self.http.requests_sent - before)

    def create_once(self, body: dict[str, Any]) -> Delivery:
        """Create the incident unless this alert's exists: searched first and, after an attempt whose outcome is
        unknown, searched again over the settle period before any new attempt. XSOAR has no create-if-absent: two
        runs of one alert (a trigger killed as it emitted it emits it again) may both create it; searched again
        after the create, the first created is the alert's for both, and `first_id` tells the other run so."""
        before = self.http.requests_sent
        alert_id = body["CustomFields"]["alertid"]
        if existing := self.find_incident(alert_id):
            return Delivery(id_of(existing), True, self.http.requests_sent - before)
        answer = self.http.request_unless_found("POST", "/incident", lambda: self._settle(alert_id), json=body)
        if not isinstance(answer, requests.Response):  # found after a timed-out attempt: created by that attempt
            return Delivery(id_of(answer), False, self.http.requests_sent - before)
        if not answer.ok:
            raise self._error(answer, "the incident")
        created = id_of(parse_json(answer, SERVICE, "xsoar_url") if answer.content.strip() else {})
        first = self._first_incident(alert_id, created) if created else None
        concurrent = first if first and first != created else None
        return Delivery(created, False, self.http.requests_sent - before, concurrent)

    def _first_incident(self, alert_id: str, created: str) -> str | None:
        """The ID of the alert's first incident, which another run may have created meanwhile; None when the search
        fails: the incident is created, a failed check must not fail the run."""
        try:
            return id_of(self.find_incident(alert_id))
        except ServiceError as exc:
            self._warn(
                f"Incident {created} of alert {alert_id} is created, but whether another run created one at the same "
                f"time is unknown: {exc}"
            )
            return None

    def _settle(self, alert_id: str) -> dict[str, Any] | None:
        """The incident a create without answer may have made, searched over the settle period."""
        self._warn(
            f"{SERVICE} did not answer the creation of the incident of alert {alert_id}: searching for it for up to "
            f"{sum(self.settle_waits):g} s before sending it again"
        )
        for wait in self.settle_waits:
            self._sleep(wait)
            if found := self.find_incident(alert_id):
                return found
        return None


def _webhook_incident_id(answer: Any) -> str | None:
    """The Generic Webhook answers a list describing the created incident(s)."""
    if isinstance(answer, list) and answer:
        return id_of(answer[0])
    return id_of(answer)
