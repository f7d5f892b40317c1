"""Create Incident: one Cortex XSOAR incident per Sekoia.io alert, through the Generic Webhook or the REST API."""

from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from functools import cache
from typing import TYPE_CHECKING, Annotated, Any, Literal

import orjson
from pydantic import Field, field_validator, model_validator

from xsoar_module.actions.base import BoundedIdentifier, ModuleAction
from xsoar_module.errors import InvalidInputError
from xsoar_module.models.alert import Alert
from xsoar_module.models.events import (
    EVENTS_MISSING_HELP,
    INDEXING_WAIT,
    INDEXING_WAIT_HELP,
    MAX_INDEXING_WAIT,
    MAX_SEARCH_TIMEOUT,
    SEARCH_TIMEOUT,
)
from xsoar_module.models.schema import ManifestModel, is_null_rendering

if TYPE_CHECKING:  # loaded when the action runs (main.py imports every item in every block's process)
    from xsoar_module.clients.sekoia import SekoiaClient
    from xsoar_module.clients.xsoar import XsoarClient
    from xsoar_module.clients.xsoar.creation import Delivery


def _parse_json_text(value: Any) -> Any:
    """Template expressions may render objects as JSON text: accept both."""
    if isinstance(value, str) and value.strip()[:1] in ("{", "["):
        try:
            return orjson.loads(value)
        except orjson.JSONDecodeError:
            return value
    return value


class CreateIncidentArguments(ManifestModel):
    alert: dict[str, Any] | None = Field(None, description="The alert: Get Alert's results ({{ node.1 }})")
    alert_path: str | None = Field(None, description="File holding the alert: the trigger's {{ node.0.file_path }}")
    alert_uuid: Annotated[str, BoundedIdentifier] | None = Field(
        None, description="UUID or short ID of the alert, fetched from Sekoia.io"
    )
    events: list[dict[str, Any]] | None = Field(None, description="Events of the alert: {{ node.2.events }}")
    events_path: str | None = Field(None, description="File holding the events (a JSON list)")
    fetch_events: bool = Field(False, description="When no events are given, fetch the alert's events from Sekoia.io")
    events_timeout: int = Field(
        SEARCH_TIMEOUT,
        ge=1,
        le=MAX_SEARCH_TIMEOUT,
        description="fetch_events: seconds to wait for the events search job to finish",
    )
    indexing_wait: int = Field(
        INDEXING_WAIT, ge=0, le=MAX_INDEXING_WAIT, description=f"fetch_events: {INDEXING_WAIT_HELP}"
    )
    events_missing: int = Field(
        0,
        ge=0,
        description="With events: how many of the alert's events Get Events did not find, its "
        "{{ node.2.events_missing }} (said in the incident's eventsNote)",
    )
    max_events: int = Field(10, ge=0, le=1000, description="At most that many events go into the incident")
    name: str | None = Field(None, description="Incident name (default: the rule name)")
    incident_type: str | None = Field(None, description="XSOAR incident type (default: the instance's)")
    fields: dict[str, Any] | None = Field(
        None,
        description='Incident fields (e.g. {"severity": 4, "owner": "soc", "sekoiatenant": "acme"}): merged into the '
        "webhook body last; in API mode, create-request fields stay top-level, others go under CustomFields",
    )
    create_investigation: bool = Field(True, description="API mode: start the incident type's playbook")
    playbook_id: str | None = Field(None, description="API mode: playbook to run on the incident")

    @field_validator("alert", "events", "fields", mode="before")
    @classmethod
    def _json_text(cls, value: Any) -> Any:
        return _parse_json_text(value)

    @field_validator("events_missing", mode="before")
    @classmethod
    def _null_is_zero(cls, value: Any) -> Any:
        return 0 if is_null_rendering(value) else value

    @field_validator("fields")
    @classmethod
    def _fields_keep_the_identity(cls, fields: dict[str, Any] | None) -> dict[str, Any] | None:
        from xsoar_module.mapping.create_request import check_fields

        return check_fields(fields) if fields else fields

    @model_validator(mode="after")
    def _one_alert_source(self) -> "CreateIncidentArguments":
        if not (self.alert or self.alert_path or self.alert_uuid):
            raise ValueError("give the alert: alert ({{ node.1 }}), alert_path ({{ node.0.file_path }}) or alert_uuid")
        return self


