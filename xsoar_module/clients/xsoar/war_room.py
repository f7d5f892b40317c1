"""The war room of an XSOAR incident: entries, commands (the reopening) and reading it back."""

import math
import re
from typing import Any

import requests

from xsoar_module.clients.answers import parse_json, service_message
from xsoar_module.clients.xsoar.connection import SERVICE, XsoarConnection
from xsoar_module.errors import ConfigurationError, RejectedRequestError
from xsoar_module.quoting import shorten
from xsoar_module.timing import iso8601_seconds

REOPEN_COMMAND = "!reopenInvestigation"
ENTRY_ERROR = 4  # the type of an error entry in the war room
UNSERVED = (404, 405)  # what an XSOAR answers for a call it does not serve
COMMAND_SETTING = "xsoar_command_investigation_id"
CLOSED_INVESTIGATION = "in case of closed investigation"  # the swagger's 412 for entries and commands
INVESTIGATION = re.compile(r"\binvestigation\b", re.IGNORECASE)  # the word: not "reopenInvestigation"


class WarRoom(XsoarConnection):
    """War-room entries and commands."""

    def add_entry(self, investigation_id: str, text: str, markdown: bool = True) -> dict[str, Any]:
        """Add a war-room entry (`POST /entry`); the entry as answered."""
        body = {"investigationId": investigation_id, "data": text, "markdown": markdown}
        answer = self._call("/entry", body, f"the war-room entry of incident {investigation_id}")
        return answer if isinstance(answer, dict) else {}

    def reopen_incident(self, incident_id: str, command_investigation: str | None) -> str | None:
        """Run `!reopenInvestigation id=<incident>` in an open investigation (`POST /entry/execute/sync`; the swagger
        has no reopen call, and a closed war room refuses commands), the Playground's given by the module setting
        `xsoar_command_investigation_id`. None when reopened, else XSOAR's reason (the error entry's text); a
        ConfigurationError naming the setting when it is empty or XSOAR's refusal is about that investigation (missing
        or closed); any other refusal names XSOAR's own reason."""
        what = f"the reopening of incident {incident_id} from investigation {shorten(command_investigation, 60)}"
        if not command_investigation:
            raise ConfigurationError(
                f"{COMMAND_SETTING} is empty: reopening an incident runs !reopenInvestigation from an open "
                "investigation (a closed war room refuses commands); set it to the ID of your XSOAR Playground's "
                "investigation (or of another war room that stays open)"
            )
        body = {"investigationId": command_investigation, "data": f"{REOPEN_COMMAND} id={incident_id}"}
        response = self.http.request("POST", "/entry/execute/sync", json=body)
        if response.status_code in (400, 404, 412):  # XSOAR's own reason, about the investigation or not
            refused = f"{SERVICE} refused {what} ({response.status_code}){service_message(response) or ': no reason'}"
            if _refuses_investigation(response):
                raise ConfigurationError(
                    f"{refused}: check {COMMAND_SETTING}, the ID of an investigation that exists and stays open (the "
                    "Playground's)"
                )
            raise RejectedRequestError(refused, response.status_code)
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


def _refuses_investigation(response: requests.Response) -> bool:
    """Whether XSOAR's refusal of a command is about the investigation it runs in: closed (412, the swagger's
    message) or missing (400 or 404 naming it)."""
    message = service_message(response)
    if response.status_code == 412:
        return CLOSED_INVESTIGATION in message.lower()
    return response.status_code in (400, 404) and INVESTIGATION.search(message) is not None
