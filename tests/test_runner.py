"""The shipped playbooks run end to end through the runner (trigger -> incident), with the run history."""

import json
import os
import re
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from lab.__main__ import app
from lab.doubles.faults import Fault
from lab.tools.chain import DemoOptions, running_chain
from tests.support import FIXTURES, ROOT, SEKOIA_KEY, XSOAR_TOKEN, until

TWO_BLOCKS = ROOT / "playbooks" / "create_incident_on_cortex_xsoar_two_blocks.json"
DOCS_TEMPLATE = FIXTURES / "docs_template_create_incident_on_cortex_xsoar.json"


def settle(runner, count: int) -> list:
    until(lambda: len([r for r in runner.history.recent_runs(100) if r.status != "running"]) >= count, 30)
    assert runner.wait_idle(30)
    return runner.history.recent_runs(100)


@pytest.mark.parametrize("mode", ["webhook", "api"])
def test_the_shipped_template_creates_one_incident_per_alert(tmp_path: Path, mode: str):
    options = DemoOptions(mode=mode, state=tmp_path)
    with running_chain(options) as (sekoia, xsoar, runner):
        alerts = [sekoia.add_alert(events=n, urgency={"current_value": v}) for n, v in ((2, 10), (1, 50), (14, 90))]
        runs = settle(runner, 3)
        incidents = {incident["alertId"]: incident for incident in xsoar.summary()}
    assert sorted(incidents) == sorted(alert["short_id"] for alert in alerts)
    assert [incidents[a["short_id"]]["severity"] for a in alerts] == [1, 3, 4]
    assert [incidents[a["short_id"]]["events"] for a in alerts] == [2, 1, 10]
    assert all(run.status == "succeeded" for run in runs)
    assert all([block.node_id for block in run.blocks] == ["1", "2", "3"] for run in runs)
    create = next(block for block in runs[0].blocks if block.node_id == "3")
    assert create.results["mode"] == mode and create.results["deduplicated"] is False
    assert "incident" in create.logs


SHIPPED = ROOT / "playbooks" / "create_incident_on_cortex_xsoar.json"


def with_latest_time(tmp_path: Path, latest_time: str) -> Path:
    """The shipped template with another end of the events window in Get Events."""
    document = json.loads(SHIPPED.read_text())
    document["nodes"]["2"]["arguments"]["latest_time"] = latest_time
    path = tmp_path / "playbook.json"
    path.write_text(json.dumps(document, indent=2))
    return path


@pytest.mark.parametrize(
    "latest_time",
    [None, "{{ node.1.last_seen_at }}", "{{ node.1.last_seen_at or '' }}", "{{ node.1.last_seen_at }}{{ '' }}"],
    ids=["shipped", "null", "empty", "None-text"],
)
def test_the_events_of_alerts_without_last_seen_at_reach_the_incident(tmp_path: Path, latest_time: str | None):
    playbook = SHIPPED if latest_time is None else with_latest_time(tmp_path, latest_time)
    with running_chain(DemoOptions(state=tmp_path, playbook=playbook)) as (sekoia, xsoar, runner):
        alerts = [
            sekoia.add_alert(events=3, last_seen_at=None),
            sekoia.add_alert(events=2, last_seen_at=None, first_seen_at=None),
            sekoia.add_alert(events=4),
        ]
        runs = settle(runner, 3)
        incidents = {incident["alertId"]: incident for incident in xsoar.summary()}
    assert all(run.status == "succeeded" for run in runs), [run.blocks for run in runs]
    assert [incidents[alert["short_id"]]["events"] for alert in alerts] == [3, 2, 4]


def test_the_two_block_template_reads_the_trigger_file_and_fetches_events(tmp_path: Path):
    options = DemoOptions(playbook=TWO_BLOCKS, state=tmp_path)
    with running_chain(options) as (sekoia, xsoar, runner):
        alert = sekoia.add_alert(events=4)
        [run] = settle(runner, 1)
        [incident] = xsoar.summary()
    assert run.status == "succeeded" and [b.node_id for b in run.blocks] == ["1"]
    assert run.blocks[0].arguments["alert_path"].endswith("alert.json")
    assert incident["alertId"] == alert["short_id"] and incident["events"] == 4


@pytest.mark.long
def test_blocks_can_run_as_processes(tmp_path: Path):
    with running_chain(DemoOptions(in_process=False, state=tmp_path)) as (sekoia, xsoar, runner):
        sekoia.add_alert(events=1)
        [run] = settle(runner, 1)
    assert run.status == "succeeded" and len(xsoar.incidents) == 1


def test_a_failing_block_fails_its_run_and_the_others_go_on(tmp_path: Path):
    with running_chain(DemoOptions(state=tmp_path)) as (sekoia, xsoar, runner):
        xsoar.faults.script(Fault(status=401, body="Authorization failed."), method="POST")
        sekoia.add_alert()
        [failed] = settle(runner, 1)
        sekoia.add_alert()
        runs = settle(runner, 2)
        secrets = [runner.module_configuration["api_key"], runner.module_configuration["xsoar_token"]]
        database = tmp_path / "runs.sqlite3"
    assert failed.status == "failed" and "node 3 (Create Incident)" in failed.error and "xsoar_token" in failed.error
    assert [block.status for block in failed.blocks] == ["succeeded", "succeeded", "failed"]
    assert runs[0].status == "succeeded" and len(xsoar.incidents) == 1
    dump = "\n".join(sqlite3.connect(database).iterdump())
    assert all(secret not in dump for secret in secrets)


