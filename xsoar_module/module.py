"""The module: one configuration shared by the trigger and the actions."""

from sekoia_automation.module import Module

from xsoar_module.configuration import ModuleConfiguration


class XsoarModule(Module):
    """Cortex XSOAR module for Sekoia.io playbooks."""

    configuration: ModuleConfiguration
