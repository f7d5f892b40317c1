"""XSOAR incidents: searching (by the alert's identity, by ID, by modification) and updating or closing one."""

import math
from collections.abc import Callable, Iterator
from functools import partial
from typing import Any

from xsoar_module.clients.answers import parse_json
from xsoar_module.clients.xsoar.connection import SERVICE, XsoarConnection
from xsoar_module.errors import MalformedResponseError, NotFoundError, ServiceError
from xsoar_module.mapping.create_request import CREATE_REQUEST_FIELDS
from xsoar_module.quoting import shorten
from xsoar_module.timing import xsoar_epoch

FIRST_CREATED = [{"field": "created", "asc": True}]
ALERT_ID, ALERT_UUID = "alertid", "sekoiaioalertuuid"  # the incident fields of the alert's short ID and uuid
MIRROR_ID = "dbotMirrorId"  # where the module's first versions kept the short ID
UPDATE_ATTEMPTS = 5  # writes of one update, each after reading the incident again when its version moved
SERVER_FAILURES = range(500, 600)  # answers after which a write may have landed
STALE_STATUSES = (400, 409)  # how XSOAR may refuse a stale version (unconfirmed: the version read again decides)

Changes = (
    dict[str, Any] | Callable[[dict[str, Any]], dict[str, Any]]
)  # fields, or how to compute them from an incident


def _quoted(value: str) -> str:
    """A value for XSOAR's query language, in double quotes."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


class IncidentStore(XsoarConnection):
    """Finds, updates and closes incidents."""

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
            carrying = [incident for incident in found if id_of(incident) and _carries(incident, field, value)]
            if carrying:
                return min(carrying, key=_creation_order)
            if found:
                others = ", ".join(shorten(id_of(incident), 40) for incident in found)
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
        return next((incident for incident in found if id_of(incident) == incident_id), None)

    def update_incident(self, incident: dict[str, Any], changes: Changes) -> dict[str, Any]:
        """Update the incident (`POST /incident` with its `id` and current `version`: optimistic locking) with
        `changes` (top-level fields; `CustomFields` merged into the incident's), or a function of the incident giving
        them (computed again on the incident read again, e.g. to append to a field); the updated incident.

        The whole incident as read is sent with the changes, so that an XSOAR replacing the stored incident keeps the
        other fields. A refusal while the incident's version moved (another change came first) is retried on the
        incident read again, up to UPDATE_ATTEMPTS writes. A server failure (5xx, or no answer) may follow the write,
        or be how XSOAR refuses a stale version (unconfirmed): the incident is read again before the same body is sent
        again; when its version moved, it is the answer if it holds the changes, else the base of the next write."""
        incident_id = id_of(incident)
        if incident_id is None:
            raise MalformedResponseError(f"{SERVICE} answered an incident without an id: it cannot be updated")
        what = f"the update of incident {incident_id}"
        current = incident
        for _ in range(UPDATE_ATTEMPTS):
            fields = changes(current) if callable(changes) else changes
            if not fields:  # computed again on the incident read again: nothing left to write
                return current
            answer = self.http.request_unless_found(
                "POST",
                "/incident",
                partial(self._moved, incident_id, current),
                json=_update_body(current, fields),
                uncertain=SERVER_FAILURES,
            )
            if isinstance(answer, dict):  # the version moved while XSOAR failed: written, or another change came
                if _holds(answer, fields):
                    return answer
                current = answer
                continue
            if answer.ok:
                written = parse_json(answer, SERVICE, "xsoar_url") if answer.content.strip() else None
                if isinstance(written, dict) and id_of(written) == incident_id:
                    return written
                return _applied(current, fields)  # an answer that is not the incident: the incident as sent
            if answer.status_code not in STALE_STATUSES:
                raise self._error(answer, what)
            fresh = self.get_incident(incident_id)
            if fresh is None:
                raise NotFoundError(f"{SERVICE} refused {what}: the incident is no longer found", 404)
            if fresh.get("version") == current.get("version"):  # not a stale version: a refusal of the change
                raise self._error(answer, what)
            current = fresh
        raise ServiceError(
            f"{SERVICE} refused {what} {UPDATE_ATTEMPTS} times: the incident kept changing (its version moved "
            "between each read and write); the run can be retried"
        )

    def _moved(self, incident_id: str, current: dict[str, Any]) -> dict[str, Any] | None:
        """The incident read again when its version is no longer `current`'s, else None (the write did not land)."""
        fresh = self.get_incident(incident_id)
        return fresh if fresh is not None and fresh.get("version") != current.get("version") else None

    def close_incident(self, incident_id: str, reason: str, notes: str) -> dict[str, Any] | None:
        """Close the incident (`POST /incident/batchClose`); the closed incident as answered, if any."""
        body = {"ids": [incident_id], "closeReason": reason, "closeNotes": notes, "CustomFields": {}}
        answer = self._call("/incident/batchClose", body, f"the closure of incident {incident_id}")
        data = answer.get("data") if isinstance(answer, dict) else None
        return data[0] if isinstance(data, list) and data and isinstance(data[0], dict) else None


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


def _applied(incident: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    """The incident with `changes` applied: top-level fields replaced, `CustomFields` merged."""
    custom = (incident.get("CustomFields") or {}) | (changes.get("CustomFields") or {})
    return incident | changes | {"CustomFields": custom}


def _holds(incident: dict[str, Any], changes: dict[str, Any]) -> bool:
    """Whether the incident already holds every one of `changes` (custom fields one by one)."""
    return _applied(incident, changes) == incident | {"CustomFields": incident.get("CustomFields") or {}}


def _update_body(incident: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    """The incident's create-request fields with `changes` applied (`CustomFields` merged), its id and version."""
    fields = {key: value for key, value in incident.items() if key in CREATE_REQUEST_FIELDS or key == "CustomFields"}
    return _applied(fields, changes) | {"id": incident["id"], "version": incident.get("version")}


def id_of(incident: Any) -> str | None:
    """An incident's id: a non-blank text or a whole number (an object, a boolean or a blank is no id)."""
    identifier = incident.get("id") if isinstance(incident, dict) else None
    if isinstance(identifier, bool) or not isinstance(identifier, (str, int)) or not str(identifier).strip():
        return None
    return str(identifier)
