"""The module: one configuration shared by the trigger and the actions."""

import contextlib
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ValidationError
from sekoia_automation.exceptions import ModuleConfigurationError
from sekoia_automation.module import Module

from xsoar_module import resume_gc
from xsoar_module.configuration import ModuleConfiguration
from xsoar_module.errors import ConfigurationError, describe_validation_error

if TYPE_CHECKING:  # loaded when a block masks a text: main.py imports this module in every block's process
    from xsoar_module.secrets import SecretMasker

DELIVERED_SECRETS = "_delivered_secrets"


class XsoarModule(Module):
    """Cortex XSOAR module for Sekoia.io playbooks."""

    # the SDK builds the configuration from this annotation; its property's setter is typed for a dict
    configuration: ModuleConfiguration  # type: ignore[override]

    def __init__(self) -> None:
        resume_gc()  # main.py builds the module once it has imported every item
        super().__init__()  # type: ignore[no-untyped-call]  # the SDK's method has no annotations

    def set_secrets(self, secrets: dict[str, Any]) -> None:
        """The SDK's merge of the secrets the platform delivers (an action's running answer, a trigger's secrets URL).

        Never raises: the trigger calls it outside any error handling, where an exception is a traceback on stderr
        and nothing on the platform. A configuration that cannot be read is reported by the item when it reads it
        (`configuration_of`), which also validates the merged secrets.
        """
        remember_secrets(self, secrets)
        with contextlib.suppress(ModuleConfigurationError):
            super().set_secrets(secrets)  # type: ignore[no-untyped-call]  # the SDK's method has no annotations


def remember_secrets(module: Module, secrets: dict[str, Any]) -> None:
    """Keep the delivered values for masking, even when they are refused or the configuration is unreadable."""
    setattr(module, DELIVERED_SECRETS, getattr(module, DELIVERED_SECRETS, ()) + tuple(secrets.values()))


def configuration_of(module: Module) -> ModuleConfiguration:
    """The module's configuration with the secrets merged and validated, or a ConfigurationError naming the setting.

    The one place both actions and triggers read it: the SDK assigns delivered secrets as attributes, without
    validation, after the configuration is loaded; they are validated here, on every read (never pydantic's raw
    text, never a value).
    """
    try:
        configuration = module.configuration
    except ModuleConfigurationError as exc:
        cause = exc.__context__
        if isinstance(cause, ValidationError):
            raise ConfigurationError(describe_validation_error(cause, "module configuration")) from None
        raise ConfigurationError(f"Invalid module configuration: {exc.args[0] if exc.args else exc}") from None
    if not isinstance(configuration, ModuleConfiguration):
        raise ConfigurationError("The module configuration is missing")
    checked = _with_checked_secrets(configuration)
    if checked is not configuration:
        module.configuration = checked  # the SDK's setter keeps a model instance as it is
    return checked


def _with_checked_secrets(configuration: ModuleConfiguration) -> ModuleConfiguration:
    """The configuration itself when its values (secrets assigned since) are valid as such, else a validated copy."""
    try:
        checked = ModuleConfiguration.model_validate(configuration.model_dump(warnings=False))
    except ValidationError as exc:
        raise ConfigurationError(describe_validation_error(exc, "module configuration")) from None
    return configuration if checked == configuration else checked


def masker_of(module: Module) -> "SecretMasker":
    """Masks the configuration's secrets and every value delivered as one; never loads the configuration itself."""
    from xsoar_module.secrets import SecretMasker

    configuration = module._configuration  # private: the public property would load (and may fail to load) it
    return SecretMasker.of(
        configuration if isinstance(configuration, BaseModel) else None, getattr(module, DELIVERED_SECRETS, ())
    )
