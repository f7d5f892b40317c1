"""Triggers and their reusable core.

- `base.py`: what every trigger shares (`ModuleTrigger`): fatal errors, masked logs, prompt stop, credential checks.
- `timings.py`: the waits of a session, one typed settings object (`TriggerTimings`, `LiveTimings`).
- `checkpoint.py`: the persisted watermark and recent keys (`Ledger`): nothing lost, nothing repeated.
- `emitter.py`: each item once, filtered, sent until the platform accepts it, then checkpointed (`Emitter`).
- `catch_up.py`: a pass over a listing since the checkpoint (`CatchUp`) and when the next is due.
- `intake.py`, `session.py`: a LiveAPI session merging notifications (fetched ahead) with catch-ups.
- `live_trigger.py`: a LiveAPI trigger's skeleton (`AlertLiveTrigger`): key check, checkpoint, session, alert file.
- `alert_filters.py`: the Alert Created filters (`AlertCreatedConfiguration`), which every alert trigger applies.
- `alerts.py`: Sekoia.io alerts as items (`AlertCreatedKind`), the sources' base (`AlertSource`), `AlertCreatedSource`.
- `alert_created.py`: the Alert Created trigger, the core's first user.
- `incidents.py`, `incident_state.py`: XSOAR incidents' changes as polled items (`IncidentChangeKind`,
  `IncidentChanges`) and the state kept per incident to tell them.
- `incident_updated.py`: the Incident Updated trigger: a poll per interval through `CatchUp`, `Emitter`, `Ledger`.
- `alert_updates.py`, `alert_updated.py`: alert status changes and comments as items, and the Alert Updated trigger.
"""
