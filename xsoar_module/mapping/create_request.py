"""The fields of XSOAR's REST create request (`POST /incident`, published swagger), the custom-field rule, and
the check of Create Incident's `fields` argument (`check_fields`)."""

import math
import re
from typing import Any

import orjson

from xsoar_module.errors import InvalidInputError

# The keys of the swagger's CreateIncidentRequest: any other top-level key of a create is ignored by XSOAR.
CREATE_REQUEST_FIELDS = frozenset(
    {
        "CustomFields",
        "ShardID",
        "account",
        "activated",
        "activatingingUserId",
        "autime",
        "canvases",
        "category",
        "closeNotes",
        "closeReason",
        "closed",
        "closingUserId",
        "createInvestigation",
        "created",
        "details",
        "droppedCount",
        "dueDate",
        "hasRole",
        "id",
        "investigationId",
        "isPlayground",
        "labels",
        "lastOpen",
        "linkedCount",
        "linkedIncidents",
        "modified",
        "name",
        "notifyTime",
        "occurred",
        "openDuration",
        "owner",
        "parent",
        "phase",
        "playbookId",
        "previousRoles",
        "rawCategory",
        "rawCloseReason",
        "rawJSON",
        "rawName",
        "rawPhase",
        "rawType",
        "reason",
        "reminder",
        "roles",
        "runStatus",
        "severity",
        "sla",
        "sortValues",
        "sourceBrand",
        "sourceInstance",
        "status",
        "type",
        "version",
    }
)
_BY_LOWER_CASE = {name.lower(): name for name in CREATE_REQUEST_FIELDS}
_NOT_MACHINE = re.compile(r"[^a-z0-9]")


def machine_name(key: str) -> str:
    """XSOAR's machine name of a field: its name in lower case without spaces or punctuation
    (`Alert ID` -> `alertid`)."""
    return _NOT_MACHINE.sub("", key.lower())


def create_request_field(key: str) -> str | None:
    """The create-request field `key` names (case-insensitive), if any."""
    return _BY_LOWER_CASE.get(key.lower())


def split_fields(fields: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """`fields` -> (create-request fields, custom fields by machine name).

    A key naming a create-request field (any case) stays top-level under its swagger spelling; any other key, and
    the keys of a `CustomFields` object, become custom fields under their machine names.
    """
    top: dict[str, Any] = {}
    custom: list[tuple[str, Any]] = []
    for key, value in fields.items():
        field = create_request_field(key)
        if field == "CustomFields":
            if not isinstance(value, dict):
                raise InvalidInputError(f"{key} must be an object of custom fields, got {type(value).__name__}")
            custom.extend(value.items())
        elif field:
            top[field] = value
        else:
            custom.append((key, value))
    return top, _by_machine_name(custom)


def _by_machine_name(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    named: dict[str, str] = {}
    custom: dict[str, Any] = {}
    for key, value in pairs:
        machine = machine_name(key)
        if not machine:
            raise InvalidInputError(f"{key[:80]!r} is not a usable XSOAR field name (use letters and digits)")
        if machine in named:
            raise InvalidInputError(
                f"{named[machine][:80]!r} and {key[:80]!r} are the same XSOAR field {machine[:80]!r}"
            )
        named[machine] = key
        custom[machine] = value
    return custom


RESERVED_FIELDS = {"alertid", "alerturl", "dbotmirrorid", "events", "rawjson", "id", "version"}  # machine names
TEXT_FIELDS = {"name", "type", "occurred"}  # the Generic Webhook refuses anything but a string (or null)
SEVERITY_SCALE = "0 unknown, 0.5 informational, 1 low, 2 medium, 3 high, 4 critical"


def check_fields(fields: dict[str, Any]) -> dict[str, Any]:
    """`fields` adapts the body but cannot change what identifies the alert or the incident; severity is a number
    of XSOAR's scale, name/type/occurred are texts; custom field names are usable in API mode. Keys naming a
    create-request field are spelled as XSOAR's swagger does (`Owner` -> `owner`)."""
    spelled = {create_request_field(key) or key: value for key, value in fields.items()}
    if len(spelled) < len(fields):
        raise ValueError("two keys name the same XSOAR field (the field names are case-insensitive)")
    fields = spelled
    custom = fields.get("CustomFields")
    nested = custom if isinstance(custom, dict) else {}
    if reserved := [key[:80] for key in [*fields, *nested] if machine_name(key) in RESERVED_FIELDS]:
        raise ValueError(f"{', '.join(sorted(reserved))} identify the alert or the incident and cannot be set")
    for field in TEXT_FIELDS & set(fields):
        if fields[field] is not None and not isinstance(fields[field], str):
            raise ValueError(f"fields.{field} must be a text, got {type(fields[field]).__name__}")
    if "severity" in fields:
        fields = fields | {"severity": severity_number(fields["severity"])}
    try:
        split_fields(fields)
        orjson.dumps(fields, default=str)
    except InvalidInputError as exc:
        raise ValueError(str(exc)) from None
    except orjson.JSONEncodeError:
        raise ValueError("fields cannot be sent as JSON: nested too deeply (more than 250 levels)") from None
    return fields


def severity_number(value: Any) -> float:
    try:
        number = float(value) if not isinstance(value, bool) else math.nan
    except (TypeError, ValueError):
        number = math.nan
    if not (math.isfinite(number) and 0 <= number <= 4):
        raise ValueError(f"fields.severity must be a number from 0 to 4 ({SEVERITY_SCALE}), got {str(value)[:40]!r}")
    return number
