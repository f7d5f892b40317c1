"""Hostile inputs of `python -m lab`: unreadable, missing, odd files, traversal arguments, loose environment values.

Commands run in process through typer's CliRunner (the CLI's own code path); `lab run` is only given inputs that stop
it before it starts listening. Settings read from the environment are checked through `load_settings`, what `run`
calls, since a correct configuration would start a run that waits for alerts.
"""

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from lab.__main__ import app
from lab.tools.settings import SettingsError, load_settings
from tests.hostile.harness import Case, Outcome, assert_clean, params
from tests.support import SEKOIA_KEY, XSOAR_TOKEN

ROOT = Path(__file__).resolve().parents[2]
DOCS_TEMPLATE = json.loads(
    (ROOT / "tests" / "fixtures" / "docs_template_create_incident_on_cortex_xsoar.json").read_text()
)
SHIPPED = json.loads((ROOT / "playbooks" / "create_incident_on_cortex_xsoar.json").read_text())
NON_UTF8 = b'{"name": "caf\xe9", "nodes": {}}'
GOOD_ENV = {
    "XSOAR_MODULE_API_KEY": SEKOIA_KEY,
    "XSOAR_MODULE_XSOAR_URL": "https://xsoar.example.com/instance/execute/sekoia",
    "XSOAR_MODULE_XSOAR_TOKEN": XSOAR_TOKEN,
}


def file(name: str, content: bytes | str | Any) -> Callable[[Path], None]:
    """Write an input file (bytes as is, text, or JSON of anything else)."""

    def write(root: Path) -> None:
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        elif isinstance(content, str):
            path.write_text(content)
        else:
            path.write_text(json.dumps(content))

    return write


def directory(name: str) -> Callable[[Path], None]:
    return lambda root: (root / name).mkdir(parents=True, exist_ok=True)


def with_create_incident_argument(name: str, value: Any) -> dict:
    playbook = json.loads(json.dumps(SHIPPED))
    for node in playbook["nodes"].values():
        if node.get("name") == "Create Incident" or "Create Incident" in str(node.get("name")):
            node["arguments"] = {**(node.get("arguments") or {}), name: value}
    return playbook


def docs_template_with(url: str, token: str) -> dict:
    playbook = json.loads(json.dumps(DOCS_TEMPLATE))
    node = playbook["nodes"]["3"]
    node["arguments"] = {**node["arguments"], "url": url, "headers": {"Authorization": f"Bearer {token}"}}
    return playbook


PLAYBOOK_PROBLEM = r"playbook\.json"
CASES = [
    Case(
        "check-non-utf8",
        {"args": ["check", "playbook.json"], "files": [file("playbook.json", NON_UTF8)]},
        error=PLAYBOOK_PROBLEM,
    ),
    Case(
        "check-binary",
        {"args": ["check", "playbook.json"], "files": [file("playbook.json", bytes(range(256)))]},
        error=PLAYBOOK_PROBLEM,
    ),
    Case("check-missing", {"args": ["check", "nowhere.json"]}, error=r"nowhere\.json"),
    Case("check-directory", {"args": ["check", "folder"], "files": [directory("folder")]}, error=r"folder"),
    Case(
        "check-empty",
        {"args": ["check", "playbook.json"], "files": [file("playbook.json", "")]},
        error=PLAYBOOK_PROBLEM,
    ),
    Case(
        "check-invalid-json",
        {"args": ["check", "playbook.json"], "files": [file("playbook.json", "{nope")]},
        error=PLAYBOOK_PROBLEM,
    ),
    Case(
        "check-json-list",
        {"args": ["check", "playbook.json"], "files": [file("playbook.json", [1, 2])]},
        error=r"object|playbook",
    ),
    Case(
        "check-deep-nesting",
        {"args": ["check", "playbook.json"], "files": [file("playbook.json", "[" * 100_000)]},
        error=PLAYBOOK_PROBLEM,
    ),
    Case(
        "check-alert_path-traversal",
        {
            "args": ["check", "playbook.json"],
            "files": [file("playbook.json", with_create_incident_argument("alert_path", "../../etc/passwd"))],
        },
        error=r"alert_path",
    ),
    Case(
        "check-events_path-absolute",
        {
            "args": ["check", "playbook.json"],
            "files": [file("playbook.json", with_create_incident_argument("events_path", "/etc/shadow"))],
        },
        error=r"events_path",
    ),
    Case(
        "check-shipped-playbook", {"args": ["check", str(ROOT / "playbooks" / "create_incident_on_cortex_xsoar.json")]}
    ),
    Case(
        "migrate-non-utf8",
        {"args": ["migrate", "old.json", "new.json"], "files": [file("old.json", NON_UTF8)]},
        error=r"old\.json",
    ),
    Case("migrate-missing", {"args": ["migrate", "old.json", "new.json"]}, error=r"old\.json"),
    Case(
        "migrate-target-is-a-directory",
        {"args": ["migrate", "old.json", "folder"], "files": [file("old.json", DOCS_TEMPLATE), directory("folder")]},
        error=r"folder|directory",
    ),
    Case(
        "migrate-target-in-a-missing-folder",
        {"args": ["migrate", "old.json", "no/such/new.json"], "files": [file("old.json", DOCS_TEMPLATE)]},
        error=r"new\.json|No such",
    ),
    Case(
        "migrate-token-in-the-headers",
        {
            "args": ["migrate", "old.json", "new.json"],
            "files": [file("old.json", docs_template_with("https://x.example.com/instance/execute/s", XSOAR_TOKEN))],
        },
    ),
    Case(
        "migrate-token-in-the-url",
        {
            "args": ["migrate", "old.json", "new.json"],
            "files": [
                file(
                    "old.json",
                    docs_template_with(f"https://x.example.com/instance/execute/s?token={XSOAR_TOKEN}", "x"),
                )
            ],
        },
    ),
    Case(
        "run-config-non-utf8",
        {
            "args": ["run", "playbook.json", "--config", "config.json"],
            "files": [file("config.json", b'{"api_key": "caf\xe9"}')],
        },
        error=r"config\.json",
    ),
    Case("run-config-missing", {"args": ["run", "playbook.json", "--config", "config.json"]}, error=r"config\.json"),
    Case(
        "run-config-directory",
        {"args": ["run", "playbook.json", "--config", "folder"], "files": [directory("folder")]},
        error=r"folder",
    ),
    Case(
        "run-config-json-list",
        {"args": ["run", "playbook.json", "--config", "config.json"], "files": [file("config.json", [1])]},
        error=r"JSON object",
    ),
    Case(
        "run-config-secrets-and-a-bad-url",
        {
            "args": ["run", "playbook.json", "--config", "config.json"],
            "files": [file("config.json", {"api_key": SEKOIA_KEY, "xsoar_token": XSOAR_TOKEN, "xsoar_url": "nope"})],
        },
        error=r"xsoar_url",
    ),
    Case(
        "run-playbook-non-utf8",
        {"args": ["run", "playbook.json"], "env": GOOD_ENV, "files": [file("playbook.json", NON_UTF8)]},
        error=PLAYBOOK_PROBLEM,
    ),
    Case("run-playbook-missing", {"args": ["run", "playbook.json"], "env": GOOD_ENV}, error=PLAYBOOK_PROBLEM),
    Case(
        "run-verify-certificate-typo",
        {"args": ["run", "playbook.json"], "env": GOOD_ENV | {"XSOAR_MODULE_VERIFY_CERTIFICATE": "ture"}},
        error=r"XSOAR_MODULE_VERIFY_CERTIFICATE",
    ),
    Case(
        "runs-corrupt-history",
        {"args": ["runs"], "files": [file("state/runs.sqlite3", b"not a database" * 100)]},
        error=r"runs\.sqlite3|history",
    ),
    Case("show-unknown-run", {"args": ["show", "424242"]}, error=r"424242"),
]


