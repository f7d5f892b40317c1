"""What the tests share besides fixtures: the canary secrets, the repository's paths and waits on conditions."""

import base64
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "lab" / "samples"
FIXTURES = ROOT / "tests" / "fixtures"

SEKOIA_KEY = "sekoia-key-canary-5b1f0e"
XSOAR_TOKEN = "xsoar-token-canary-77aa12"
XSOAR_API_KEY = "xsoar-apikey-canary-c3d4e5"
XSOAR_PASSWORD = "xsoar-password-canary-9c8b"
SECRETS = (SEKOIA_KEY, XSOAR_TOKEN, XSOAR_API_KEY, XSOAR_PASSWORD)
BASIC_USERNAME = "sekoia"  # the username the tests pair with XSOAR_PASSWORD

POLL = 0.02  # how often a wait looks at its condition again
SETTLE = 0.5  # after the expected trigger events, how long an unexpected one would have to show up


def secret_forms(secret: str, username: str = BASIC_USERNAME) -> set[str]:
    """A secret as it may leak: as is, URL-encoded, and in base64 alone, as a Bearer header and as Basic auth."""
    encoded = {
        base64.b64encode(text.encode()).decode().rstrip("=")
        for text in (secret, f"Bearer {secret}", f"{username}:{secret}")
    }
    return {secret, quote(secret, safe=""), repr(secret)[1:-1]} | encoded


def canaries(secrets: tuple[str, ...] = SECRETS) -> set[str]:
    return {form for secret in secrets for form in secret_forms(secret)}


def assert_no_secret(*texts: object, secrets: tuple[str, ...] = SECRETS) -> None:
    """No secret value, in any of its encoded forms, in anything a user sees."""
    forms = canaries(secrets)
    for text in texts:
        for form in forms:
            assert form not in str(text), "a secret leaked"


def came_true(done: Callable[[], bool], timeout: float) -> bool:
    """Whether `done()` became true within `timeout` seconds (looked at every POLL)."""
    deadline = time.monotonic() + timeout
    while not done():
        if time.monotonic() > deadline:
            return False
        time.sleep(POLL)
    return True


def until(done: Callable[[], bool], timeout: float = 20.0, what: str = "the condition") -> None:
    """Return as soon as `done()` is true; fail after `timeout` seconds."""
    assert came_true(done, timeout), f"{what} did not come true within {timeout} s"


def stays(held: Callable[[], bool], seconds: float, what: str = "the condition") -> None:
    """A bounded check that something does not happen: fail as soon as `held()` turns false within `seconds`."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        assert held(), f"{what} stopped holding"
        time.sleep(POLL)
    assert held(), f"{what} stopped holding"


def answered_listings(sekoia: Any) -> int:
    """The alert listings a Sekoia.io simulator answered (logged once the answer is ready, unlike request counts)."""
    return sum(
        1 for method, path, _ in list(sekoia.request_log) if method == "GET" and path.startswith("/v1/sic/alerts?")
    )


def start_listening_trigger(symphony: Any, sekoia: Any, trigger: str, config: dict, data_path: Path, **kwargs: Any):
    """Start a LiveAPI trigger process; return its run once it listens and its first catch-up was answered."""
    listed = answered_listings(sekoia)
    run = symphony.start_trigger(trigger, config, data_path=data_path, **kwargs)
    sekoia.wait_for_clients(1, timeout=20)
    until(lambda: answered_listings(sekoia) > listed, what="the first catch-up")
    return run


def settled_events(run: Any, expected: int, timeout: float = 20) -> list[dict]:
    """The run's events once `expected` arrived; fails as soon as one more comes within SETTLE."""
    run.wait_for_events(expected, timeout=timeout)
    stays(lambda: len(run.events) == expected, SETTLE, what=f"exactly {expected} events")
    return run.events
