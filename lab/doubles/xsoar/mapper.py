"""The XSOAR content pack's incoming mapper, applied to a webhook incident as XSOAR applies an instance's mapper.

XSOAR applies the mapper's `dbot_classification_incident_type_all` rules, then those of the incident's type, to
the incident's raw JSON: a rule's `simple` path (keys joined by dots) selects a value; an absent or null value sets
nothing. Incident attributes (`severity`, `occurred`, `details`, ...) are set on the incident, other fields under
`CustomFields` by their machine name. A list or object mapped to a text field is stored as its JSON text (our
reading of XSOAR's conversion, not checked against a live server). REST-created incidents are not mapped.
"""

import json
from functools import cache
from pathlib import Path
from typing import Any

PACK = Path(__file__).resolve().parents[3] / "xsoar_content" / "Packs" / "SekoiaIOAlerts"
MAPPER = PACK / "Classifiers" / "classifier-mapper-incoming-Sekoia_io_Alert.json"
ALL_TYPES = "dbot_classification_incident_type_all"
INCIDENT_TYPE = "Sekoia.io Alert"
ATTRIBUTES = ("name", "severity", "occurred", "details", "owner", "dbotMirrorId")
COMMON_FIELDS = {  # CommonTypes fields the mapper targets (associated to all types): name -> (machine name, type)
    "Alert ID": ("alertid", "shortText"),
    "Source IP": ("sourceip", "shortText"),
    "Destination IP": ("destinationip", "shortText"),
}
TEXT_TYPES = ("shortText", "longText", "url", "markdown")


class MapperError(ValueError):
    """A mapper rule this stand-in cannot apply (a field it does not know, a rule that is not `simple`)."""


@cache
def pack_fields() -> dict[str, tuple[str, str]]:
    """Display name -> (machine name, type) of the pack's incident fields and the CommonTypes ones used."""
    fields = dict(COMMON_FIELDS)
    for path in sorted((PACK / "IncidentFields").glob("*.json")):
        field = json.loads(path.read_text())
        fields[field["name"]] = (field["cliName"], field["type"])
    return fields


@cache
def load_mapper() -> dict[str, Any]:
    """The pack's incoming mapper."""
    return json.loads(MAPPER.read_text())


def resolve(raw: Any, path: str) -> Any:
    """The value at a dotted path of the raw JSON, None when a key is missing or a step is not an object."""
    for key in path.split("."):
        if not isinstance(raw, dict):
            return None
        raw = raw.get(key)
    return raw


def converted(value: Any, kind: str) -> Any:
    """The value as a field of this type holds it: JSON text for a list or object in a text field."""
    if kind in TEXT_TYPES and isinstance(value, (dict, list)):
        return json.dumps(value)
    return value


def rules(mapper: dict[str, Any], incident_type: str) -> dict[str, dict[str, Any]]:
    """The rules for an incident type: those for all types, overridden by the type's own."""
    mapping = mapper["mapping"]
    return {
        **mapping.get(ALL_TYPES, {}).get("internalMapping", {}),
        **mapping.get(incident_type, {}).get("internalMapping", {}),
    }


def apply(mapper: dict[str, Any], raw: Any, incident_type: str) -> dict[str, Any]:
    """Incident attributes and `CustomFields` that the mapper sets from the raw JSON of an incident of that type."""
    result: dict[str, Any] = {"CustomFields": {}}
    for name, rule in rules(mapper, incident_type).items():
        if "simple" not in rule:
            raise MapperError(f"mapper rule for {name!r} is not a simple path")
        value = resolve(raw, rule["simple"])
        if value is None:
            continue
        if name in ATTRIBUTES:
            result[name] = value
        elif name in pack_fields():
            machine_name, kind = pack_fields()[name]
            result["CustomFields"][machine_name] = converted(value, kind)
        else:
            raise MapperError(f"mapper rule for unknown field {name!r}")
    return result


def map_raw_json(raw: Any, incident_type: str) -> dict[str, Any]:
    """The incident fields the pack's mapper sets from a webhook incident's raw JSON (an `XsoarSimulator.mapper`).

    A severity that is not a number is left out (XSOAR keeps the incident's default, 0).
    """
    mapped = apply(load_mapper(), raw, incident_type)
    if not isinstance(mapped.get("severity"), (int, float)) or isinstance(mapped.get("severity"), bool):
        mapped.pop("severity", None)
    return mapped
