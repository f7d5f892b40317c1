"""A simulated Sekoia.io on 127.0.0.1: the REST API (alerts, events search jobs) and the LiveAPI, on one port.

HTTP routes, each under `/v1` and `/api/v1`, need `Authorization: Bearer <key>` of a known key (the main one, or one
added with `add_api_key`; else 401 `{"message": ...}`):
- `GET /v1/me` (the key's identity, `uuid`; none with `me_identity=False`); `GET /v1/sic/alerts/{uuid or short
  id}` (with `comments` and `history`, newest first, whatever the query flags, as the real sample);
  `GET /v1/sic/alerts` (`limit` <= 100, `offset`, `sort`, `direction`, `match[field]=a,b`,
  `range[urgency]=min,max`, `date[created_at or updated_at]=<ISO start>,<ISO end or now>`);
- `GET /v1/sic/alerts/{id}/workflow` -> `{"actions": [{"id", "name", "description"}]}`, the actions open from the
  alert's status (`workflow.py`: the documented table, Closed and Rejected final, and its sources); `PATCH` the same
  path `{"action_uuid", "comment"?}` (an action id, or the uuid of the status it leads to) -> `{}`, or 400 when that
  transition is not open;
- `GET /v1/sic/alerts/{id}/comments` -> `{"items", "total"}`; `POST` the same path `{"content", "author"?}` (author at
  most 32 characters) -> the comment `{"uuid", "content", "author", "date", "created_by", "created_by_type",
  "unseen"}`; `GET .../comments/{uuid}`;
- `POST /v1/sic/conf/events/search/jobs`, `GET .../jobs/{job}`, `GET .../jobs/{job}/events` (`limit` <= 1000); a
  search finds only the events indexed when the job is created: those of a new alert after `indexing_delay`
  seconds (2 by default, as the real service indexes events after it raises their alert).
Errors answer `{"message": ...}`: 400 for bad parameters, bodies or queries, 404 for unknown alerts, comments and jobs.
With `budget=RequestBudget(...)` (off by default; `--budget` on the command line), 429 for a client (an API key)
beyond 5 requests a second, or blocked after an error storm or above 100 requests a second (`budget.py`).

Authorship: a change through the API is made by the key's identity (`created_by` = a uuid per key,
`created_by_type` "apikey"), a change made with `change_status_as_person` / `comment_as_person` by a person's
(`created_by_type` "user"); status changes set the alert's `status`, `updated_at` (epoch), `updated_by` and add to
its `history` an entry shaped as the real samples' (`{"uuid", "created_at", "created_by", "created_by_type",
"entry_type": "alert", "alert": {"status", "previous_status"}, "history_comments": [comment]}`); a comment adds
`{..., "entry_type": "comment", "comment": {"uuid", "status", "display_name", "content"}}`; a comment sent with a
status change is also an alert comment (same uuid in `comments` and `history_comments`, and its own `alert-comment`
message); a comment without author gets `apikey:<uuid>` / `user:<uuid>` as real answers show.

LiveAPI `GET /live/` (WebSocket): without the cookie `access_token_cookie=<key>` the server sends
`{"authenticated": false, "message": ...}` and closes with code 4401; otherwise it sends `{"authenticated": true}`
and, only once the client sent `{"action": "upgrade"}`, v2 notifications: alert `created`, and, through
`notify_activity`, alert `updated`, `alert-comment` `created`, `case` `created`/`updated` (nothing stored). Every
status change and every comment, through the API or as a person, pushes its alert `updated`
(`{"uuid", "short_id", "updated": {"status", "status_name"}}`) or `alert-comment` `created` message;
`change_urgency` (the dynamic urgency moving, with new occurrences or not) pushes the real urgency `updated` message
(`{"updated": {"dynamic_urgency_value": N}}`).

Choices where Sekoia's behaviour is unconfirmed: the listing sorts by `created_at` descending unless told (ties keep
insertion order, alerts without the sort field come last); date bounds are compared as epoch seconds, fractions
kept; a new job answers status 0, then 1 for `job_duration` seconds, then `job_final_status`, with `total` 0 until
done, then every matching event although `max_last_events` keeps only the latest (as real jobs count far more
than a page returns); a share of done jobs say `expired: true` yet serve their events; ISO-8601 bounds are echoed in
UTC without zone, relative ones as sent; the events of a job not done answer 409; each ISO-8601 bound of a search
applies on its own, relative ones (`-1d`, `now`) are ignored; a comment does not move the alert's `updated_at`
unless `comments_touch_alerts` is set, an urgency change moves it unless `urgency_touches_alerts` is cleared; a comment
sent with a status change is announced by its own `alert-comment` message (expected from the real alert's shape,
unconfirmed); comments
are listed in creation order. Faults, `request_counts` and `request_log`
cover the HTTP API only, not the LiveAPI (it has its own counters).
"""

from lab.doubles.sekoia.simulator import SekoiaSimulator

__all__ = ["SekoiaSimulator"]
