"""The module's triggers, over their shared machinery (`core/`).

- `alert_filters.py`: the Alert Created filters (`AlertCreatedConfiguration`), which every alert trigger applies.
- `alerts.py`: Sekoia.io alerts as items (`AlertCreatedKind`), the sources' base (`AlertSource`), `AlertCreatedSource`.
- `alert_created.py`: the Alert Created trigger, the core's first user.
- `incidents.py`, `incident_state.py`: XSOAR incidents' changes as polled items (`IncidentChangeKind`,
  `IncidentChanges`) and the state kept per incident to tell them.
- `incident_updated.py`: the Incident Updated trigger: a poll per interval through `CatchUp`, `Emitter`, `Ledger`.
- `alert_updates.py`, `alert_updated.py`: alert status changes and comments as items, and the Alert Updated trigger.
"""
