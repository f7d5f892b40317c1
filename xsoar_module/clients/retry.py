"""When a request is worth another attempt, how long to wait, and why an attempt failed."""

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime

import requests
import urllib3.exceptions

from xsoar_module.timing import Backoff

RetryLog = Callable[[str], None]
# urllib3 failures raised before any byte of the request left: refused, unresolvable name, connect timeout
NOT_SENT = (urllib3.exceptions.NewConnectionError, urllib3.exceptions.ConnectTimeoutError)


@dataclass(frozen=True)
class RetryPolicy:
    """When and how long to retry a request."""

    attempts: int = 5
    deadline: float = 60.0
    initial_wait: float = 0.2
    max_wait: float = 10.0
    max_retry_after: float = 30.0
    statuses: frozenset[int] = field(default_factory=lambda: frozenset({429, 500, 502, 503, 504}))

    @property
    def backoff(self) -> Backoff:
        """The wait before each new attempt: `initial_wait` doubling up to `max_wait`, spread by half either way."""
        return Backoff(first=self.initial_wait, factor=2.0, longest=self.max_wait, jitter=0.5)


class RetryableAnswer(Exception):
    """An answer worth another attempt (throttled or a server-side failure)."""

    def __init__(self, response: requests.Response):
        super().__init__(f"HTTP {response.status_code}")
        self.response = response


class UnknownOutcome(Exception):
    """The request was sent but no answer came back (read timeout, connection dropped): it may have been processed."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


def never_sent(exc: requests.ConnectionError) -> bool:
    """True when the connection failed before the request left (refused, DNS, connect timeout, TLS handshake)."""
    if isinstance(exc, (requests.exceptions.ConnectTimeout, requests.exceptions.SSLError)):
        return True
    cause = exc.args[0] if exc.args else None
    if isinstance(cause, urllib3.exceptions.MaxRetryError):  # requests wraps urllib3's error in its retry error
        cause = cause.reason
    return isinstance(cause, NOT_SENT)


def retry_after_seconds(response: requests.Response) -> float | None:
    """Seconds asked by a `Retry-After` header (delay or HTTP date), if any."""
    value = response.headers.get("Retry-After")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
    except (TypeError, ValueError):
        return None


def failure_reason(exc: BaseException | None) -> str:
    """A short reason from a requests exception, without the urllib3 noise."""
    text = str(exc)
    for marker in ("Caused by ", "] "):
        if marker in text:
            text = text.rsplit(marker, 1)[-1]
    return text.strip("()'\" ")[:200]
