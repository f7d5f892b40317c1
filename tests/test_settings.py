"""Configuration of local runs against real endpoints: file, environment, clear errors, no secret printed."""

import base64
import json
from pathlib import Path

import pytest

from lab.tools.settings import SettingsError, load_settings, secret_values

BASE = {"api_key": "sekoia-canary-a1", "xsoar_url": "https://xsoar.example.com/instance/execute/sekoia"}


def test_file_then_environment(tmp_path: Path):
    path = tmp_path / "config.json"
    path.write_text(json.dumps(BASE | {"xsoar_token": "file-token-canary"}))
    settings = load_settings(
        path, {"XSOAR_MODULE_XSOAR_TOKEN": "env-token-canary", "XSOAR_MODULE_VERIFY_CERTIFICATE": "no"}
    )
    assert settings["xsoar_token"] == "env-token-canary" and settings["verify_certificate"] is False
    forms = secret_values(settings)
    assert {"sekoia-canary-a1", "env-token-canary"} <= set(forms) and "file-token-canary" not in forms
    assert any(form in base64.b64encode(b"Bearer env-token-canary").decode() for form in forms)


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        ({"XSOAR_MODULE_API_KEY": "sekoia-canary-a1"}, "xsoar_url: Field required"),
        ({"XSOAR_MODULE_XSOAR_URL": "https://x/instance/execute/s"}, "api_key is empty"),
        (
            {
                "XSOAR_MODULE_API_KEY": "sekoia-canary-a1",
                "XSOAR_MODULE_XSOAR_URL": "x",
                "XSOAR_MODULE_XSOAR_MODE": "api",
            },
            "xsoar_url",
        ),
    ],
)
def test_missing_or_wrong_values_are_named(environ, expected):
    with pytest.raises(SettingsError) as caught:
        load_settings(None, environ)
    assert expected in str(caught.value) and "sekoia-canary-a1" not in str(caught.value)


def test_unreadable_file(tmp_path: Path):
    path = tmp_path / "config.json"
    path.write_text("{not json")
    with pytest.raises(SettingsError, match="cannot read a JSON object"):
        load_settings(path, {})


@pytest.mark.parametrize(
    ("value", "expected"),
    [("true", True), ("ON", True), (" yes ", True), ("1", True), ("false", False), ("Off", False), ("no", False)],
)
def test_flags_are_parsed_strictly(value, expected):
    settings = load_settings(None, {**ENVIRON, "XSOAR_MODULE_VERIFY_CERTIFICATE": value})
    assert settings["verify_certificate"] is expected


@pytest.mark.parametrize("value", ["tru", "enabled", "", "2", "yes please"])
def test_an_unknown_flag_value_is_an_error_naming_the_variable(value):
    with pytest.raises(SettingsError, match="XSOAR_MODULE_VERIFY_CERTIFICATE must be true or false"):
        load_settings(None, {**ENVIRON, "XSOAR_MODULE_VERIFY_CERTIFICATE": value})


def test_a_configuration_file_that_is_not_utf8(tmp_path: Path):
    path = tmp_path / "config.json"
    path.write_bytes(b'{"api_key": "caf\xe9"}')
    with pytest.raises(SettingsError, match="not UTF-8 text"):
        load_settings(path, {})


ENVIRON = {"XSOAR_MODULE_API_KEY": "sekoia-canary-a1", "XSOAR_MODULE_XSOAR_URL": BASE["xsoar_url"]}
