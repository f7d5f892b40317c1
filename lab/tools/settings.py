"""The module configuration for local runs against real endpoints: a JSON file, then environment variables."""

import json
import os
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from xsoar_module.configuration import ModuleConfiguration
from xsoar_module.errors import describe_validation_error
from xsoar_module.secrets import SecretMasker, secret_fields

ENV_PREFIX = "XSOAR_MODULE_"
TRUE_WORDS = frozenset({"true", "1", "yes", "on"})
FALSE_WORDS = frozenset({"false", "0", "no", "off"})


class SettingsError(Exception):
    """A configuration value is missing or wrong: the message names it and where it came from."""


def environment_settings(environ: dict[str, str] | None = None) -> dict[str, Any]:
    """`XSOAR_MODULE_<FIELD>` variables, e.g. XSOAR_MODULE_API_KEY, XSOAR_MODULE_XSOAR_URL."""
    environ = dict(os.environ) if environ is None else environ
    settings: dict[str, Any] = {}
    for name in ModuleConfiguration.model_fields:
        variable = f"{ENV_PREFIX}{name.upper()}"
        value = environ.get(variable)
        if value is not None:
            is_flag = ModuleConfiguration.model_fields[name].annotation is bool
            settings[name] = parse_flag(variable, value) if is_flag else value
    return settings


def parse_flag(variable: str, value: str) -> bool:
    """true/false, 1/0, yes/no, on/off (any case); anything else is an error, never a silent `false`."""
    word = value.strip().lower()
    if word in TRUE_WORDS or word in FALSE_WORDS:
        return word in TRUE_WORDS
    raise SettingsError(f"{variable} must be true or false (or 1/0, yes/no, on/off), not {value[:40]!r}")


def load_settings(path: Path | None, environ: dict[str, str] | None = None) -> dict[str, Any]:
    """The module configuration from `path` (JSON object) overridden by the environment, checked."""
    settings: dict[str, Any] = {}
    if path is not None:
        try:
            settings = json.loads(path.read_bytes().decode("utf-8"))
        except OSError as exc:
            raise SettingsError(f"{path}: cannot be read ({exc.strerror})") from None
        except UnicodeDecodeError:
            raise SettingsError(f"{path}: not UTF-8 text: save the configuration as UTF-8 JSON") from None
        except json.JSONDecodeError as exc:
            raise SettingsError(f"{path}: cannot read a JSON object ({exc})") from None
        if not isinstance(settings, dict):
            raise SettingsError(f"{path}: the configuration must be a JSON object")
    settings |= environment_settings(environ)
    try:
        config = ModuleConfiguration.model_validate(settings)
        config.require_api_key()
        config.check_xsoar_credentials()
    except ValidationError as exc:
        where = f"{path} or {ENV_PREFIX}* variables" if path else f"{ENV_PREFIX}* variables"
        raise SettingsError(f"{describe_validation_error(exc, 'module configuration')} (from {where})") from None
    except Exception as exc:
        raise SettingsError(str(exc)) from None
    return settings


def secret_values(settings: dict[str, Any]) -> list[str]:
    """Every form of the secrets of checked settings (the module's masker: trimmed, escaped, URL-encoded, base64)."""
    raw = [settings[name] for name in secret_fields(ModuleConfiguration) if settings.get(name)]
    return list(SecretMasker.of(ModuleConfiguration.model_validate(settings), extra=raw).values)
