"""The hostile-input harness: cases as data, a recording foreign host, and the checks every case gets.

A case is a `Case` row: an id, the inputs of its category (`given`), and what must come out: `error` (a regex the
error must match, case-insensitive) or success (`error=None`), plus an optional `check(outcome)` for more. A case the
product does not handle yet carries `xfail="<part> <why>"` (part: data, xsoar or security): it runs as a strict xfail,
so the day it passes the marker must go.

Every case, whatever its category, ends in `assert_clean(outcome)`: no canary secret in any form (as is, base64 at
any offset, URL-encoded, escaped) in anything a user or another host could see, and no error or log line over
`MAX_LINE` characters.

To add a case, add a row to the category's list; the runner of that category does the rest:
- test_configuration.py, test_arguments.py, test_answers.py: action cases (`run_action_case` in conftest.py: `action`,
  `arguments`, `mode`, `config`, `secrets`, `setup` for faults or stub answers, `process`);
- test_trigger.py: LiveAPI frames and the alerts the trigger fetches, played on one shared trigger (`frames`), and
  the first alert listing (`LISTING`); trigger_configurations.py: a trigger process per configuration;
- test_lab_commands.py: `python -m lab` arguments, input files, environment;
- test_sync_actions.py: Update Incident and Update Alert cases (the action runner, plus what each wrote on the other
  side: war-room entries, close notes, alert comments), one list per class of hostile sync input;
- test_sync_triggers.py: Incident Updated and Alert Updated, a trigger process per case (state files, changes made
  before and after its start, the events and logs waited for).
A new category needs a runner that fills an `Outcome` with everything readable (error, results, logs, files,
requests other hosts received) and calls `assert_clean` and its expectation.
"""

import base64
import functools
import json
import re
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote, quote_plus

import pytest
from aiohttp import web

from lab.doubles.server import BackgroundServer
from tests.support import SECRETS

MAX_LINE = 4096  # an error or log line larger than this is a failure: huge inputs must not come back whole
PARTS = ("data", "xsoar", "security")


@dataclass(frozen=True)
class Case:
    """One hostile input and the outcome it must have."""

    id: str
    given: dict[str, Any] = field(default_factory=dict)
    error: str | None = None  # regex the error must match; None: the block must succeed
    check: Callable[["Outcome"], None] | None = None
    xfail: str | None = None  # "<part> <short reason>" while another branch fixes it
    canaries: tuple[str, ...] = ()  # secret values of this case besides the shared ones


def params(cases: Iterable[Case]) -> list:
    """pytest parameters: one per case, strict xfail when the case awaits a fix; ids must be unique."""
    rows, seen = [], set()
    for case in cases:
        assert case.id not in seen, f"duplicate case id {case.id}"
        seen.add(case.id)
        marks = []
        if case.xfail:
            assert case.xfail.split()[0] in PARTS, f"{case.id}: xfail must start with one of {PARTS}"
            marks.append(pytest.mark.xfail(strict=True, reason=case.xfail))
        rows.append(pytest.param(case, id=case.id, marks=marks))
    return rows


# -- canaries ---------------------------------------------------------------------------------------------------


def _base64_cores(value: bytes) -> set[str]:
    """Base64 text that appears whenever `value` is base64-encoded inside anything, at any of the 3 offsets."""
    cores = set()
    for pad in range(3):
        for encode in (base64.b64encode, base64.urlsafe_b64encode):
            encoded = encode(b"\0" * pad + value).decode()
            core = encoded[4:-4]
            if len(core) >= 8:
                cores.add(core)
    return cores


def canary_forms(secret: str) -> set[str]:
    """What a secret looks like once printed, quoted, escaped, URL-encoded or base64-encoded."""
    raw = secret.encode("utf-8", "surrogatepass")
    forms = {
        secret,
        quote(secret, safe=""),
        quote_plus(secret),
        json.dumps(secret)[1:-1],
        json.dumps(secret, ensure_ascii=False)[1:-1],
        repr(secret)[1:-1],
        base64.b64encode(raw).decode().rstrip("="),
    }
    forms |= _base64_cores(raw)
    stripped = secret.strip()
    if stripped and stripped != secret:
        forms |= canary_forms(stripped)
    return {form for form in forms if len(form) >= 6}


@functools.cache
def shared_canaries() -> frozenset[str]:
    """The suite's secrets, and the credentials XSOAR sees built from them."""
    from tests.support import XSOAR_PASSWORD, XSOAR_TOKEN

    forms: set[str] = set()
    for secret in SECRETS:
        forms |= canary_forms(secret)
    forms |= _base64_cores(f"Bearer {XSOAR_TOKEN}".encode())
    forms |= _base64_cores(f"sekoia:{XSOAR_PASSWORD}".encode())
    return frozenset(forms)


# -- what a case produced ---------------------------------------------------------------------------------------