def test_a_failing_expression_is_recorded_with_its_place(tmp_path: Path):
    document = json.loads(TWO_BLOCKS.read_text())
    document["nodes"]["1"]["arguments"]["name"] = "{{ node.0.rule.nonexistent.deeper }}"
    playbook = tmp_path / "broken.json"
    playbook.write_text(json.dumps(document))
    with running_chain(DemoOptions(playbook=playbook, state=tmp_path)) as (sekoia, xsoar, runner):
        sekoia.add_alert()
        [run] = settle(runner, 1)
    assert run.status == "failed" and "node 1" in run.error and "name" in run.error
    assert xsoar.incidents == []


def cli(*arguments: str, process: bool = False) -> subprocess.CompletedProcess:
    """`python -m lab ...`: in process, or as its own process where the entry point itself is under test."""
    if process:
        return subprocess.run(
            [sys.executable, "-m", "lab", *arguments], cwd=ROOT, capture_output=True, text=True, timeout=120
        )
    result = CliRunner().invoke(app, list(arguments))
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return subprocess.CompletedProcess(["lab", *arguments], result.exit_code, result.output, "")


def test_migrate_then_check_the_documentation_template(tmp_path: Path):
    target = tmp_path / "migrated.json"
    migrated = cli("migrate", str(DOCS_TEMPLATE), str(target))
    assert migrated.returncode == 0, migrated.stdout + migrated.stderr
    assert "xsoar_token" in migrated.stdout and "YOUR_XSOAR_TOKEN" not in target.read_text()
    checked = cli("check", str(target))
    assert checked.returncode == 0 and "no problem found" in checked.stdout


def test_check_reports_every_problem(tmp_path: Path):
    broken = tmp_path / "broken.json"
    broken.write_text('{"name": "x", "uuid": "not-a-uuid", "nodes": {}}')
    result = cli("check", str(broken))
    assert result.returncode == 1 and result.stdout.count("- ") >= 2


@pytest.mark.long
@pytest.mark.parametrize(("mode", "process"), [("webhook", True), ("api", False)], ids=["webhook-process", "api"])
def test_the_demo_command(tmp_path: Path, mode: str, process: bool):
    result = cli("demo", "--alerts", "3", "--mode", mode, "--state", str(tmp_path), process=process)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "3 run(s) finished (0 failed), 3 incident(s) in XSOAR" in result.stdout
    without_last_seen = re.search(
        r"(\d+) alert\(s\) with events but no last_seen_at, (\d+) of their incidents with events", result.stdout
    )
    assert without_last_seen and int(without_last_seen[1]) >= 1 and without_last_seen[1] == without_last_seen[2]
    assert (
        "sync round: 5 change(s) (4 made as a person, 1 by Sekoia.io's dynamic urgency), 5 crossed, 5 sync run(s) "
        "(0 failed), 0 echo(es)"
    ) in result.stdout
    assert re.search(r"urgency 25 -> 88 with 2 more events -> incident \d+ severity 2 -> 4", result.stdout)
    assert "Both sides after the sync round" in result.stdout and "False Positive" in result.stdout
    listed = cli("runs", "--state", str(tmp_path))
    assert listed.stdout.count("succeeded") >= 3
    shown = cli("show", "1", "--state", str(tmp_path))
    assert "node 3: Create Incident" in shown.stdout


def test_unknown_run_and_bad_mode_are_clear(tmp_path: Path):
    assert "no run 42" in cli("show", "42", "--state", str(tmp_path)).stdout.lower()
    assert "--mode must be webhook or api" in cli("demo", "--mode", "email", "--state", str(tmp_path)).stdout


def test_run_against_endpoints_from_a_configuration_file(tmp_path: Path, sekoia, xsoar):
    """`python -m lab run` as a user would point it at real endpoints; here the simulators stand in for them."""
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"base_url": sekoia.url, "xsoar_url": xsoar.webhook_url}))
    secrets = {"XSOAR_MODULE_API_KEY": SEKOIA_KEY, "XSOAR_MODULE_XSOAR_TOKEN": XSOAR_TOKEN}
    command = [sys.executable, "-m", "lab", "run", str(TWO_BLOCKS), "--config", str(config), "--state", str(tmp_path)]
    output = tmp_path / "output.txt"
    with output.open("w") as sink:
        process = subprocess.Popen(command, cwd=ROOT, stdout=sink, stderr=subprocess.STDOUT, env=os.environ | secrets)
        try:
            sekoia.wait_for_clients(1, timeout=30)
            alert = sekoia.add_alert(events=2)
            until(lambda: "run 1: succeeded" in output.read_text(), 30)
        finally:
            process.terminate()
            process.wait(timeout=30)
    assert process.returncode == 0
    assert [incident["alertId"] for incident in xsoar.summary()] == [alert["short_id"]]
    assert SEKOIA_KEY not in output.read_text() and XSOAR_TOKEN not in output.read_text()


def test_run_names_a_missing_setting(tmp_path: Path):
    result = cli("run", str(TWO_BLOCKS), "--state", str(tmp_path))
    assert result.returncode == 1 and "xsoar_url: Field required" in result.stdout
