"""The Alert Created filters: which alerts start a run. Every alert trigger of the module applies them."""

from collections.abc import Callable
from typing import Any

from pydantic import Field, PrivateAttr, ValidationError, field_validator, model_validator

from xsoar_module.errors import describe_validation_error
from xsoar_module.models.alert import Alert
from xsoar_module.triggers.core.base import TriggerSettings


class AlertCreatedConfiguration(TriggerSettings):
    """Which new alerts start a run (all of them when no filter is set).

    An invalid setting is ignored (its filter does not apply: more runs rather than lost alerts) and reported once.
    """

    rule_filter: str | None = Field(
        None, description="Create a run only for alerts raised by this rule (name or UUID)"
    )
    rule_names_filter: list[str] = Field(
        [], description="Create a run only for alerts raised by one of these rules (names or UUIDs)"
    )
    min_urgency: int = Field(
        0, ge=0, le=100, description="Create a run only for alerts of at least this urgency (0-100)"
    )
    entity_filter: list[str] = Field([], description="Create a run only for alerts of these entities (names or UUIDs)")
    alert_type_filter: list[str] = Field(
        [], description="Create a run only for alerts of these types (alert type values or categories)"
    )
    backfill_minutes: int = Field(
        0,
        ge=0,
        le=10080,
        description="On the very first start, also create runs for the alerts created this many minutes before "
        "(0: only alerts created from then on; later restarts always resume where the trigger stopped)",
    )

    _ignored: str | None = PrivateAttr(None)

    @property
    def ignored(self) -> str | None:
        """Why some settings were ignored, if any were invalid."""
        return self._ignored

    @field_validator("rule_names_filter", "entity_filter", "alert_type_filter", mode="before")
    @classmethod
    def _one_or_many(cls, value: Any) -> Any:
        if value is None:
            return []
        return [value] if isinstance(value, str) else value

    @field_validator("rule_filter", mode="before")
    @classmethod
    def _blank_is_none(cls, value: Any) -> Any:
        return None if isinstance(value, str) and not value.strip() else value

    @model_validator(mode="wrap")
    @classmethod
    def _skip_invalid(cls, data: Any, handler: Callable[[Any], Any]) -> Any:
        if data is None:
            data = {}
        if not isinstance(data, dict):
            settings = handler({})
            settings._ignored = "the trigger configuration is not a JSON object"
            return settings
        try:
            return handler(data)
        except ValidationError as exc:
            invalid = {str(error["loc"][0]) for error in exc.errors() if error["loc"]}
            settings = handler({key: value for key, value in data.items() if key not in invalid})
            settings._ignored = describe_validation_error(exc, "trigger configuration")
            return settings

    def filtered_out_because(self, alert: Alert) -> str | None:
        """Why the alert starts no run, or None when it passes every filter (an unknown value never filters out)."""
        rules = self.rule_names_filter + ([self.rule_filter] if self.rule_filter else [])
        if rules and not (alert.rule and _matches(rules, alert.rule.name, alert.rule.uuid)):
            return "its rule is not in rule_filter / rule_names_filter"
        urgency = alert.urgency.current_value if alert.urgency else None
        if urgency is not None and urgency < self.min_urgency:
            return f"its urgency {urgency} is below min_urgency {self.min_urgency}"
        if self.entity_filter and not (
            alert.entity and _matches(self.entity_filter, alert.entity.name, alert.entity.uuid)
        ):
            return "its entity is not in entity_filter"
        kind = alert.alert_type
        if self.alert_type_filter and not (kind and _matches(self.alert_type_filter, kind.value, kind.category)):
            return "its alert type is not in alert_type_filter"
        return None

    def describe(self) -> str:
        active = {
            "rules": self.rule_names_filter + ([self.rule_filter] if self.rule_filter else []),
            "min_urgency": self.min_urgency or None,
            "entities": self.entity_filter,
            "alert types": self.alert_type_filter,
        }
        shown = [f"{name} {value}" for name, value in active.items() if value]
        return "filters: " + "; ".join(shown) if shown else "no filter: every new alert starts a run"


def _matches(wanted: list[str], *values: str | None) -> bool:
    targets = {item.strip().casefold() for item in wanted}
    return any(value is not None and value.strip().casefold() in targets for value in values)