@dataclass
class Outcome:
    """Everything a case produced that someone could read, by where it was found."""

    error: str | None = None
    results: Any = None
    logs: list[str] = field(default_factory=list)  # one entry per log line
    visible: dict[str, str] = field(default_factory=dict)  # other texts anyone could read (output, files)
    foreign: list[str] = field(default_factory=list)  # requests a host other than the intended one received
    extra: dict[str, Any] = field(default_factory=dict)  # anything a case's check wants (requests, events)

    def texts(self) -> dict[str, str]:
        found = {"error": self.error or "", "results": json.dumps(self.results, default=str)}
        found |= {f"log {n}": line for n, line in enumerate(self.logs)}
        found |= self.visible
        found |= {f"foreign request {n}": text for n, text in enumerate(self.foreign)}
        return found


def data_files(root: Path) -> dict[str, str]:
    """Every file under `root`, as text (undecodable bytes replaced)."""
    if not root.exists():
        return {}
    return {
        f"file {path.relative_to(root)}": path.read_bytes().decode("utf-8", "replace")
        for path in sorted(root.rglob("*"))
        if path.is_file()
    }


LARGE = 1024 * 1024


def _leak(text: str, canaries: frozenset[str]) -> str | None:
    return next((canary for canary in canaries if canary in text), None)


# Cases sharing a session read the same large files: each is searched once per canary set, not once per case.
_leak_in_large = functools.lru_cache(maxsize=8)(_leak)


def assert_clean(outcome: Outcome, case: Case) -> None:
    """No canary anywhere; errors and log lines bounded."""
    canaries = shared_canaries().union(*(canary_forms(secret) for secret in case.canaries))
    for where, text in outcome.texts().items():
        leaked = _leak_in_large(text, canaries) if len(text) > LARGE else _leak(text, canaries)
        assert leaked is None, f"a secret leaked in {where} (as {leaked[:4]}...)"
    assert outcome.error is None or len(outcome.error) <= MAX_LINE, f"error of {len(outcome.error)} characters"
    long_lines = [len(line) for line in outcome.logs if len(line) > MAX_LINE]
    assert not long_lines, f"log lines of {long_lines} characters"


def assert_expected(outcome: Outcome, case: Case) -> None:
    """The case's own expectation: the error it must name, or success; then its check."""
    if case.error is None:
        assert outcome.error is None, f"expected success, got: {(outcome.error or '')[:600]}"
    else:
        assert outcome.error, f"expected an error matching {case.error!r}, the block succeeded"
        assert "Traceback" not in outcome.error, f"a stack trace: {outcome.error[-600:]}"
        assert re.search(
            case.error, outcome.error, re.IGNORECASE | re.DOTALL
        ), f"error does not match {case.error!r}: {outcome.error[:600]}"
    if case.check is not None:
        case.check(outcome)


# -- hosts ------------------------------------------------------------------------------------------------------


@dataclass
class Answer:
    status: int = 200
    body: str | bytes = "{}"
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str = "application/json"


class RecordingHost:
    """An HTTP host on 127.0.0.1 that records every request and answers scripted answers, then a default one.

    As the "foreign host", it stands for any host that must never receive a credential; as a stub, it answers what
    no fault plan can (redirects, echoed headers).
    """

    def __init__(self, name: str, default: Answer | None = None):
        self.default = default or Answer()
        self.requests: list[str] = []
        self._answers: list[Answer] = []
        self._lock = threading.Lock()
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._server = BackgroundServer(app, name=name)

    @property
    def url(self) -> str:
        return self._server.url

    def script(self, *answers: Answer) -> None:
        with self._lock:
            self._answers.extend(answers)

    def reset(self) -> None:
        with self._lock:
            self._answers.clear()
            self.requests.clear()

    async def _handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        headers = "\n".join(f"{name}: {value}" for name, value in request.headers.items())
        with self._lock:
            self.requests.append(f"{request.method} {request.path_qs}\n{headers}\n\n{body.decode('utf-8', 'replace')}")
            answer = self._answers.pop(0) if self._answers else self.default
        body_bytes = answer.body.encode() if isinstance(answer.body, str) else answer.body
        return web.Response(
            status=answer.status, body=body_bytes, headers=answer.headers, content_type=answer.content_type
        )

    def __enter__(self) -> "RecordingHost":
        self._server.start()
        return self

    def __exit__(self, *_: Any) -> None:
        self._server.stop()


def resolve(value: Any, env: Any) -> Any:
    """A case value, or the value a callable builds from the environment (URLs known only at run time)."""
    return value(env) if callable(value) else value


def in_turn(*calls: Callable[[Any], None]) -> Callable[[Any], None]:
    """One callable calling each of `calls` in turn with its argument: a case's setup steps, or its checks."""

    def call(argument: Any) -> None:
        for each in calls:
            each(argument)

    return call
