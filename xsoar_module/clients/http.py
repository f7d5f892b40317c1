"""One HTTP layer for both services: a session, timeouts, retries with backoff, readable failures."""

import socket
import ssl
import time
from collections.abc import Callable, Collection
from typing import Any, Self, TypeVar
from urllib.parse import urljoin, urlsplit

import orjson
import requests
from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception_type,
    retry_if_not_exception_type,
    stop_after_attempt,
    stop_before_delay,
)

from xsoar_module.clients.answers import describe_status
from xsoar_module.clients.retry import (
    RetryableAnswer,
    RetryLog,
    RetryPolicy,
    UnknownOutcome,
    failure_reason,
    never_sent,
    retry_after_seconds,
)
from xsoar_module.errors import ServiceError, UnavailableError
from xsoar_module.quoting import shorten
from xsoar_module.secrets import SecretMasker
from xsoar_module.version import USER_AGENT

PLAIN_HTTP_TO_HTTPS = "plain HTTP request was sent to HTTPS port"  # nginx's 400 page
Found = TypeVar("Found")
DEFAULT_POLICY = RetryPolicy()


def speaks_tls(url: str, timeout: float = 3.0) -> bool:
    """True when the host and port of an `http://` URL complete a TLS handshake: an HTTPS server."""
    parts = urlsplit(url)
    if parts.scheme != "http" or not parts.hostname:
        return False
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    try:
        with (
            socket.create_connection((parts.hostname, parts.port or 80), timeout=timeout) as raw,
            context.wrap_socket(raw, server_hostname=parts.hostname),
        ):
            return True
    except (OSError, ValueError):
        return False


class ClosingClient:
    """A client owning an HttpSession: `with Client(...) as client:` closes it."""

    http: "HttpSession"

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()


