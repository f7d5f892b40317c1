"""The one Cortex XSOAR client: Generic Webhook and REST API (XSOAR 6, XSOAR 8 / XSIAM)."""

import hashlib
import ipaddress
import math
import os
import re
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import certifi
import requests

from xsoar_module.clients.http import (
    ClosingClient,
    HttpSession,
    Refusal,
    Refusals,
    RetryLog,
    RetryPolicy,
    is_html,
    parse_json,
)
from xsoar_module.configuration import ModuleConfiguration
from xsoar_module.errors import (
    AuthenticationError,
    ConfigurationError,
    MalformedResponseError,
    NotFoundError,
    RejectedRequestError,
    ServiceError,
)
from xsoar_module.mapping.create_request import CREATE_REQUEST_FIELDS
from xsoar_module.quoting import shorten
from xsoar_module.secrets import SecretMasker
from xsoar_module.timing import iso8601_seconds, xsoar_epoch

SERVICE = "Cortex XSOAR"
TLS_HINT = (
    "Set ca_certificate to the PEM of the certificate authority of your XSOAR or, for a test server only, "
    "verify_certificate to false"
)
# 10 attempts, waits from 0.5 s doubling to 15 s (about 75 s in all, within the 120 s deadline): a run that gives up
# leaves its alert without an incident, and XSOAR answers 429 while it rate-limits its API
XSOAR_POLICY = RetryPolicy(attempts=10, deadline=120.0, initial_wait=0.5, max_wait=15.0, max_retry_after=60.0)
XSOAR_TIMEOUT = (10.0, 60.0)  # connect, read: creating an incident may start a playbook
# After a create whose outcome is unknown: waits before each search for it (searches at 0, 2, 6, 14 and 30 s)
# before sending the create again. XSOAR may commit (and index) an incident after its client gave up.
SETTLE_WAITS = (0.0, 2.0, 4.0, 8.0, 16.0)
XSOAR8_PATHS = ("/xsoar/public/v1", "/xsoar")
REOPEN_COMMAND = "!reopenInvestigation"
ENTRY_ERROR = 4  # the type of an error entry in the war room
UNSERVED = (404, 405)  # what an XSOAR answers for a call it does not serve
WEBHOOK_PATH = re.compile(r"/instance/execute/[^/]+/?$")
FIRST_CREATED = [{"field": "created", "asc": True}]
ALERT_ID, ALERT_UUID = "alertid", "sekoiaioalertuuid"  # the incident fields of the alert's short ID and uuid
MIRROR_ID = "dbotMirrorId"  # where the module's first versions kept the short ID
COMMAND_SETTING = "xsoar_command_investigation_id"
UPDATE_ATTEMPTS = 5  # writes of one update, each after reading the incident again when its version moved
STALE_STATUSES = (400, 409)  # how XSOAR may refuse a stale version (unconfirmed: the version read again decides)


def _refusals(credentials: str, address: str) -> Refusals:
    """XSOAR's refusals in a mode: which credentials to check on 401/403, which address on 404."""
    return Refusals(
        {
            401: Refusal(AuthenticationError, "{service} refused {what} ({status}{detail}): " + credentials),
            403: Refusal(AuthenticationError, "{service} refused {what} ({status}{detail}): " + credentials),
            404: Refusal(NotFoundError, "{service} answered 404 for {what} at {url}: " + address),
            400: Refusal(RejectedRequestError, "{service} rejected {what} (400){reason}"),
        },
        Refusal(RejectedRequestError, "{service} refused {what}: {answer}{detail}"),
    )


