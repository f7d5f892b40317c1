"""A simulated Cortex XSOAR on 127.0.0.1: the Generic Webhook and the REST API incident calls, on one port.

Served paths (the project's XSOAR reference, §1, §2 and §2b):
- webhook: `POST /instance/execute/<instance>` (XSOAR 6) and `POST /xsoar/instance/execute/<instance>` (XSOAR 8),
  as Palo Alto's Generic Webhook behaves: the body is checked first (one object, not an array; `name`, `type`,
  `occurred` strings or null; `raw_json` an object or null: else 422), then the instance's one credentials scheme
  (401); rawJSON is `raw_json` or the whole body, plus the request headers without the auth header; `type`
  defaults to the instance's incident type, an absent `occurred` stays null; the instance's incoming mapper
  (`mapper`: by default the content pack's, `lab/doubles/xsoar/mapper.py`) sets the other fields;
- REST: `POST /incident`, `/incidents/search`, `/incident/batchClose`, `/entry`, `/entry/note`, `/entry/execute/sync`,
  `/investigation/{id}` at the root (XSOAR 6, header `Authorization: <key>`) and under `/xsoar` and
  `/xsoar/public/v1` (XSOAR 8, plus `x-xdr-auth-id: <key id>`).

Sync (demisto-py 3.2.10's swagger is the yardstick): `batchClose` `{"ids", "closeReason", "closeNotes",
"CustomFields"}` sets status 2, `closed`, `closeReason`, `closeNotes`, `closingUserId` and answers `{"total", "data",
"notUpdated"}`. `/entry` (UpdateEntry `{"investigationId", "data", "markdown"}`) adds a war-room entry `{"id":
"<n>@<investigation>", "investigationId", "type": 1, "contents", "format": "markdown" | "text", "note", "user",
"created", "modified", "version", "tags"}`; `/entry/note` `{"id", "investigationId", "data": "true" | "false"}` marks
it a note. A closed investigation refuses `/entry` and `/entry/execute/sync` with 412 `In case of closed investigation`
(the swagger). The swagger has no call that reads entries nor a reopen: `/entry/execute/sync` (the swagger's
"investigation_add_entries_sync", UpdateEntry, answers a list of entries) runs `!reopenInvestigation [id=<incident>]`
(xsoar.pan.dev: the incident `id`, by default the investigation's own) from an open investigation, e.g. the Playground
(`playground_id`, an investigation that is no incident) (error entry, type 4, for another command, an unknown incident
or one not closed; plain text is a chat entry), and `POST /investigation/{id}` (outside the swagger; Palo Alto's
XSOAR-to-XSOAR mirroring reads it with `pageSize` and `fromTime`) answers the investigation with `entries` created at
or after `fromTime`, newest first (`pageSize` keeps the newest: the real order is unconfirmed, this one is the least
helpful to a reader expecting oldest first) and `users`. An incident created without `createInvestigation` has no war
room: its entries answer 400 `Could not find investigation`. Every change sets `modified` and `version`; searches take
`field:>="<ISO>"` (`>=`, `<=`, `>`, `<` on times, numbers or texts) and `field:*` (has a value) in queries, the
filter's `fromDate`/`toDate` (creation time), `fromClosedDate`/`toClosedDate`, `id`, `status`, `notStatus` lists and
`sort` (`[{"field", "asc"}]`). Authorship: each API key acts as a user (`api_user`, `add_api_key`), a person's changes
(`close_as_person`, `reopen_as_person`, `note_as_person`) as their name; `closingUserId`, an entry's `user` and the
simulator-only `activity` of a stored incident (`incident(id)`) say who changed what.

`POST /incident` follows the published swagger (the one Palo Alto's demisto-py is generated from): strict (the
default), it keeps only the keys of the create request, so `dbotMirrorId` is dropped unless under `CustomFields`;
lenient (`strict=False`), it keeps every top-level key. Searches understand `field:"value"` / `field:value` terms
(top-level fields and custom fields, names case-insensitive) joined by `and` or a space (and), and by `or` only with
`query_or=True` (no real query found uses `or`: refused by default); anything else is refused (400) rather than
matching everything.

Choices where XSOAR's behaviour is unconfirmed or left out: `POST /incident` answers `create_status` (200, the
swagger's); a search finding nothing answers `"data": []` (a real server may answer `null`); results come in creation
order; `severity` must be a number from 0 to 4; `POST /incident` without `id` creates (`version`, `created`, `modified`
of the body are the server's: ignored); with `id` and `version` it updates the incident's fields (`CustomFields`
merged; status and closure left to their own calls), a stale `version` answers 409 "DB version conflict" (XSOAR refuses
a stale version; its status and wording are unconfirmed), an unknown `id` 400; `null` fields of a REST body count as
absent; which user a real API key's changes are recorded as (DBot, the key's creator) is unconfirmed, so tell one's own
changes by a marker rather than by the user alone; a reopen clears `closed` (to XSOAR's zero time) and `closingUserId`
but keeps `closeReason`/`closeNotes`; closing a closed incident closes it again; an entry does not move the incident's
`modified` unless `entries_touch_incidents` is set; times carry microseconds without trailing zeros, as XSOAR writes
them.
"""

from lab.doubles.xsoar.records import STATUS_ACTIVE, STATUS_CLOSED, STATUS_PENDING, ZERO_TIME
from lab.doubles.xsoar.simulator import XsoarSimulator

__all__ = ["STATUS_ACTIVE", "STATUS_CLOSED", "STATUS_PENDING", "ZERO_TIME", "XsoarSimulator"]
