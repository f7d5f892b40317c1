"""The fields of XSOAR's REST create request (`POST /incident`, published swagger) and the custom-field rule."""

import re
from typing import Any

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