REFUSALS = {
    "api": _refusals(
        "check xsoar_api_key, and xsoar_api_key_id for XSOAR 8 / XSIAM (leave it empty for XSOAR 6); "
        "the key's role must allow creating and searching incidents",
        "check xsoar_url: the server URL for XSOAR 6 (https://<server>), the API URL for XSOAR 8 / "
        "XSIAM (https://api-<fqdn>/xsoar) with xsoar_api_key_id set",
    ),
    "webhook": _refusals(
        "check xsoar_token (sent as 'Authorization: Bearer <token>': the instance's username must be "
        "'_header:Authorization' and its password 'Bearer <token>'), or xsoar_username/xsoar_password "
        "for Basic authentication",
        "check the instance name at the end of xsoar_url (.../instance/execute/<instance name>) and, on "
        "XSOAR 6, that the server setting instance.execute.external.<instance name> is true",
    ),
}


Changes = (
    dict[str, Any] | Callable[[dict[str, Any]], dict[str, Any]]
)  # fields, or how to compute them from an incident


@dataclass
class Delivery:
    """What XSOAR did with an incident."""

    incident_id: str | None
    deduplicated: bool
    requests: int
    first_id: str | None = None  # the alert's first incident, when another run created it at the same time
    duplicate_closed: str | None = None  # this run's incident, closed as a duplicate of the first


def api_configuration(config: ModuleConfiguration) -> ModuleConfiguration:
    """The configuration of the REST API that sync needs: the configuration itself in api mode; in webhook mode its
    `xsoar_api_key` (and key ID) with the server of the webhook URL (`.../instance/execute/<name>` removed)."""
    if config.xsoar_mode == "api":
        return config
    if not config.xsoar_api_key:
        raise ConfigurationError(
            "Sync with Cortex XSOAR needs its REST API: set xsoar_mode to 'api' with xsoar_api_key, or keep the "
            "webhook settings and add xsoar_api_key (and xsoar_api_key_id for XSOAR 8 / XSIAM)"
        )
    url = WEBHOOK_PATH.sub("", config.xsoar_url)
    return config.model_copy(update={"xsoar_mode": "api", "xsoar_url": url})


