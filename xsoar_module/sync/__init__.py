"""The two-way sync's decisions, in one place. Pure: no client, HTTP, trigger or lab code (a test says so).

- `rules`: Sekoia.io's statuses and workflow, the close reasons, the later-change-wins rule (`sekoia_change_wins`).
- `marker`: the marker and own-change recognition (`made_by_module`, `own_change`).
- `times`: time comparison in whole seconds.
- `texts`: what the sync writes on either side and how it reads it back.
- `history`, `war_room`: what an alert's history and an incident's war room tell (who changed what, when).
- `sekoia_changes`: an alert's changes as Alert Updated hands them on (status change, comment, urgency).
- `snapshots`: the typed snapshots of both sides, parsed leniently from the real shapes, XSOAR's constants.
- `decisions`: the pure decision functions: snapshots and a change in, a decision (apply / skip with a reason /
  superseded by a later change, and the writes to make) out.

Actions and triggers read (clients), decide (here), write (clients).
"""