class HttpSession:
    """A requests session bound to one service, retrying what is worth retrying within a deadline."""

    def __init__(
        self,
        service: str,
        base_url: str,
        headers: dict[str, str],
        *,
        policy: RetryPolicy = DEFAULT_POLICY,
        timeout: tuple[float, float] = (5.0, 30.0),
        verify: bool | str = True,
        auth: tuple[str, str] | None = None,
        on_retry: RetryLog | None = None,
        tls_hint: str = "",
        setting: str = "",
        masker: SecretMasker | None = None,
    ):
        self.service = service
        # what no body carries: the module's secrets travel in its headers only (a URL's user information is data)
        self.masker = (masker or SecretMasker()).for_data()
        self.setting = setting  # the setting holding this service's URL (base_url, xsoar_url), named in errors
        self.base_url = base_url.rstrip("/")
        self.policy = policy
        self.timeout = timeout
        self.on_retry = on_retry
        self.tls_hint = tls_hint
        self.requests_sent = 0
        self._session = requests.Session()
        self._session.headers.update({"User-Agent": USER_AGENT, "Accept": "application/json", **headers})
        self._verify = verify  # per request: requests lets REQUESTS_CA_BUNDLE override a session's verify
        self._session.auth = auth

    def url(self, path: str) -> str:
        return f"{self.base_url}{path}" if path else self.base_url

    def close(self) -> None:
        self._session.close()

    def request(
        self,
        method: str,
        path: str,
        *,
        json: object = None,
        params: dict[str, Any] | None = None,
        on_unknown_outcome: Callable[[], None] | None = None,
    ) -> requests.Response:
        """Send a request and return the final answer (any status that is not retried).

        `on_unknown_outcome()` is called before an attempt that follows one whose outcome is unknown (sent, no
        answer). Raises UnavailableError when the service cannot be reached or keeps failing.
        """

        def notice() -> None:
            if on_unknown_outcome is not None:
                on_unknown_outcome()

        return self._exchange(method, path, json, params, notice, ())

    def request_unless_found(
        self,
        method: str,
        path: str,
        find: Callable[[], Found | None],
        *,
        json: object = None,
        params: dict[str, Any] | None = None,
        uncertain: Collection[int] = (),
    ) -> requests.Response | Found:
        """As `request`, but before an attempt that follows one whose outcome is unknown (no answer, or a retried
        status in `uncertain`: a server failure after the change was made), `find()` looks for what that attempt may
        have made: what it finds is returned instead of sending again."""
        return self._exchange(method, path, json, params, find, uncertain)

    def _exchange(
        self,
        method: str,
        path: str,
        json: object,
        params: dict[str, Any] | None,
        resolve: Callable[[], Found | None],
        uncertain: Collection[int],
    ) -> requests.Response | Found:
        url = self.url(path)
        body = orjson.dumps(self.masker.mask_value(json)) if json is not None else None
        headers = {"Content-Type": "application/json"} if body is not None else None
        retryable = (RetryableAnswer, UnknownOutcome, requests.ConnectionError)
        retrying = Retrying(
            stop=stop_after_attempt(self.policy.attempts) | stop_before_delay(self.policy.deadline),
            wait=self._wait,
            retry=retry_if_exception_type(retryable) & retry_if_not_exception_type(requests.exceptions.SSLError),
            before_sleep=lambda state: self._log_retry(method, path, state),
            reraise=True,
        )
        started = time.monotonic()
        unknown_before = False
        try:
            for attempt in retrying:
                with attempt:
                    if unknown_before:  # once unknown, always checked
                        resolved = resolve()
                        if resolved is not None:
                            return resolved
                    try:
                        return self._send(method, url, body, headers, params)
                    except UnknownOutcome:
                        unknown_before = True
                        raise
                    except RetryableAnswer as exc:
                        unknown_before = unknown_before or exc.response.status_code in uncertain
                        raise
        except RetryableAnswer as exc:
            raise UnavailableError(
                f"{self.service} still answered {describe_status(exc.response)} to {method} {url} after "
                f"{self._attempts(retrying)} attempt(s) over {time.monotonic() - started:.1f} s"
                f"{self._answer_excerpt(exc.response)}",
                exc.response.status_code,
            ) from None
        except requests.exceptions.SSLError as exc:
            raise UnavailableError(
                f"TLS verification of {self.service} at {url} failed: {failure_reason(exc)}. {self.tls_hint}".strip()
            ) from None
        except UnknownOutcome as exc:
            raise UnavailableError(
                f"{self.service} gave no answer to {method} {url} after {self._attempts(retrying)} attempt(s) over "
                f"{time.monotonic() - started:.1f} s ({exc.reason}); the request may or may not have been processed"
            ) from None
        except requests.ConnectionError as exc:
            raise UnavailableError(
                f"{self.service} could not be reached at {url} after {self._attempts(retrying)} attempt(s) over "
                f"{time.monotonic() - started:.1f} s: {failure_reason(exc)}"
            ) from None
        raise AssertionError("unreachable: the retries return an answer or raise")  # pragma: no cover

    def _send(
        self,
        method: str,
        url: str,
        body: bytes | None,
        headers: dict[str, str] | None,
        params: dict[str, Any] | None,
    ) -> requests.Response:
        self.requests_sent += 1
        try:
            response = self._session.request(
                method,
                url,
                data=body,
                headers=headers,
                params=params,
                timeout=self.timeout,
                verify=self._verify,
                allow_redirects=False,  # followed blindly, a redirect drops the credentials or sends them elsewhere
            )
        except requests.exceptions.ReadTimeout:
            raise UnknownOutcome(f"no answer within {self.timeout[1]:g} s") from None
        except requests.ConnectionError as exc:
            if never_sent(exc):
                raise
            if speaks_tls(url):
                raise self._https_expected(url) from None
            raise UnknownOutcome(f"connection dropped: {failure_reason(exc)}") from None
        except requests.RequestException as exc:  # its text may quote a header, hence a secret: name it only
            raise UnavailableError(
                f"{self.service}: {method} {url} could not be sent ({type(exc).__name__})"
            ) from None
        if response.status_code in self.policy.statuses:
            raise RetryableAnswer(response)
        if response.is_redirect:
            self._refuse_redirect(method, url, response)
        if response.status_code == 400 and url.startswith("http:") and PLAIN_HTTP_TO_HTTPS in response.text[:2000]:
            raise self._https_expected(url)
        return response

    def _https_expected(self, url: str) -> UnavailableError:
        return UnavailableError(
            f"{self.service} at {shorten(url)} serves HTTPS on that port, not plain HTTP: "
            f"set {self.setting or 'its URL'} to https://..."
        )

    def _refuse_redirect(self, method: str, url: str, response: requests.Response) -> None:
        target = urljoin(url, response.headers.get("Location", ""))
        raise ServiceError(
            f"{self.service} redirected {method} {shorten(url)} to {shorten(target)} ({describe_status(response)}): "
            f"set {self.setting or 'its URL'} to the address that answers (redirects are not followed: they would "
            "drop the credentials or send them elsewhere)",
            response.status_code,
        )

    def _wait(self, state: RetryCallState) -> float:
        exponential = self.policy.backoff.delay(state.attempt_number)
        exc = state.outcome.exception() if state.outcome else None
        if isinstance(exc, RetryableAnswer):
            asked = retry_after_seconds(exc.response)
            if asked is not None:
                return min(asked, self.policy.max_retry_after)
        return exponential

    def _log_retry(self, method: str, path: str, state: RetryCallState) -> None:
        if self.on_retry is None or state.outcome is None:
            return
        exc = state.outcome.exception()
        if isinstance(exc, RetryableAnswer):
            what = f"answered {describe_status(exc.response)}"
        elif isinstance(exc, UnknownOutcome):
            what = f"gave no answer ({exc.reason})"
        else:
            what = f"could not be reached ({failure_reason(exc)})"
        wait = state.next_action.sleep if state.next_action else 0.0
        self.on_retry(
            f"{self.service} {what} to {method} {path or '/'}: "
            f"retry {state.attempt_number}/{self.policy.attempts - 1} in {wait:.2f} s"
        )

    @staticmethod
    def _attempts(retrying: Retrying) -> int:
        return int(retrying.statistics.get("attempt_number", 1))

    @staticmethod
    def _answer_excerpt(response: requests.Response) -> str:
        text = response.text.strip()[:200].replace("\n", " ")
        return f"; last answer: {text!r}" if text else ""
