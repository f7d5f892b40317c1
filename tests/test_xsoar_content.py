"""The shipped XSOAR incoming mapper reads only keys that the webhook body carries."""

import json
from pathlib import Path

from xsoar_module.mapping.incident import webhook_body
from xsoar_module.models.alert import Alert

ROOT = Path(__file__).resolve().parent.parent
MAPPER = ROOT / "xsoar_content" / "classifier-mapper-incoming-Sekoia_io_alerts.json"


def resolve(body: dict, path: str):
    for key in path.split("."):
        body = body[key]
    return body


def test_the_mapper_paths_exist_in_the_webhook_body():
    mapper = json.loads(MAPPER.read_text())
    assert mapper["type"] == "mapping-incoming" and mapper["version"] == -1
    alert = Alert.model_validate(json.loads((ROOT / "lab" / "samples" / "alert.json").read_text()))
    body = webhook_body(alert, [{"timestamp": "t"}], app_url="https://app.sekoia.io", max_events=10)
    mappings = mapper["mapping"]["dbot_classification_incident_type_all"]["internalMapping"]
    assert {"Alert ID", "Alert URL", "Events", "severity"} <= set(mappings)
    for field, rule in mappings.items():
        assert resolve(body, rule["simple"]) is not None, field
