"""Fixtures of the hostile suite: the foreign host, a scriptable stub, and the runner of action cases."""

import json
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import trustme

from lab.doubles.sekoia import SekoiaSimulator
from lab.doubles.symphony import Symphony
from lab.doubles.xsoar import XsoarSimulator
from tests.hostile.harness import (
    Answer,
    Case,
    Outcome,
    RecordingHost,
    assert_clean,
    assert_expected,
    canary_forms,
    data_files,
    resolve,
)
from tests.hostile.trigger_configurations import Hosts, settle, start_all, stop_all
from tests.support import SEKOIA_KEY, XSOAR_API_KEY, XSOAR_TOKEN
from xsoar_module.clients.retry import RetryPolicy


@pytest.fixture(scope="session")
def foreign():
    """A host that must never receive a credential: redirects and hostile URLs point at it."""
    with RecordingHost("foreign-host") as host:
        yield host


@pytest.fixture(scope="session")
def stub():
    """A host answering what a test scripts (redirects, echoes); it records what it receives too."""
    with RecordingHost("stub-host") as host:
        yield host


@pytest.fixture(autouse=True)
def _fresh_hosts(foreign, stub):
    foreign.reset()
    stub.reset()


@dataclass
class Env:
    """What a case's callables may use to build their inputs or set faults."""

    sekoia: SekoiaSimulator
    xsoar: XsoarSimulator
    foreign: RecordingHost
    stub: RecordingHost
    symphony: Symphony
    data_path: Path
    tls_xsoar: XsoarSimulator
    alert: dict[str, Any] | None = None  # the Sekoia.io alert a sync case works on
    incident_id: str | None = None  # its XSOAR incident


@pytest.fixture
def env(sekoia, xsoar, foreign, stub, symphony, data_path, tls_xsoar) -> Env:
    tls_xsoar.faults.clear()
    tls_xsoar.reset()
    return Env(sekoia, xsoar, foreign, stub, symphony, data_path, tls_xsoar)


def base_configuration(env: Env, mode: str = "webhook") -> dict[str, Any]:
    """A working configuration: webhook with header token, or the REST API of XSOAR 6 / 8."""
    config = {"base_url": env.sekoia.url, "api_key": SEKOIA_KEY}
    if mode == "webhook":
        return config | {"xsoar_url": env.xsoar.webhook_url, "xsoar_token": XSOAR_TOKEN}
    config |= {"xsoar_command_investigation_id": env.xsoar.playground_id}
    if mode == "api6":
        return config | {"xsoar_mode": "api", "xsoar_url": env.xsoar.api_url_v6, "xsoar_api_key": XSOAR_API_KEY}
    return config | {
        "xsoar_mode": "api",
        "xsoar_url": env.xsoar.api_url_v8,
        "xsoar_api_key": XSOAR_API_KEY,
        "xsoar_api_key_id": "17",
    }


def run_action_case(case: Case, env: Env, capfd) -> Outcome:
    """Run the case's action the way the platform does and check it.

    `given`: `action`, `arguments`, `mode` (webhook, api6, api8), `config` (overrides; a None value removes the
    setting), `secrets` (what the secrets channel serves instead of the configuration's secret values), `setup`
    (called with the Env before the run: faults, stub answers), `process` (run as a process, as in production).
    Values may be callables of the Env.
    """
    given = case.given
    if "setup" in given:
        given["setup"](env)
    config = base_configuration(env, given.get("mode", "webhook"))
    for key, value in resolve(given.get("config", {}), env).items():
        if value is None:
            config.pop(key, None)
        else:
            config[key] = resolve(value, env)
    secrets = resolve(given["secrets"], env) if "secrets" in given else None
    arguments = {name: resolve(value, env) for name, value in resolve(given.get("arguments", {}), env).items()}
    capfd.readouterr()
    run = env.symphony.run_action(
        given["action"],
        config,
        arguments,
        secrets=secrets,
        data_path=env.data_path,
        in_process=not given.get("process", False),
        timeout=60,
    )
    output = capfd.readouterr()
    error = run.error if run.status == "finished" else f"CRASHED: {run.error}"
    outcome = Outcome(
        error=error,
        results=run.results,
        logs=(run.logs or "").splitlines(),
        visible={"stdout": output.out, "stderr": output.err + run.stderr, "outputs": json.dumps(run.outputs)},
        foreign=list(env.foreign.requests),
        extra={"xsoar": env.xsoar, "sekoia": env.sekoia, "stub": env.stub, "run": run, "data_path": env.data_path},
    )
    outcome.visible |= data_files(env.data_path)
    sekoia_key_forms = canary_forms(SEKOIA_KEY)
    for request in env.xsoar.requests:  # XSOAR may see its own credentials, never Sekoia's
        text = json.dumps(request, default=lambda value: value.decode("utf-8", "replace"))
        assert not any(form in text for form in sekoia_key_forms), "the Sekoia.io API key was sent to XSOAR"
    for text in env.stub.requests:
        assert not any(form in text for form in sekoia_key_forms) or given.get("stub_is_sekoia"), "key sent to stub"
    return outcome


