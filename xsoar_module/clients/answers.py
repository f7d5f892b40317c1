"""Reading a service's answers: its JSON, its refusals as errors naming what to fix."""

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import orjson
import requests

from xsoar_module.errors import MalformedResponseError, RejectedRequestError, ServiceError
from xsoar_module.quoting import shorten


def describe_status(response: requests.Response) -> str:
    """`503 Service Unavailable`."""
    return f"{response.status_code} {response.reason or ''}".strip()


def service_message(response: requests.Response) -> str:
    """The service's own explanation of a refusal (`: ...`), shortened; nothing for an HTML error page."""
    text = response.text.strip()
    if not text or text.startswith("<"):
        return ""
    try:
        body = response.json()
    except ValueError:
        return f": {text[:300]}"
    if isinstance(body, dict):
        for key in ("message", "error", "detail", "errors"):
            if body.get(key):
                return f": {str(body[key])[:300]}"
    return f": {text[:300]}"


@dataclass(frozen=True)
class Refusal:
    """How a service's refusal reads: the error class and its message, a template over `{service}`, `{what}` (the
    request), `{status}`, `{answer}` (`404 Not Found`), `{detail}` (the service's own reason, `: ...` or empty),
    `{reason}` (that reason, or `: no reason given`) and `{url}` (the service's base)."""

    error: type[ServiceError]
    message: str


@dataclass(frozen=True)
class Refusals:
    """A service's refusals by status (its hints to the user, as data), and the one for any other status."""

    by_status: Mapping[int, Refusal]
    otherwise: Refusal = Refusal(RejectedRequestError, "{service} rejected {what}: {answer}{detail}")

    def error(self, response: requests.Response, service: str, what: str, url: str = "") -> ServiceError:
        """The error of a refused request (any status that is not a success)."""
        refusal = self.by_status.get(response.status_code, self.otherwise)
        detail = service_message(response)
        message = refusal.message.format(
            service=service,
            what=what,
            status=response.status_code,
            answer=describe_status(response),
            detail=detail,
            reason=detail or ": no reason given",
            url=url,
        )
        return refusal.error(message, response.status_code)


def is_html(response: requests.Response) -> bool:
    """True for a web page (a login portal, an SSO or maintenance page): a body of markup. By the body, not the
    `Content-Type`, which many servers set to text/html for any text."""
    return response.content.lstrip(b"\xef\xbb\xbf \t\r\n")[:1] == b"<"


def parse_json(response: requests.Response, service: str, setting: str = "") -> Any:
    """The JSON body of an answer, or an error naming the service, the URL and the setting to check."""
    try:
        return orjson.loads(response.content)
    except orjson.JSONDecodeError:
        snippet = shorten(response.text.strip().replace("\n", " "), 120)
        what = "an HTML page" if is_html(response) else "a body that is not JSON"
        check = f": check {setting}, it must point to the {service} API" if setting else ""
        raise MalformedResponseError(
            f"{service} answered {describe_status(response)} with {what} (not JSON) at {shorten(response.url)}"
            f"{check} ({snippet!r})",
            response.status_code,
        ) from None
