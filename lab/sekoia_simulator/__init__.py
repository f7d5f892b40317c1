"""A simulated Sekoia.io on 127.0.0.1: the REST API (alerts, events search jobs) and the LiveAPI, on one port.

HTTP routes, each under `/v1` and `/api/v1`, need `Authorization: Bearer <key>` (else 401 `{"message": ...}`):
- `GET /v1/me`; `GET /v1/sic/alerts/{uuid or short id}`; `GET /v1/sic/alerts` (`limit` <= 100, `offset`, `sort`,
  `direction`, `match[field]=a,b`, `range[urgency]=min,max`, `date[created_at]=<ISO start>,<ISO end or now>`);
- `POST /v1/sic/conf/events/search/jobs`, `GET .../jobs/{job}`, `GET .../jobs/{job}/events` (`limit` <= 1000).
Errors answer `{"message": ...}`: 400 for bad parameters or queries, 404 for unknown alerts and jobs.

LiveAPI `GET /live/` (WebSocket): without the cookie `access_token_cookie=<key>` the server sends
`{"authenticated": false, "message": ...}` and closes with code 4401; otherwise it sends `{"authenticated": true}`
and, only once the client sent `{"action": "upgrade"}`, v2 notifications: alert `created`, and, through
`notify_activity`, alert `updated`, `alert-comment` `created`, `case` `created`/`updated`.

Choices where Sekoia's behaviour is unconfirmed: the listing sorts by `created_at` descending unless told (ties keep
insertion order, alerts without the sort field come last); date bounds are compared as epoch seconds, fractions
kept; a new job answers status 0, then 1 for `job_duration` seconds, then `job_final_status`, with `total` 0 until
done, then every matching event although `max_last_events` keeps only the latest (as real jobs count far more
than a page returns); a share of done jobs say `expired: true` yet serve their events; ISO-8601 bounds are echoed in
UTC without zone, relative ones as sent; the events of a job not done answer 409; each ISO-8601 bound of a search
applies on its own, relative ones (`-1d`, `now`) are ignored. Faults, `request_counts` and `request_log`
cover the HTTP API only, not the LiveAPI (it has its own counters).
"""

from lab.sekoia_simulator.simulator import SekoiaSimulator

__all__ = ["SekoiaSimulator"]