class CreateIncidentResults(ManifestModel):
    incident_id: str | None = Field(None, description="ID of the XSOAR incident, when XSOAR returns one")
    deduplicated: bool = Field(
        description="True when the alert's incident already existed (API mode): nothing was created, or what this "
        "run created is closed as its duplicate"
    )
    duplicate_closed: str | None = Field(
        None,
        description="API mode: the incident this run created and closed as Duplicate, another run of the alert "
        "having created incident_id at the same time",
    )
    mode: Literal["webhook", "api"]
    name: str = Field(description="Incident name")
    severity: float = Field(description="XSOAR severity sent (0 unknown, 1 low, 2 medium, 3 high, 4 critical)")
    alertId: str = Field(description="Sekoia.io alert short ID")
    alertUrl: str = Field(description="Link to the alert in Sekoia.io")
    events_sent: int = Field(description="Number of events included in the incident")
    events_missing: int = Field(0, description=EVENTS_MISSING_HELP)


@dataclass(frozen=True)
class AlertEvents:
    """The events to consider, how many the search matched, and how many it lacked after waiting `waited` s
    (None: the wait, if any, was Get Events')."""

    events: list[dict[str, Any]]
    total: int
    missing: int = 0
    waited: float | None = None


class CreateIncident(ModuleAction):
    """Create the XSOAR incident of a Sekoia.io alert, with its events, a real severity and no duplicate."""

    name = "Create Incident"
    description = (
        "Create a Cortex XSOAR incident from a Sekoia.io alert (Generic Webhook or REST API, XSOAR 6 and 8 / XSIAM)"
    )
    results_model = CreateIncidentResults

    def run(self, arguments: CreateIncidentArguments) -> CreateIncidentResults:
        from xsoar_module.clients.xsoar import XsoarClient

        with ExitStack() as clients:
            xsoar = clients.enter_context(XsoarClient(self.config, on_retry=self._log_retry, warn=self._log_retry))
            sekoia = cache(lambda: clients.enter_context(self.sekoia_client()))  # only when the alert asks for it
            return self._create(arguments, xsoar, sekoia)

    def outcome(self, results: dict[str, Any]) -> str:
        """`created`, or `deduplicated` when the alert's incident already existed."""
        return "deduplicated" if results.get("deduplicated") else "created"

    def _create(
        self, arguments: CreateIncidentArguments, xsoar: "XsoarClient", sekoia: Callable[[], "SekoiaClient"]
    ) -> CreateIncidentResults:
        from xsoar_module.mapping.incident import MAX_BODY_BYTES, RAW_JSON_MAX_BYTES, webhook_body

        config = self.config
        raw = arguments.model_dump(exclude_none=True)
        if arguments.alert_uuid and not (arguments.alert or arguments.alert_path):
            alert = Alert.model_validate(sekoia().get_alert(arguments.alert_uuid))
        else:
            alert = self._read_alert(raw)
        found = self._events(raw, arguments, alert, sekoia)
        body = webhook_body(
            alert,
            found.events,
            app_url=config.sekoia_app_url,
            max_events=arguments.max_events,
            name=arguments.name,
            incident_type=arguments.incident_type,
            fields=arguments.fields,
            events_total=found.total,
            events_missing=found.missing,
            indexing_waited=found.waited,
            max_bytes=RAW_JSON_MAX_BYTES if xsoar.mode == "api" else MAX_BODY_BYTES,
        )
        delivery = self._deliver(xsoar, body, arguments)
        return CreateIncidentResults(
            incident_id=delivery.incident_id,
            deduplicated=delivery.deduplicated,
            duplicate_closed=delivery.duplicate_closed,
            mode=xsoar.mode,
            name=body["name"],
            severity=body["severity"],
            alertId=body["alertId"],
            alertUrl=body["alertUrl"],
            events_sent=len(body["events"]),
            events_missing=found.missing,
        )

    def _read_alert(self, raw: dict[str, Any]) -> Alert:
        document = self.json_argument("alert", raw)
        if not isinstance(document, dict):
            raise InvalidInputError("alert must be an object (the results of Get Alert or the trigger's alert file)")
        return Alert.model_validate(document)

    def _events(
        self,
        raw: dict[str, Any],
        arguments: CreateIncidentArguments,
        alert: Alert,
        sekoia: Callable[[], "SekoiaClient"],
    ) -> AlertEvents:
        """The events given or fetched."""
        if arguments.events is not None or arguments.events_path:
            events = self.json_argument("events", raw)
            if isinstance(events, dict) and isinstance(events.get("events"), list):
                events = events["events"]  # a whole Get Events result
            if not isinstance(events, list) or not all(isinstance(event, dict) for event in events):
                raise InvalidInputError("events must be a list of event objects (Get Events' {{ node.2.events }})")
            return AlertEvents(events, len(events), arguments.events_missing)
        if not arguments.fetch_events or arguments.max_events == 0:
            return AlertEvents([], 0)
        return self._fetch_events(alert, arguments, sekoia())

    def _fetch_events(self, alert: Alert, arguments: CreateIncidentArguments, sekoia: "SekoiaClient") -> AlertEvents:
        from xsoar_module.mapping.incident import alert_id
        from xsoar_module.mapping.window import alert_events_query, events_window, expected_events
        from xsoar_module.timing import PollSchedule

        if not alert.short_id:
            self.log(f"Alert {alert_id(alert)} has no short_id: no events fetched", level="warning")
            return AlertEvents([], 0)
        earliest, latest = events_window(alert, datetime.now(UTC))
        outcome = sekoia.search_events(
            alert_events_query(alert.short_id),
            earliest,
            latest,
            arguments.max_events,
            PollSchedule(timeout=arguments.events_timeout),
            expected=expected_events(alert.similar),
            indexing_wait=arguments.indexing_wait,
        )
        self.log(
            f"Fetched {len(outcome.events)} event(s) of alert {alert.short_id} in {earliest} .. {latest} "
            f"(search job {outcome.job_uuid}, {outcome.status_polls} status poll(s))",
            level="info",
        )
        if note := outcome.indexing_note():
            self.log(f"Events of alert {alert.short_id}: {note}", level="warning" if outcome.missing else "info")
        return AlertEvents(outcome.events, outcome.found, outcome.missing, outcome.waited)

    def _deliver(self, xsoar: "XsoarClient", body: dict[str, Any], arguments: CreateIncidentArguments) -> "Delivery":
        from xsoar_module.mapping.incident import api_body

        where = f"{'REST API' if xsoar.mode == 'api' else 'Generic Webhook'} {xsoar.url}"
        if xsoar.mode == "api":
            payload = api_body(
                body,
                create_investigation=arguments.create_investigation,
                playbook_id=arguments.playbook_id,
                fields=arguments.fields,
            )
            delivery = xsoar.create_once(payload)
            if delivery.first_id is not None:
                delivery = self._close_duplicate(xsoar, delivery, body["alertId"])
        else:
            delivery = xsoar.send_webhook(body)
        outcome = "already existed, nothing created" if delivery.deduplicated else "created"
        if delivery.duplicate_closed:
            outcome = f"created by another run (this run's duplicate {delivery.duplicate_closed} closed)"
        self.log(
            f"Alert {body['alertId']} -> XSOAR {where}: incident {delivery.incident_id or '(id not returned)'} "
            f"{outcome}; severity {body['severity']:g}, {len(body['events'])} event(s), "
            f"{delivery.requests} request(s)",
            level="info",
        )
        return delivery

    def _close_duplicate(self, xsoar: "XsoarClient", delivery: "Delivery", alert_id: str) -> "Delivery":
        """Another run of the alert created its incident at the same time: close this run's as its duplicate."""
        from xsoar_module.sync.rules import DUPLICATE_REASON
        from xsoar_module.sync.texts import duplicate_notes

        first, duplicate = str(delivery.first_id), str(delivery.incident_id)
        xsoar.close_incident(duplicate, DUPLICATE_REASON, duplicate_notes(first, alert_id))
        self.log(
            f"Alert {alert_id}: another run created incident {first} while this run created incident {duplicate}; "
            f"incident {duplicate} is closed as {DUPLICATE_REASON}",
            level="warning",
        )
        return replace(
            delivery, incident_id=first, deduplicated=True, duplicate_closed=duplicate, requests=delivery.requests + 1
        )
