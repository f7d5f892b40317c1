"""Cortex XSOAR's connection: its URL in each mode (webhook, XSOAR 6 API, XSOAR 8 / XSIAM API), credentials, TLS,
retry policy and refusals."""

import hashlib
import ipaddress
import os
import re
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import certifi
import requests

from xsoar_module.clients.answers import Refusal, Refusals, parse_json
from xsoar_module.clients.http import ClosingClient, HttpSession
from xsoar_module.clients.retry import RetryLog, RetryPolicy
from xsoar_module.configuration import ModuleConfiguration
from xsoar_module.errors import (
    AuthenticationError,
    ConfigurationError,
    NotFoundError,
    RejectedRequestError,
    ServiceError,
)
from xsoar_module.secrets import SecretMasker

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
WEBHOOK_PATH = re.compile(r"/instance/execute/[^/]+/?$")


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


class XsoarConnection(ClosingClient):
    """The session to XSOAR in the configured mode; the base of the client's parts."""

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

    def _call(self, path: str, body: dict[str, Any], what: str) -> Any:
        """POST a JSON body; the JSON answer (None when empty), or the refusal as an error naming `what`."""
        response = self.http.request("POST", path, json=body)
        if not response.ok:
            raise self._error(response, what)
        return parse_json(response, SERVICE, "xsoar_url") if response.content.strip() else None

    def _error(self, response: requests.Response, what: str) -> ServiceError:
        """The refusal as an error naming `what` and the setting to check in this mode."""
        return REFUSALS[self.mode].error(response, SERVICE, what, self.url)
