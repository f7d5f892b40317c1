"""Keep secret values out of everything a user sees: logs, errors, results."""

from dataclasses import dataclass

from pydantic import BaseModel

MASK = "***"


def secret_fields(model: type[BaseModel]) -> list[str]:
    """Names of the fields declared secret (`json_schema_extra={"secret": True}`)."""
    return [
        name
        for name, field in model.model_fields.items()
        if isinstance(field.json_schema_extra, dict) and field.json_schema_extra.get("secret")
    ]


@dataclass(frozen=True)
class SecretMasker:
    values: tuple[str, ...] = ()

    @classmethod
    def of(cls, configuration: BaseModel | None) -> "SecretMasker":
        if configuration is None:
            return cls()
        values = (getattr(configuration, name, None) for name in secret_fields(type(configuration)))
        # the longest first, so that a secret containing another is masked whole
        return cls(tuple(sorted({v for v in values if isinstance(v, str) and len(v) >= 4}, key=len, reverse=True)))

    def mask(self, text: str) -> str:
        """Replace each secret, as is and as Python would quote it in a message (escaped characters)."""
        for value in self.values:
            text = text.replace(value, MASK).replace(repr(value)[1:-1], MASK)
        return text
