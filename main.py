from xsoar_module.module import XsoarModule

from xsoar_module.triggers.incident_updated import IncidentUpdatedTrigger
from xsoar_module.triggers.alert_created import AlertCreatedTrigger
from xsoar_module.actions.get_events import GetEvents
from xsoar_module.actions.get_alert import GetAlert
from xsoar_module.actions.update_incident import UpdateIncident
from xsoar_module.actions.create_incident import CreateIncident


if __name__ == "__main__":
    module = XsoarModule()
    module.register(IncidentUpdatedTrigger, "IncidentUpdatedTrigger")
    module.register(AlertCreatedTrigger, "AlertCreatedTrigger")
    module.register(GetEvents, "GetEvents")
    module.register(GetAlert, "GetAlert")
    module.register(UpdateIncident, "UpdateIncident")
    module.register(CreateIncident, "CreateIncident")
    module.run()
