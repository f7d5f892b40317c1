"""The conventions Sekoia.io's module library checks (SEKOIA.md §6), so the module can be imported there."""

import ast
import json
import re
import subprocess
from pathlib import Path

import pytest
from jsonschema import Draft7Validator

from xsoar_module.version import MODULE_VERSION

ROOT = Path(__file__).resolve().parent.parent
CATEGORIES = {
    "Applicative",
    "Cloud Providers",
    "Collaboration Tools",
    "Email",
    "Endpoint",
    "Generic",
    "IAM",
    "Network",
    "Threat Intelligence",
}
SEMVER = re.compile(r"^\d+\.\d+\.\d+$")
ITEM_FILES = sorted([*ROOT.glob("action_*.json"), *ROOT.glob("trigger_*.json")])


def load(path: Path) -> dict:
    return json.loads(path.read_text())


def tracked_json_files() -> list[str]:
    listed = subprocess.run(["git", "ls-files", "*.json"], cwd=ROOT, capture_output=True, text=True, check=True)
    untracked = subprocess.run(
        ["git", "ls-files", "--others", "--exclude-standard", "*.json"], cwd=ROOT, capture_output=True, text=True
    )
    return sorted(set(listed.stdout.split()) | set(untracked.stdout.split()))


def test_manifest_fields():
    manifest = load(ROOT / "manifest.json")
    assert manifest["name"] == "Cortex XSOAR"
    assert re.fullmatch(r"^[a-z]([a-z_.\-]|\d)*$", manifest["slug"])
    assert SEMVER.match(manifest["version"])
    assert manifest["categories"] and set(manifest["categories"]) <= CATEGORIES
    configuration = manifest["configuration"]
    Draft7Validator.check_schema(configuration)
    assert set(configuration["secrets"]) == {"api_key", "xsoar_token", "xsoar_password", "xsoar_api_key"}
    assert set(configuration["secrets"]) <= set(configuration["properties"])


@pytest.mark.parametrize("path", ITEM_FILES, ids=lambda p: p.name)
def test_item_manifest_fields(path: Path):
    item = load(path)
    for key in ("name", "uuid", "description", "docker_parameters"):
        assert isinstance(item[key], str) and item[key], key
    Draft7Validator.check_schema(item["arguments"])
    Draft7Validator.check_schema(item["results"])


def test_item_uuids_and_docker_parameters_are_unique():
    items = [load(path) for path in ITEM_FILES]
    assert len({item["uuid"] for item in items}) == len(items)
    assert len({item["docker_parameters"] for item in items}) == len(items)
    assert {"Get Alert", "Get Events", "Create Incident"} <= {item["name"] for item in items}


def test_main_registers_exactly_the_manifests_items():
    tree = ast.parse((ROOT / "main.py").read_text())
    registered = {
        node.args[1].value
        for node in ast.walk(tree)
        if isinstance(node, ast.Call) and getattr(node.func, "attr", "") == "register"
    }
    assert registered == {load(path)["docker_parameters"] for path in ITEM_FILES}


def test_every_json_file_is_formatted_as_the_library_lints_it():
    files = tracked_json_files()
    assert "manifest.json" in files
    for name in files:
        text = (ROOT / name).read_text()
        assert text == json.dumps(json.loads(text), indent=2), f"{name} is not json.dumps(obj, indent=2)"


def test_changelog_follows_keep_a_changelog_and_matches_the_version():
    lines = (ROOT / "CHANGELOG.md").read_text().splitlines()
    assert lines.count("# Changelog") == 1 and lines[0] == "# Changelog"
    text = "\n".join(lines)
    assert "All notable changes to this project will be documented in this file." in text
    assert "The format is based on [Keep a Changelog]" in text
    releases = [line for line in lines if line.startswith("## ")]
    dated = [line for line in releases if line != "## Unreleased"]
    assert all(re.fullmatch(r"## \d{4}-\d{2}-\d{2} - \d+\.\d+\.\d+", line) for line in dated), dated
    assert dated == sorted(
        dated, key=lambda line: tuple(int(n) for n in line.split(" - ")[1].split(".")), reverse=True
    )
    sections = {line for line in lines if line.startswith("### ")}
    assert sections <= {f"### {name}" for name in ("Added", "Changed", "Deprecated", "Removed", "Fixed", "Security")}
    newest = dated[0].split(" - ")[1]
    assert newest == load(ROOT / "manifest.json")["version"] == MODULE_VERSION


def test_module_files_exist():
    for name in ("main.py", "Dockerfile", "pyproject.toml", "poetry.lock", "README.md", "CHANGELOG.md"):
        assert (ROOT / name).is_file(), name
    logo_svg, logo_png = ROOT / "logo.svg", ROOT / "logo.png"
    assert logo_svg.is_file() or (logo_png.is_file() and logo_png.stat().st_size <= 50 * 1024)
    assert list((ROOT / "tests").glob("test_*.py"))
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert "FROM python:3.11" in dockerfile and "sekoiaio-runtime" in dockerfile
    assert 'ENTRYPOINT [ "python", "./main.py" ]' in dockerfile


def test_module_code_never_imports_the_local_tooling():
    for path in (ROOT / "xsoar_module").rglob("*.py"):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            names = [alias.name for alias in node.names] if isinstance(node, ast.Import) else []
            if isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            assert not any(name == "lab" or name.startswith("lab.") for name in names), path
