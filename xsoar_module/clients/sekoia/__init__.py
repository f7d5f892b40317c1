"""The one Sekoia.io API client: alerts, alert listing, workflow, comments and events search jobs."""

from xsoar_module.clients.sekoia.alerts import AlertsApi
from xsoar_module.clients.sekoia.events import EventsSearch


class SekoiaClient(AlertsApi, EventsSearch):
    """Talks to `{api_url}/v1/...` with a Bearer key; errors say what to fix."""