def verify(expected: Any) -> Callable[[Any], None]:
    def check(value: Any) -> None:
        assert value is expected, f"verify_certificate {value!r}, {expected!r} expected"

    return check


SETTINGS = [
    ("on", True, None),
    ("ON", True, None),
    ("", True, None),
    ("ture", SettingsError, None),
    ("off", False, None),
    ("TRUE", True, None),
    ("1", True, None),
    ("no", False, None),
]
SETTINGS_CASES = [
    Case(f"env-verify-certificate-{value or 'empty'}", {"value": value, "expected": expected}, xfail=xfail)
    for value, expected, xfail in SETTINGS
]


def run_cli(case: Case, root: Path, monkeypatch) -> Outcome:
    given = case.given
    for write in given.get("files", []):
        write(root)
    before = {path: path.stat().st_mtime_ns for path in root.rglob("*") if path.is_file()}
    monkeypatch.chdir(root)
    arguments = list(given["args"])
    if arguments[0] in ("run", "runs", "show"):
        arguments += ["--state", str(root / "state")]
    result = CliRunner().invoke(app, arguments, env=given.get("env"), catch_exceptions=True)
    written = {
        f"file {path.relative_to(root)}": path.read_bytes().decode("utf-8", "replace")
        for path in root.rglob("*")
        if path.is_file() and before.get(path) != path.stat().st_mtime_ns and path.suffix != ".sqlite3"
    }
    crashed = result.exception is not None and not isinstance(result.exception, SystemExit)
    error = None
    if result.exit_code != 0 or crashed:
        error = f"CRASHED: {type(result.exception).__name__}: {result.exception}" if crashed else result.output.strip()
    return Outcome(error=error, logs=result.output.splitlines(), visible=written)


@pytest.mark.parametrize("case", params(CASES))
def test_lab_commands(case, tmp_path, monkeypatch):
    for name in list(GOOD_ENV) + ["XSOAR_MODULE_VERIFY_CERTIFICATE"]:
        monkeypatch.delenv(name, raising=False)
    outcome = run_cli(case, tmp_path, monkeypatch)
    assert_clean(outcome, case)
    if case.error is None:
        assert outcome.error is None, outcome.error
        return
    assert outcome.error and not outcome.error.startswith("CRASHED"), outcome.error or "the command succeeded"
    assert "Traceback" not in outcome.error
    assert re.search(case.error, outcome.error, re.IGNORECASE), outcome.error[:600]


@pytest.mark.parametrize("case", params(SETTINGS_CASES))
def test_environment_booleans(case):
    environ = GOOD_ENV | {"XSOAR_MODULE_VERIFY_CERTIFICATE": case.given["value"]}
    expected = case.given["expected"]
    if expected is SettingsError:
        with pytest.raises(SettingsError, match="XSOAR_MODULE_VERIFY_CERTIFICATE"):
            load_settings(None, environ)
        return
    try:
        settings = load_settings(None, environ)
    except SettingsError as exc:  # refusing a doubtful value, naming the variable, is correct too
        assert "XSOAR_MODULE_VERIFY_CERTIFICATE" in str(exc)
        assert_clean(Outcome(error=str(exc)), case)
        return
    verify(expected)(settings["verify_certificate"])
