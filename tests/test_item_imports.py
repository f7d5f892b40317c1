"""An action's process loads what the action needs, not the trigger's libraries.

`main.py` (generated) imports every item in every block's process: the trigger's module must stay light at import
and load the LiveAPI client, websockets and its feed only when the trigger runs.
"""

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
TRIGGER_ONLY = (
    "websockets",
    "xsoar_module.clients.liveapi",
    "xsoar_module.triggers.session",
    "xsoar_module.triggers.alerts",
    "xsoar_module.triggers.alert_updates",
    "xsoar_module.triggers.intake",
)
SAMPLE_UUID = "5f3c9a1e-8d2b-4c7a-9e41-0b6d2f8a7c13"  # lab/samples/alert.json, served by the Sekoia.io simulator
# Written at the exit of every interpreter that finds it on PYTHONPATH: the modules that process loaded
MODULES_HOOK = """
import atexit, json, os, sys
atexit.register(lambda: open(os.environ["MODULES_DUMP"], "w").write(json.dumps(sorted(sys.modules))))
"""


def trigger_only(modules: list[str]) -> list[str]:
    return sorted(name for name in modules if name.split(".")[0] == "websockets" or name in TRIGGER_ONLY)


def test_importing_main_loads_no_trigger_library():
    code = "import json, sys; import main; print(json.dumps(sorted(sys.modules)))"
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    modules = json.loads(done.stdout)
    assert "xsoar_module.triggers.alert_created" in modules
    assert trigger_only(modules) == []


@pytest.mark.parametrize(
    ("action", "arguments"),
    [
        ("GetAlert", {"uuid": SAMPLE_UUID}),
        ("GetEvents", {"query": 'alert_short_ids:"ALz7Qm3KpW2x"', "earliest_time": "-30d"}),
        ("CreateIncident", {"alert_uuid": SAMPLE_UUID, "fetch_events": True, "max_events": 2}),
    ],
)
def test_an_action_process_loads_no_trigger_library(
    action, arguments, symphony, sekoia, xsoar, data_path, tmp_path, monkeypatch
):
    (tmp_path / "hook").mkdir()
    (tmp_path / "hook" / "sitecustomize.py").write_text(MODULES_HOOK)
    monkeypatch.setenv("PYTHONPATH", str(tmp_path / "hook"))
    monkeypatch.setenv("MODULES_DUMP", str(tmp_path / "modules.json"))
    config = {
        "base_url": sekoia.url,
        "api_key": sekoia.api_key,
        "xsoar_url": xsoar.webhook_url,
        "xsoar_token": xsoar.webhook_token,
    }
    run = symphony.run_action(action, config, arguments, data_path=data_path)
    assert run.error is None, run.stderr
    assert run.results  # the action went through its clients
    modules = json.loads((tmp_path / "modules.json").read_text())
    assert "xsoar_module.clients.sekoia" in modules
    assert trigger_only(modules) == []
