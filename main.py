from xsoar_module.module import XsoarModule

from xsoar_module.triggers.incident_updated import IncidentUpdatedTrigger
from xsoar_module.triggers.alert_updated import AlertUpdatedTrigger
from xsoar_module.triggers.alert_created import AlertCreatedTrigger
from xsoar_module.actions.create_incident import CreateIncident
from xsoar_module.actions.update_incident import UpdateIncident
from xsoar_module.actions.get_events import GetEvents
from xsoar_module.actions.update_alert import UpdateAlert
from xsoar_module.actions.get_alert import GetAlert


if __name__ == "__main__":
    module = XsoarModule()
    module.register(IncidentUpdatedTrigger, "IncidentUpdatedTrigger")
    module.register(AlertUpdatedTrigger, "AlertUpdatedTrigger")
    module.register(AlertCreatedTrigger, "AlertCreatedTrigger")
    module.register(CreateIncident, "CreateIncident")
    module.register(UpdateIncident, "UpdateIncident")
    module.register(GetEvents, "GetEvents")
    module.register(UpdateAlert, "UpdateAlert")
    module.register(GetAlert, "GetAlert")
    module.run()