def check_action_case(case: Case, env: Env, capfd, written: Callable[[Env], dict[str, str]] | None = None) -> Outcome:
    """Run and check the case; `written(env)`: the texts it wrote on the other side, searched for canaries too."""
    outcome = run_action_case(case, env, capfd)
    outcome.extra["env"] = env
    if written is not None:
        outcome.visible |= written(env)
    assert_clean(outcome, case)
    assert not outcome.error or not outcome.error.startswith("CRASHED"), outcome.error[-1500:]
    assert_expected(outcome, case)
    return outcome


FAST_XSOAR = RetryPolicy(attempts=3, deadline=10.0, initial_wait=0.01, max_wait=0.05, max_retry_after=0.2)
FAST_SEKOIA = RetryPolicy(attempts=3, deadline=10.0, initial_wait=0.01, max_wait=0.05, max_retry_after=0.2)


@pytest.fixture(autouse=True)
def _quick_retries(monkeypatch):
    """In-process runs retry as the product does, only faster, so that final errors come in milliseconds."""
    monkeypatch.setattr("xsoar_module.clients.xsoar.connection.XSOAR_POLICY", FAST_XSOAR)
    monkeypatch.setattr("xsoar_module.clients.xsoar.connection.XSOAR_TIMEOUT", (2.0, 1.0))
    monkeypatch.setattr("xsoar_module.clients.sekoia.connection.SEKOIA_POLICY", FAST_SEKOIA)
    monkeypatch.setattr("xsoar_module.clients.sekoia.connection.SEKOIA_TIMEOUT", (2.0, 1.0))


@pytest.fixture(scope="session")
def tls_xsoar():
    """An XSOAR simulator over TLS with a private CA (for http:// against https and CA settings)."""
    ca = trustme.CA()
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(context)
    with XsoarSimulator(webhook_token=XSOAR_TOKEN, ssl_context=context) as simulator:
        simulator.ca_pem = ca.cert_pem.bytes().decode()
        yield simulator


@pytest.fixture(scope="session")
def trigger_hosts():
    """What the trigger configurations point at: Sekoia.io, an HTML page, a redirect to a foreign host."""
    with (
        SekoiaSimulator(api_key=SEKOIA_KEY, seed_samples=False) as sekoia,
        RecordingHost("foreign-trigger-configuration") as foreign,
        RecordingHost("html", Answer(200, "<html>Sign in</html>", content_type="text/html")) as html,
        RecordingHost("redirect") as redirect,
    ):
        redirect.default = Answer(302, "", {"Location": foreign.url.replace("http", "ws") + "/live/"})
        yield Hosts(sekoia, foreign, html, redirect)


@pytest.fixture(scope="session")
def started_trigger_configurations(trigger_hosts, symphony, tmp_path_factory):
    """Every trigger configuration case, started at once; asked for early so that their waits overlap other work."""
    everything = start_all(trigger_hosts, symphony, tmp_path_factory.mktemp("trigger-configuration"))
    yield everything, time.monotonic()
    stop_all(everything)


@pytest.fixture(scope="session")
def trigger_configurations(started_trigger_configurations, trigger_hosts):
    everything, started_at = started_trigger_configurations
    return settle(everything, trigger_hosts, started_at)
