"""An action's process loads what the action needs, not the trigger's libraries.

`main.py` (generated) imports every item in every block's process: the trigger's module must stay light at import
and load the LiveAPI client, websockets and its feed only when the trigger runs.
"""

import gc
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
MAIN = (ROOT / "main.py").read_text()
TRIGGER_ONLY = (
    "websockets",
    "xsoar_module.clients.liveapi",
    "xsoar_module.triggers.core.session",
    "xsoar_module.triggers.alerts",
    "xsoar_module.triggers.alert_updates",
    "xsoar_module.triggers.core.intake",
)
# What main.py may load: the items, their base classes, models and configuration, and the sync's status vocabulary
# (the sync actions' arguments validate with it); clients, mapping, timing, checkpoints and masking load at run time
IMPORTED_BY_MAIN = {
    "xsoar_module",
    "xsoar_module.quoting",
    "xsoar_module.configuration",
    "xsoar_module.errors",
    "xsoar_module.module",
    "xsoar_module.mapping",
    "xsoar_module.sync",
    "xsoar_module.sync.rules",
    "xsoar_module.sync.times",
    "xsoar_module.models",
    "xsoar_module.actions",
    "xsoar_module.actions.base",
    "xsoar_module.triggers",
    "xsoar_module.triggers.alert_filters",
    "xsoar_module.triggers.core",
    "xsoar_module.triggers.core.base",
    "xsoar_module.triggers.core.emitter",
    "xsoar_module.triggers.core.live_trigger",
}
SAMPLE_UUID = "5f3c9a1e-8d2b-4c7a-9e41-0b6d2f8a7c13"  # lab/samples/alert.json, served by the Sekoia.io simulator
# Written at the exit of every interpreter that finds it on PYTHONPATH: the modules that process loaded
MODULES_HOOK = """
import atexit, json, os, sys
atexit.register(lambda: open(os.environ["MODULES_DUMP"], "w").write(json.dumps(sorted(sys.modules))))
"""


def trigger_only(modules: list[str]) -> list[str]:
    return sorted(name for name in modules if name.split(".")[0] == "websockets" or name in TRIGGER_ONLY)


def test_importing_main_loads_no_trigger_library():
    modules = modules_of_main()
    assert "xsoar_module.triggers.alert_created" in modules
    assert trigger_only(modules) == []


def test_importing_main_loads_the_items_and_their_models_only():
    """Every block's process imports every item: what an item needs only when it runs (clients, mapping, the
    triggers' machinery and timings, the secret masker) loads then, so that a cold start costs about the SDK's."""
    items = set(re.findall(r"^from (xsoar_module\.(?:actions|triggers)\.\w+) import", MAIN, re.MULTILINE))
    modules = {name for name in modules_of_main() if name.split(".")[0] == "xsoar_module"}
    assert len(items) == 8 and items <= modules
    assert sorted(modules - items - IMPORTED_BY_MAIN) == sorted(name for name in modules if ".models." in name)


def modules_of_main() -> list[str]:
    code = "import json, sys; import main; print(json.dumps(sorted(sys.modules)))"
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    return json.loads(done.stdout)


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


# Written at the exit of a block's process: whether the collector ran again and what it was kept off
GC_HOOK = """
import atexit, gc, json, os
atexit.register(
    lambda: open(os.environ["GC_DUMP"], "w").write(
        json.dumps({"enabled": gc.isenabled(), "frozen": gc.get_freeze_count()})
    )
)
"""


def test_a_block_process_imports_without_the_garbage_collector_then_resumes_it(
    symphony, xsoar, data_path, tmp_path, monkeypatch
):
    """The collector is paused for main.py's imports (started as `python main.py <block>`) and runs again, over what
    the block allocates, once the module is built; a process importing the module otherwise keeps it as it was."""
    import xsoar_module

    assert gc.isenabled() and not xsoar_module.GC_PAUSED_FOR_IMPORTS  # pytest's process: untouched
    (tmp_path / "hook").mkdir()
    (tmp_path / "hook" / "sitecustomize.py").write_text(GC_HOOK)
    monkeypatch.setenv("PYTHONPATH", str(tmp_path / "hook"))
    monkeypatch.setenv("GC_DUMP", str(tmp_path / "gc.json"))
    config = {"base_url": "http://127.0.0.1:9", "api_key": "unused", "xsoar_url": xsoar.webhook_url}
    alert = json.loads((ROOT / "lab" / "samples" / "alert.json").read_text())
    run = symphony.run_action(
        "CreateIncident", config | {"xsoar_token": xsoar.webhook_token}, {"alert": alert}, data_path=data_path
    )
    assert run.error is None, run.stderr
    state = json.loads((tmp_path / "gc.json").read_text())
    assert state["enabled"] is True
    assert state["frozen"] > 10_000  # the imported objects, out of the collector's reach