def ca_bundle(pem: str) -> str:
    """A CA bundle file trusting the usual authorities (the environment's bundle, else certifi's) plus `pem`.

    Named after both inputs (the usual bundle by path, size and time), so an existing file is used without reading.
    """
    usual = Path(os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE") or certifi.where())
    try:
        stat = usual.stat()
        key = f"{pem}\n{usual}\n{stat.st_size}\n{stat.st_mtime_ns}"
        path = Path(tempfile.gettempdir()) / f"xsoar-ca-{hashlib.sha256(key.encode()).hexdigest()[:24]}.pem"
        if not path.exists():
            partial = path.with_name(f"{path.name}.{uuid.uuid4().hex}.tmp")
            partial.write_text(usual.read_text() + "\n" + pem.strip() + "\n")
            partial.replace(path)
    except OSError as exc:
        raise ConfigurationError(f"ca_certificate could not be written to a CA bundle file: {exc.strerror}") from None
    return str(path)


def api_base(url: str, api_key_id: str | None) -> str:
    """The REST base. XSOAR 8 / XSIAM (a key ID is set): `https://api-<fqdn>/xsoar` or `.../xsoar/public/v1`,
    from any of the forms users paste: with or without `/xsoar`, `/xsoar/public/v1`, and the tenant or `ext-`
    host instead of the `api-` one (rewritten to `api-`, as Palo Alto's client does)."""
    url = url.rstrip("/")
    if not api_key_id:
        return url
    parts = urlsplit(url)
    path = parts.path
    if not path.endswith(XSOAR8_PATHS):
        path += "/xsoar"
    return urlunsplit((parts.scheme, _api_host(parts.scheme, parts.netloc), path, "", ""))


def _api_host(scheme: str, netloc: str) -> str:
    """`api-<fqdn>` for an HTTPS tenant name; addresses, single-label hosts and plain HTTP are left alone."""
    host = netloc.rpartition("@")[2].split(":")[0]
    if scheme != "https" or host.startswith("api-") or "." not in host or _is_address(host):
        return netloc
    return netloc.replace(host, "api-" + host.removeprefix("ext-"), 1)


def _is_address(host: str) -> bool:
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return True


def _quoted(value: str) -> str:
    """A value for XSOAR's query language, in double quotes."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


class XsoarClient(ClosingClient):
    """Creates incidents; errors name the setting to fix."""

    def __init__(
        self,
        config: ModuleConfiguration,
        *,
        policy: RetryPolicy | None = None,
        on_retry: RetryLog | None = None,
        sleep: Callable[[float], None] = time.sleep,
        warn: RetryLog | None = None,
        settle_waits: tuple[float, ...] | None = None,
    ):
        config.check_xsoar_credentials()
        self.mode = config.xsoar_mode
        self._warn = warn or (lambda _message: None)
        self.settle_waits = SETTLE_WAITS if settle_waits is None else settle_waits
        self._sleep = sleep
        headers: dict[str, str] = {}
        auth = None
        base = config.xsoar_url
        if self.mode == "api":
            base = api_base(config.xsoar_url, config.xsoar_api_key_id)
            headers["Authorization"] = config.xsoar_api_key or ""
            if config.xsoar_api_key_id:
                headers["x-xdr-auth-id"] = config.xsoar_api_key_id
        elif config.xsoar_token:
            headers["Authorization"] = f"Bearer {config.xsoar_token}"
        elif config.xsoar_username:
            auth = (config.xsoar_username, config.xsoar_password or "")
        verify: bool | str = config.verify_certificate
        if verify and config.ca_certificate:
            verify = ca_bundle(config.ca_certificate)
        self.http = HttpSession(
            SERVICE,
            base,
            headers,
            policy=policy or XSOAR_POLICY,
            timeout=XSOAR_TIMEOUT,
            verify=verify,
            auth=auth,
            on_retry=on_retry,
            tls_hint=TLS_HINT,
            setting="xsoar_url",
            masker=SecretMasker.of(config),
        )

    @property
    def url(self) -> str:
        return self.http.base_url

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

    def find_incident(
        self, alert_id: str | None, alert_uuid: str | None = None, *, legacy: bool = False
    ) -> dict[str, Any] | None:
        """The incident of this alert, if XSOAR has one: searched by `alertid` (the short ID: the field this module and
        Palo Alto's Sekoia XDR integration both set), then, only while nothing is found: by `dbotMirrorId` (`legacy`:
        the only identity of incidents made by the module's first versions, on XSOARs that store it), by the pack's
        `sekoiaioalertuuid` when the uuid is given; one term per query (`or` is unconfirmed). Of several (two runs
        created one at the same time), the first created, as every run sees it: XSOAR sorts by creation, the first
        two are compared here. Only an incident with an id that carries the searched identity counts: an answer of
        other incidents only (an XSOAR that ignored or misread the query) is an error, never acted on."""
        identities = [(ALERT_ID, alert_id), (MIRROR_ID, alert_id if legacy else None), (ALERT_UUID, alert_uuid)]
        searches = [(field, value) for field, value in identities if value]
        for field, value in searches:
            search = {"query": f"{field}:{_quoted(value)}", "sort": FIRST_CREATED, "page": 0, "size": 2}
            found = self.search_incidents(search)
            carrying = [incident for incident in found if _id_of(incident) and _carries(incident, field, value)]
            if carrying:
                return min(carrying, key=_creation_order)
            if found:
                others = ", ".join(shorten(_id_of(incident), 40) for incident in found)
                raise MalformedResponseError(
                    f"{SERVICE} answered the search {field}:{shorten(value, 80)} with incidents that do not carry it "
                    f"(ids: {others}; an incident of another alert, or without id): the query was not applied as "
                    "sent, so nothing is changed; check that xsoar_url points to the Cortex XSOAR API"
                )
        return None

    def search_incidents(self, search: dict[str, Any]) -> list[dict[str, Any]]:
        """One page of `POST /incidents/search` with this filter (query, sort, page, size...): the incidents."""
        response = self.http.request("POST", "/incidents/search", json={"filter": search})
        if not response.ok:
            raise self._error(response, "the incident search")
        found = parse_json(response, SERVICE, "xsoar_url")
        if not isinstance(found, dict):
            raise MalformedResponseError(f"{SERVICE} answered the incident search with JSON that is not an object")
        data = found.get("data")
        if data is None:  # what a real XSOAR answers when nothing matches
            return []
        if not isinstance(data, list) or not all(isinstance(incident, dict) for incident in data):
            raise MalformedResponseError(
                f"{SERVICE} answered the incident search at {shorten(self.http.url('/incidents/search'))} with "
                "'data' that is not a list of incidents: check xsoar_url, it must point to the Cortex XSOAR API",
                response.status_code,
            )
        incidents: list[dict[str, Any]] = data
        return incidents

    def iter_modified_since(self, query: str, since: str, page_size: int = 100) -> Iterator[dict[str, Any]]:
        """The incidents matching `query` modified at or after `since` (ISO-8601), oldest modification first.

        Each page starts at the last modification of the previous one rather than at a page number, so that an
        incident modified meanwhile (moved to the end) shifts nothing out; an incident is yielded once per
        modification."""
        seen: set[tuple[str, str]] = set()
        cursor, page = since, 0
        while True:
            search = {
                "query": f"{query} and modified:>={_quoted(cursor)}",
                "sort": [{"field": "modified", "asc": True}],
            }
            found = self.search_incidents(search | {"page": page, "size": page_size})
            for incident in found:
                mark = (str(incident.get("id")), str(incident.get("modified")))
                if mark not in seen:
                    seen.add(mark)
                    yield incident
            if len(found) < page_size:
                return
            last = str(found[-1].get("modified") or "")
            cursor, page = (last, 0) if last and last != cursor else (cursor, page + 1)

    def get_incident(self, incident_id: str) -> dict[str, Any] | None:
        """The incident with this ID (the search filter's `id` list), or None; an answer about another incident
        counts as none."""
        found = self.search_incidents({"id": [incident_id], "page": 0, "size": 1})
        return next((incident for incident in found if _id_of(incident) == incident_id), None)

    def update_incident(self, incident: dict[str, Any], changes: Changes) -> dict[str, Any]:
        """Update the incident (`POST /incident` with its `id` and current `version`: optimistic locking) with
        `changes` (top-level fields; `CustomFields` merged into the incident's), or a function of the incident giving
        them (computed again on the incident read again, e.g. to append to a field); the updated incident.

        The whole incident as read is sent with the changes, so that an XSOAR replacing the stored incident keeps the
        other fields. A refusal while the incident's version moved (another change came first) is retried on the
        incident read again, up to UPDATE_ATTEMPTS writes."""
        incident_id = _id_of(incident)
        if incident_id is None:
            raise MalformedResponseError(f"{SERVICE} answered an incident without an id: it cannot be updated")
        what = f"the update of incident {incident_id}"
        current = incident
        for _ in range(UPDATE_ATTEMPTS):
            fields = changes(current) if callable(changes) else changes
            response = self.http.request("POST", "/incident", json=_update_body(current, fields))
            if response.ok:
                answer = parse_json(response, SERVICE, "xsoar_url") if response.content.strip() else None
                return answer if isinstance(answer, dict) and _id_of(answer) == incident_id else current | fields
            if response.status_code not in STALE_STATUSES:
                raise self._error(response, what)
            fresh = self.get_incident(incident_id)
            if fresh is None:
                raise NotFoundError(f"{SERVICE} refused {what}: the incident is no longer found", 404)
            if fresh.get("version") == current.get("version"):  # not a stale version: a refusal of the change
                raise self._error(response, what)
            current = fresh
        raise ServiceError(
            f"{SERVICE} refused {what} {UPDATE_ATTEMPTS} times: the incident kept changing (its version moved "
            "between each read and write); the run can be retried"
        )

    def close_incident(self, incident_id: str, reason: str, notes: str) -> dict[str, Any] | None:
        """Close the incident (`POST /incident/batchClose`); the closed incident as answered, if any."""
        body = {"ids": [incident_id], "closeReason": reason, "closeNotes": notes, "CustomFields": {}}
        answer = self._call("/incident/batchClose", body, f"the closure of incident {incident_id}")
        data = answer.get("data") if isinstance(answer, dict) else None
        return data[0] if isinstance(data, list) and data and isinstance(data[0], dict) else None

    def add_entry(self, investigation_id: str, text: str, markdown: bool = True) -> dict[str, Any]:
        """Add a war-room entry (`POST /entry`); the entry as answered."""
        body = {"investigationId": investigation_id, "data": text, "markdown": markdown}
        answer = self._call("/entry", body, f"the war-room entry of incident {investigation_id}")
        return answer if isinstance(answer, dict) else {}

    def reopen_incident(self, incident_id: str, command_investigation: str | None) -> str | None:
        """Run `!reopenInvestigation id=<incident>` in an open investigation (`POST /entry/execute/sync`; the swagger
        has no reopen call, and a closed war room refuses commands), the Playground's given by the module setting
        `xsoar_command_investigation_id`. None when reopened, else XSOAR's reason (the error entry's text); a
        ConfigurationError naming the setting when it is empty or XSOAR refuses that investigation."""
        what = f"the reopening of incident {incident_id} from investigation {shorten(command_investigation, 60)}"
        if not command_investigation:
            raise ConfigurationError(
                f"{COMMAND_SETTING} is empty: reopening an incident runs !reopenInvestigation from an open "
                "investigation (a closed war room refuses commands); set it to the ID of your XSOAR Playground's "
                "investigation (or of another war room that stays open)"
            )
        body = {"investigationId": command_investigation, "data": f"{REOPEN_COMMAND} id={incident_id}"}
        response = self.http.request("POST", "/entry/execute/sync", json=body)
        if response.status_code in (400, 404, 412):
            error = self._error(response, what)
            raise ConfigurationError(
                f"{error}: check {COMMAND_SETTING}, the ID of an investigation that exists and stays open (the "
                "Playground's)"
            )
        if not response.ok:
            raise self._error(response, what)
        answer = parse_json(response, SERVICE, "xsoar_url") if response.content.strip() else None
        entries = answer if isinstance(answer, list) else []
        errors = [e for e in entries if isinstance(e, dict) and e.get("type") == ENTRY_ERROR]
        return shorten(errors[0].get("contents") or "an error entry") if errors else None

    def investigation_entries(
        self, investigation_id: str, page_size: int | None = None, from_time: float | None = None
    ) -> list[dict[str, Any]] | None:
        """The war-room entries of an investigation created at or after `from_time` (epoch seconds, sent as
        `fromTime` in whole seconds) when given, in the order XSOAR gives them (unconfirmed: callers sort or look at
        all) (`POST /investigation/{id}`, OUTSIDE the published swagger: Palo Alto's XSOAR-to-XSOAR mirroring reads it
        with `pageSize` and `fromTime`). None when this XSOAR does not serve it (404 or 405)."""
        body: dict[str, Any] = {"pageSize": page_size} if page_size else {}
        if from_time is not None:
            body["fromTime"] = iso8601_seconds(math.floor(from_time))
        response = self.http.request("POST", f"/investigation/{investigation_id}", json=body)
        if response.status_code in UNSERVED:
            return None
        if not response.ok:
            raise self._error(response, f"the war room of incident {investigation_id}")
        answer = parse_json(response, SERVICE, "xsoar_url")
        entries = answer.get("entries") if isinstance(answer, dict) else None
        return [entry for entry in entries if isinstance(entry, dict)] if isinstance(entries, list) else []

    def _call(self, path: str, body: dict[str, Any], what: str) -> Any:
        """POST a JSON body; the JSON answer (None when empty), or the refusal as an error naming `what`."""
        response = self.http.request("POST", path, json=body)
        if not response.ok:
            raise self._error(response, what)
        return parse_json(response, SERVICE, "xsoar_url") if response.content.strip() else None

    def create_once(self, body: dict[str, Any]) -> Delivery:
        """Create the incident unless this alert's exists: searched first and, after an attempt whose outcome is
        unknown, searched again over the settle period before any new attempt. XSOAR has no create-if-absent: two
        runs of one alert (a trigger killed as it emitted it emits it again) may both create it; searched again
        after the create, the first created is the alert's for both, and `first_id` tells the other run so."""
        before = self.http.requests_sent
        alert_id = body["CustomFields"]["alertid"]
        if existing := self.find_incident(alert_id):
            return Delivery(_id_of(existing), True, self.http.requests_sent - before)
        answer = self.http.request_unless_found("POST", "/incident", lambda: self._settle(alert_id), json=body)
        if not isinstance(answer, requests.Response):  # found after a timed-out attempt: created by that attempt
            return Delivery(_id_of(answer), False, self.http.requests_sent - before)
        if not answer.ok:
            raise self._error(answer, "the incident")
        created = _id_of(parse_json(answer, SERVICE, "xsoar_url") if answer.content.strip() else {})
        first = self._first_incident(alert_id, created) if created else None
        concurrent = first if first and first != created else None
        return Delivery(created, False, self.http.requests_sent - before, concurrent)

    def _first_incident(self, alert_id: str, created: str) -> str | None:
        """The ID of the alert's first incident, which another run may have created meanwhile; None when the search
        fails: the incident is created, a failed check must not fail the run."""
        try:
            return _id_of(self.find_incident(alert_id))
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

    def _error(self, response: requests.Response, what: str) -> ServiceError:
        return REFUSALS[self.mode].error(response, SERVICE, what, self.url)


def _creation_order(incident: dict[str, Any]) -> tuple[float, float, str]:
    """Creation time, then numeric ID: of two incidents created in the same instant every run takes the same one,
    without asking XSOAR to sort by ID (its published filter does not say which fields sort)."""
    identifier = str(incident.get("id"))
    number = float(identifier) if identifier.isdigit() else math.inf
    return xsoar_epoch(incident.get("created")) or math.inf, number, identifier


def _carries(incident: dict[str, Any], field: str, value: str) -> bool:
    """Whether the incident's custom field (else top-level field) `field` is `value`."""
    custom = incident.get("CustomFields")
    held = custom.get(field) if isinstance(custom, dict) else None
    return str(held if held is not None else incident.get(field)) == value


def _update_body(incident: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    """The incident's create-request fields with `changes` applied (`CustomFields` merged), its id and version."""
    fields = {key: value for key, value in incident.items() if key in CREATE_REQUEST_FIELDS}
    custom = (incident.get("CustomFields") or {}) | (changes.get("CustomFields") or {})
    return fields | changes | {"CustomFields": custom, "id": incident["id"], "version": incident.get("version")}


def _id_of(incident: Any) -> str | None:
    """An incident's id: a non-blank text or a whole number (an object, a boolean or a blank is no id)."""
    identifier = incident.get("id") if isinstance(incident, dict) else None
    if isinstance(identifier, bool) or not isinstance(identifier, (str, int)) or not str(identifier).strip():
        return None
    return str(identifier)


def _webhook_incident_id(answer: Any) -> str | None:
    """The Generic Webhook answers a list describing the created incident(s)."""
    if isinstance(answer, list) and answer:
        return _id_of(answer[0])
    return _id_of(answer)
