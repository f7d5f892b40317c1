"""The module: one configuration shared by the trigger and the actions."""

from pydantic import ValidationError
from sekoia_automation.exceptions import ModuleConfigurationError
from sekoia_automation.module import Module

from xsoar_module.configuration import ModuleConfiguration
from xsoar_module.errors import ConfigurationError, describe_validation_error
from xsoar_module.secrets import SecretMasker


class XsoarModule(Module):
    """Cortex XSOAR module for Sekoia.io playbooks."""

    configuration: ModuleConfiguration


def configuration_of(module: Module) -> ModuleConfiguration:
    """The module's configuration, or a ConfigurationError naming what is wrong (never pydantic's raw text)."""
    try:
        configuration = module.configuration
    except ModuleConfigurationError as exc:
        cause = exc.__context__
        if isinstance(cause, ValidationError):
            raise ConfigurationError(describe_validation_error(cause, "module configuration")) from None
        raise ConfigurationError(f"Invalid module configuration: {exc.args[0] if exc.args else exc}") from None
    if not isinstance(configuration, ModuleConfiguration):
        raise ConfigurationError("The module configuration is missing")
    return configuration


def masker_of(module: Module) -> SecretMasker:
    """Masks the configuration's secrets; never loads the configuration itself."""
    configuration = module._configuration
    return SecretMasker.of(configuration if isinstance(configuration, ModuleConfiguration) else None)
