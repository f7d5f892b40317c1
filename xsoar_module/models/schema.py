"""Manifest schemas that read well in the Playbook editor."""

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, StringConstraints

NonBlankStr = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]


def drop_null_variants(schema: dict[str, Any], _model: type | None = None) -> None:
    """`anyOf: [{type: string}, {type: null}]` -> `type: string`: optional fields simply have no value."""
    for prop in schema.get("properties", {}).values():
        variants = [variant for variant in prop.get("anyOf", []) if variant != {"type": "null"}]
        if "anyOf" in prop and len(variants) == 1:
            del prop["anyOf"]
            prop.update(variants[0])


class ManifestModel(BaseModel):
    """Base of the models whose JSON schema goes into a manifest."""

    model_config = ConfigDict(json_schema_extra=drop_null_variants)
