"""Committed manifests and main.py are exactly what the SDK's generator makes from the code."""

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
GENERATED = ["manifest.json", "main.py"]


@pytest.mark.long
def test_generated_files_match_the_committed_ones(tmp_path: Path):
    copy = tmp_path / "module"
    shutil.copytree(ROOT, copy, ignore=shutil.ignore_patterns(".venv", ".poetry", ".git", "__pycache__", ".state"))
    cli = Path(sys.executable).parent / "sekoia-automation"
    subprocess.run([str(cli), "generate-files-from-code", str(copy)], check=True, capture_output=True, cwd=copy)
    items = sorted(p.name for p in [*copy.glob("action_*.json"), *copy.glob("trigger_*.json")])
    assert items == sorted(p.name for p in [*ROOT.glob("action_*.json"), *ROOT.glob("trigger_*.json")])
    for name in [*GENERATED, *items]:
        generated, committed = (copy / name).read_text(), (ROOT / name).read_text()
        if name == "main.py":  # the generator writes classes in set order: compare the lines
            assert sorted(generated.splitlines()) == sorted(committed.splitlines()), name
        else:
            assert json.loads(generated) == json.loads(committed), f"{name} differs from the code: run make manifests"
            assert generated == committed, name
