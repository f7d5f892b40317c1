"""The one Cortex XSOAR client: Generic Webhook and REST API (XSOAR 6, XSOAR 8 / XSIAM)."""

from xsoar_module.clients.xsoar.creation import IncidentCreation
from xsoar_module.clients.xsoar.war_room import WarRoom


class XsoarClient(IncidentCreation, WarRoom):
    """Creates, finds and updates incidents and writes in their war rooms; errors name the setting to fix."""
