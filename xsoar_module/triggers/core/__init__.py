"""What every trigger shares: the machinery, not what a trigger watches. Nothing is imported here: main.py loads the
items' base classes (`base.py`, `live_trigger.py`, `emitter.py`'s types) in every block's process, the rest loads
when a trigger runs.

- `base.py`: what every trigger shares (`ModuleTrigger`): fatal errors, masked logs, prompt stop, credential checks.
- `waits.py`: how long a session waits, one typed settings object (`TriggerTimings`, `LiveTimings`).
- `checkpoint.py`: the persisted watermark and recent keys (`Ledger`): nothing lost, nothing repeated.
- `emitter.py`: each item once, filtered, sent until the platform accepts it, then checkpointed (`Emitter`).
- `catch_up.py`: a pass over a listing since the checkpoint (`CatchUp`) and when the next is due.
- `intake.py`, `session.py`: a LiveAPI session merging notifications (fetched ahead) with catch-ups.
- `live_trigger.py`: a LiveAPI trigger's skeleton (`AlertLiveTrigger`): key check, checkpoint, session, alert file.
"""
