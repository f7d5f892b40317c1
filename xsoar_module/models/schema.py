"""Manifest schemas that read well in the Playbook editor and say the truth about null values."""

from typing import Annotated, Any

from annotated_types import Ge, Le
from pydantic import AllowInfNan, BaseModel, BeforeValidator, ConfigDict, StringConstraints

NonBlankStr = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]
Name = Annotated[str, StringConstraints(max_length=256)]  # a name sent as is (an XSOAR close reason): never long
LATEST_EPOCH = 253402300799  # 9999-12-31T23:59:59Z: what a date can be written as


def _not_a_boolean(kind: str, example: str) -> BeforeValidator:
    """pydantic reads `true` as 1: a boolean is refused as a `kind`, the error giving an example of one."""

    def check(value: Any) -> Any:
        if isinstance(value, bool):
            raise ValueError(f"{str(value).lower()} is not {kind}: give {example}")
        return value

    return BeforeValidator(check)


# A time given as epoch seconds (a number or its text), from 1970 to 9999; booleans, NaN and infinities refused
EpochSeconds = Annotated[
    float, Ge(0), Le(LATEST_EPOCH), AllowInfNan(False), _not_a_boolean("a time", "epoch seconds, e.g. 1764316800")
]
Count = Annotated[int, Ge(0), _not_a_boolean("a count", "a whole number, e.g. 12")]  # a number or its text, >= 0
NULL_RENDERINGS = ("", "none", "null", "undefined")  # what a template engine may make of a null value


def is_null_rendering(text: object) -> bool:
    """True for None and the texts a null renders to (`""`, `None`, `null`, `undefined`): an argument left unused."""
    return text is None or (isinstance(text, str) and text.strip().lower() in NULL_RENDERINGS)


def drop_null_variants(schema: dict[str, Any], _model: type | None = None) -> None:
    """`anyOf: [{type: string}, {type: null}]` -> `type: string`, for forms a user fills in (configurations), where
    an optional field simply has no value."""
    for prop in schema.get("properties", {}).values():
        variants = [variant for variant in prop.get("anyOf", []) if variant != {"type": "null"}]
        if "anyOf" in prop and len(variants) == 1:
            del prop["anyOf"]
            prop.update(variants[0])


def nullable_types(schema: dict[str, Any], _model: type | None = None) -> None:
    """`anyOf: [{type: string}, {type: null}]` -> `type: [string, null]`: shorter, and null stays valid.

    Real Sekoia.io answers carry null in many fields (`last_seen_at`, `rule.type`, `target`...): a schema that
    declared them non-null would reject real results. Variants that are not plain types (`$ref`) keep their anyOf.
    """
    for prop in schema.get("properties", {}).values():
        variants = prop.get("anyOf", [])
        if {"type": "null"} not in variants or len(variants) != 2:
            continue
        [variant] = [variant for variant in variants if variant != {"type": "null"}]
        if set(variant) == {"type"} and isinstance(variant["type"], str):
            del prop["anyOf"]
            prop["type"] = [variant["type"], "null"]


class ManifestModel(BaseModel):
    """Base of the arguments and results models, whose JSON schema goes into a manifest.

    Validators are built on first use, not at import: a block's process imports every item (main.py) but validates
    with its own models only.
    """

    model_config = ConfigDict(json_schema_extra=nullable_types, defer_build=True)
