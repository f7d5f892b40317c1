"""Hostile configurations of the Alert Created trigger: each case starts its own trigger process, all at once.

The processes start early (the frames session of test_trigger.py asks for them) so that their waits overlap.

A configuration the trigger cannot work with must end in a critical log naming the setting (the platform shows it and
stops the trigger), never in a bare traceback or a silent retry loop; a usable one must reach the LiveAPI.
"""

import time
from dataclasses import dataclass, field
from pathlib import Path

from lab.doubles.sekoia import SekoiaSimulator
from lab.doubles.symphony import TriggerRun
from tests.hostile.harness import Case, RecordingHost, resolve
from tests.hostile.live import LiveStub
from tests.support import SEKOIA_KEY

TRIGGER = "AlertCreatedTrigger"
DEADLINE = 25.0  # for every case at once, from the start of the last process
STARTUP_TRACEBACK = "an invalid configuration logs a critical line but the process prints a traceback"


@dataclass
class Hosts:
    sekoia: SekoiaSimulator
    foreign: RecordingHost
    html: RecordingHost  # answers 200 HTML to everything
    redirect: RecordingHost  # answers 302 to the foreign host


@dataclass
class Started:
    case: Case
    live: LiveStub
    run: TriggerRun
    data_path: Path
    logs: list[dict] = field(default_factory=list)
    stderr: str = ""
    reached: bool = False


def critical(started: Started) -> bool:
    return any(log.get("level") == "critical" for log in started.run.logs)


def upgraded(started: Started) -> bool:
    return started.live.upgrades > 0


def redirected(hosts: Hosts):
    return lambda started: bool(hosts.redirect.requests)


def critical_naming(pattern: str) -> dict:
    return {"until": lambda hosts: critical, "logs": pattern, "level": "critical"}


CASES = [
    Case(
        "trigger-base_url-not-a-url",
        {"config": {"base_url": "not a url"}} | critical_naming(r"base_url"),
    ),
    Case(
        "trigger-liveapi_url-ftp",
        {"config": {"liveapi_url": "ftp://live.sekoia.io/live/"}} | critical_naming(r"liveapi_url"),
    ),
    Case("trigger-api_key-wrong", {"config": {"api_key": "wrong-key"}} | critical_naming(r"api_key")),
    Case(
        "trigger-base_url-with-a-path",
        {"config": {"base_url": lambda hosts: hosts.sekoia.url + "/nowhere"}} | critical_naming(r"base_url"),
    ),
    Case(
        "trigger-base_url-answers-200-html",
        {"config": {"base_url": lambda hosts: hosts.html.url}} | critical_naming(r"base_url"),
    ),
    Case("trigger-liveapi-authenticated-false", {"reject": "message"} | critical_naming(r"api_key")),
    Case(
        "trigger-liveapi-closes-4401",
        {"reject": "close"} | critical_naming(r"api_key"),
    ),
    Case(
        "trigger-secret-api_key-line-break",
        {"secrets": {"api_key": "sekoia-key\ncanary-5b1f0e"}} | critical_naming(r"api_key"),
        canaries=("sekoia-key\ncanary-5b1f0e",),
    ),
    Case(
        "trigger-secret-api_key-trailing-newline",
        {"secrets": {"api_key": SEKOIA_KEY + "\n"}, "until": lambda hosts: upgraded},
    ),
    Case(
        "trigger-liveapi_url-redirects-to-another-host",
        {
            "config": {"liveapi_url": lambda hosts: hosts.redirect.url.replace("http", "ws") + "/live/"},
            "until": redirected,
            "logs": r"302|redirect",
        },
    ),
    Case(
        "trigger-liveapi_url-explicit-with-its-slash",
        {"config": {"liveapi_url": lambda hosts: hosts.sekoia.liveapi_url}, "simulator_live": True},
    ),
    Case(
        "trigger-configuration-wrong-types",
        {"trigger": {"min_urgency": "high", "rule_filter": 5}, "logs": r"min_urgency", "level": "error"},
    ),
    Case(
        "trigger-configuration-not-an-object",
        {"trigger": [1, 2], "logs": r"not a JSON object|trigger configuration", "level": "error"},
    ),
]


def start(case: Case, hosts: Hosts, symphony, root: Path) -> Started:
    given = case.given
    live = LiveStub(SEKOIA_KEY, reject=given.get("reject")).__enter__()
    config = {
        "base_url": hosts.sekoia.url,
        "api_key": SEKOIA_KEY,
        "liveapi_url": live.url,
        "xsoar_url": "http://127.0.0.1:9/unused",
    }
    config |= {key: resolve(value, hosts) for key, value in given.get("config", {}).items()}
    data_path = root / case.id / "data"
    run = symphony.start_trigger(
        TRIGGER, config, given.get("trigger", {}), secrets=given.get("secrets"), data_path=data_path
    )
    return Started(case, live, run, data_path)


def done(started: Started, hosts: Hosts) -> bool:
    given = started.case.given
    if "until" in given:
        return given["until"](hosts)(started)
    if given.get("simulator_live"):
        return hosts.sekoia.connected_clients > 0
    if "level" in given:
        return any(log.get("level") == given["level"] for log in started.run.logs)
    return upgraded(started)


def start_all(hosts: Hosts, symphony, root: Path) -> list[Started]:
    return [start(case, hosts, symphony, root) for case in CASES]


def settle(everything: list[Started], hosts: Hosts, started_at: float) -> dict[str, Started]:
    """Wait until each case reached its state (or its process ended, or the deadline), then stop them all."""
    deadline = started_at + DEADLINE
    try:
        pending = list(everything)
        while True:
            for started in list(pending):
                if done(started, hosts) or not started.run.is_running():
                    started.reached = done(started, hosts)
                    pending.remove(started)
            if not pending or time.monotonic() >= deadline:
                break
            time.sleep(0.05)
    finally:
        stop_all(everything)
    return {started.case.id: started for started in everything}


def stop_all(everything: list[Started]) -> None:
    """Stop each process (SIGTERM flushes its logs) and keep what it logged and printed."""
    for started in everything:
        started.run.stop(timeout=10)
        started.live.__exit__()
        started.logs, started.stderr = started.run.logs, started.run.stderr
