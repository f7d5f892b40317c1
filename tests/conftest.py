"""Shared fixtures: the simulators and the platform stand-in, started on 127.0.0.1 for the whole session."""

import base64
from pathlib import Path
from urllib.parse import quote

import pytest

from lab.sekoia_simulator import SekoiaSimulator
from lab.symphony import Symphony
from lab.xsoar_simulator import XsoarSimulator

SEKOIA_KEY = "sekoia-key-canary-5b1f0e"
XSOAR_TOKEN = "xsoar-token-canary-77aa12"
XSOAR_API_KEY = "xsoar-apikey-canary-c3d4e5"
XSOAR_PASSWORD = "xsoar-password-canary-9c8b"
SECRETS = (SEKOIA_KEY, XSOAR_TOKEN, XSOAR_API_KEY, XSOAR_PASSWORD)
BASIC_USERNAME = "sekoia"  # the username the tests pair with XSOAR_PASSWORD


def secret_forms(secret: str, username: str = BASIC_USERNAME) -> set[str]:
    """A secret as it may leak: as is, URL-encoded, and in base64 alone, as a Bearer header and as Basic auth."""
    encoded = {
        base64.b64encode(text.encode()).decode().rstrip("=")
        for text in (secret, f"Bearer {secret}", f"{username}:{secret}")
    }
    return {secret, quote(secret, safe=""), repr(secret)[1:-1]} | encoded


def canaries(secrets: tuple[str, ...] = SECRETS) -> set[str]:
    return {form for secret in secrets for form in secret_forms(secret)}


@pytest.fixture(scope="session")
def sekoia():
    with SekoiaSimulator(api_key=SEKOIA_KEY) as simulator:
        yield simulator


@pytest.fixture(scope="session")
def xsoar():
    with XsoarSimulator(webhook_token=XSOAR_TOKEN, api_key=XSOAR_API_KEY, api_key_id="17") as simulator:
        yield simulator


@pytest.fixture(scope="session")
def symphony():
    with Symphony() as stand_in:
        yield stand_in


@pytest.fixture(autouse=True)
def _clean_simulators(request):
    """Each test starts with no fault, no stored incident and fresh counters."""
    for name in ("sekoia", "xsoar"):
        if name in request.fixturenames:
            simulator = request.getfixturevalue(name)
            simulator.faults.clear()
            simulator.reset_counts() if name == "sekoia" else simulator.reset()
    yield


@pytest.fixture
def data_path(tmp_path: Path) -> Path:
    path = tmp_path / "data"
    path.mkdir()
    return path


def assert_no_secret(*texts: object, secrets: tuple[str, ...] = SECRETS) -> None:
    """No secret value, in any of its encoded forms, in anything a user sees."""
    forms = canaries(secrets)
    for text in texts:
        for form in forms:
            assert form not in str(text), "a secret leaked"
