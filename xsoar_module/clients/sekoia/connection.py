"""The Sekoia.io API's connection: its address and key, retry policy and refusals, and JSON answers."""

import time
from collections.abc import Callable
from typing import Any

from xsoar_module.clients.answers import Refusal, Refusals, parse_json
from xsoar_module.clients.http import ClosingClient, HttpSession
from xsoar_module.clients.retry import RetryLog, RetryPolicy
from xsoar_module.configuration import ModuleConfiguration
from xsoar_module.errors import AuthenticationError, MalformedResponseError, NotFoundError
from xsoar_module.secrets import SecretMasker
from xsoar_module.timing import SYSTEM_CLOCK, Clock

SERVICE = "Sekoia.io"
# 8 attempts, waits from 0.2 s doubling to 10 s (about 23 s in all, within the 60 s deadline): a block that gives up
# fails its run, and its alert goes no further
SEKOIA_POLICY = RetryPolicy(attempts=8)
SEKOIA_TIMEOUT = (5.0, 30.0)  # connect, read
REFUSALS = Refusals(
    {
        401: Refusal(
            AuthenticationError,
            "{service} rejected the API key (401) for {what}: set a valid api_key in the module configuration",
        ),
        403: Refusal(
            AuthenticationError,
            "{service} refused {what} (403): the API key lacks a permission; give its role the SYMPHONY_* "
            "permissions and read access to alerts and events",
        ),
        404: Refusal(NotFoundError, "{service} found no {what} (404){detail}"),
    }
)


class SekoiaConnection(ClosingClient):
    """The session to `{api_url}`, with the Bearer key; the base of the client's parts."""

    clock: Clock = SYSTEM_CLOCK  # the waits for events indexed late (a test's clock in tests)

    def __init__(
        self,
        config: ModuleConfiguration,
        *,
        policy: RetryPolicy | None = None,
        on_retry: RetryLog | None = None,
        sleep: Callable[[float], None] = time.sleep,
        timeout: tuple[float, float] = SEKOIA_TIMEOUT,
    ):
        self.http = HttpSession(
            SERVICE,
            config.sekoia_api_url,
            {"Authorization": f"Bearer {config.require_api_key()}"},
            policy=policy or SEKOIA_POLICY,
            timeout=timeout,
            on_retry=on_retry,
            setting="base_url",
            masker=SecretMasker.of(config),
        )
        self._sleep = sleep

    def _json(self, method: str, path: str, *, what: str, **kwargs: Any) -> dict[str, Any]:
        """The JSON object answered, or the refusal as an error naming `what`."""
        response = self.http.request(method, path, **kwargs)
        if not response.ok:
            raise REFUSALS.error(response, SERVICE, what)
        body = parse_json(response, SERVICE, "base_url")
        if not isinstance(body, dict):
            raise MalformedResponseError(f"{SERVICE} answered {what} with JSON that is not an object")
        return body
