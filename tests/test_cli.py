"""`python -m lab` on files it cannot use: one clear line and a non-zero exit, never a traceback."""

from pathlib import Path

import pytest
from typer.testing import CliRunner

from lab.__main__ import app

NOT_UTF8 = b'{"name": "caf\xe9", "nodes": {}}'


@pytest.mark.parametrize(
    "command",
    [
        ["check", "{file}"],
        ["migrate", "{file}", "{out}"],
        ["run", "{file}"],
        ["run", "{ok}", "--config", "{file}"],
    ],
    ids=["check", "migrate", "run-playbook", "run-config"],
)
def test_a_file_that_is_not_utf8(tmp_path: Path, command: list[str]):
    broken = tmp_path / "broken.json"
    broken.write_bytes(NOT_UTF8)
    ok = tmp_path / "ok.json"
    ok.write_text("{}")
    places = {"file": broken, "out": tmp_path / "out.json", "ok": ok}
    environ = {"XSOAR_MODULE_API_KEY": "k-canary-1", "XSOAR_MODULE_XSOAR_URL": "https://x.example/hook"}
    result = CliRunner().invoke(app, [part.format(**places) for part in command], env=environ)
    assert result.exit_code == 1, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    lines = result.output.strip().splitlines()
    assert len(lines) <= 2 and "not UTF-8" in result.output and "Traceback" not in result.output
    assert "k-canary-1" not in result.output
