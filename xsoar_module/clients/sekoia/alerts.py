"""Sekoia.io alerts: reading, listing, workflow transitions and comments."""

from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import quote

import requests

from xsoar_module.clients.answers import parse_json
from xsoar_module.clients.sekoia.connection import REFUSALS, SERVICE, SekoiaConnection
from xsoar_module.errors import MalformedResponseError
from xsoar_module.quoting import shorten
from xsoar_module.timing import iso8601_seconds

ALERTS_PAGE_SIZE = 100


def identity_of(me: dict[str, Any]) -> str | None:
    """The identity (`uuid`, else `id`) of `GET /v1/me`'s answer: `created_by` of what the API key changes."""
    identity = me.get("uuid") or me.get("id")
    return identity if isinstance(identity, str) and identity else None


def _alert_path(alert_id: str) -> str:
    return f"/v1/sic/alerts/{quote(alert_id, safe='')}"


class AlertsApi(SekoiaConnection):
    """The alerts of the Sekoia.io API."""

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
