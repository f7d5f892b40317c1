"""The module image: `.dockerignore` lets in only what runs, and what it lets in is enough to run a block."""

from pathlib import Path

import pytest

from lab.doubles.symphony import Symphony
from lab.tools import image
from lab.tools.image import BUILD_FILES, ROOT, build_context
from tests.support import SEKOIA_KEY

SAMPLE_UUID = "5f3c9a1e-8d2b-4c7a-9e41-0b6d2f8a7c13"
DEV_JUNK = (
    ".venv/bin/python",
    ".venv/lib/python3.11/site-packages/requests/__init__.py",
    ".poetry/bin/poetry",
    ".xsoar-sdk/bin/demisto-sdk",
    ".state/runs.sqlite3",
    ".git/HEAD",
    ".pytest_cache/README.md",
    ".env",
    "lab/tools/demo.py",
    "tests/conftest.py",
    "benchmarks/blocks.py",
    "playbooks/create_incident_on_cortex_xsoar.json",
    "xsoar_content/pack_metadata.json",
    "xsoar_module/__pycache__/module.cpython-311.pyc",
    "xsoar_module/actions/__pycache__/base.cpython-311.pyc",
    "README.md",
    "Makefile",
)


def runtime_files(root: Path) -> set[str]:
    """What the platform runs: main.py, the manifests (the SDK reads manifest.json), the dependency lock files and
    the module's sources."""
    files = {"main.py", "manifest.json", "pyproject.toml", "poetry.lock"}
    files |= {path.name for pattern in ("action_*.json", "trigger_*.json") for path in root.glob(pattern)}
    files |= {str(path.relative_to(root)) for path in (root / "xsoar_module").rglob("*.py")}
    return files


def test_the_build_context_of_this_working_copy_holds_only_the_module():
    context = build_context(ROOT) - BUILD_FILES
    assert context == runtime_files(ROOT), sorted(context ^ runtime_files(ROOT))


def test_dev_folders_virtualenvs_and_caches_never_enter_the_image(tmp_path):
    for name in sorted(runtime_files(ROOT)):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("")
    for junk in DEV_JUNK:
        (tmp_path / junk).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / junk).write_text("")
    context = build_context(tmp_path) - BUILD_FILES
    assert not set(DEV_JUNK) & context
    assert context == runtime_files(tmp_path)


@pytest.fixture
def image_app(tmp_path) -> Path:
    """The image's /app: the build context, compiled as the Dockerfile does."""
    return image.image_app(tmp_path / "app")


def snapshot(folder: Path) -> dict[str, int]:
    return {str(path.relative_to(folder)): path.stat().st_mtime_ns for path in folder.rglob("*") if path.is_file()}


def test_a_block_runs_from_the_image_content_alone_and_writes_nothing_there(image_app, sekoia, data_path):
    """The runtime user cannot write /app: the block must find all it needs, bytecode included, already there."""
    config = {"base_url": sekoia.url, "api_key": SEKOIA_KEY, "xsoar_url": "http://127.0.0.1:9/unused"}
    before = snapshot(image_app)
    with Symphony(module_dir=image_app) as symphony:
        run = symphony.run_action("GetAlert", config, {"uuid": SAMPLE_UUID}, data_path=data_path)
    assert run.error is None, run.stderr
    assert run.results["uuid"] == SAMPLE_UUID
    assert snapshot(image_app) == before
