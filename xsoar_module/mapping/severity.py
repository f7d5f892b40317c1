"""Sekoia.io urgency -> Cortex XSOAR severity, the mapping Sekoia's own XSOAR integration uses."""

from xsoar_module.models.alert import AlertUrgency

UNKNOWN = 0.0
XSOAR_SEVERITY_BY_DISPLAY = {"low": 1.0, "moderate": 2.0, "high": 3.0, "major": 3.0, "urgent": 4.0}
URGENCY_BANDS = ((80, "Urgent"), (60, "Major"), (40, "High"), (20, "Moderate"), (0, "Low"))


def urgency_display(current_value: int | float) -> str:
    """Sekoia.io's display band of an urgency value: Low [0,20), Moderate [20,40), ... Urgent [80,100]."""
    for floor, display in URGENCY_BANDS:
        if current_value >= floor:
            return display
    return "Low"


def display_of(urgency: AlertUrgency | None) -> str | None:
    """The alert's urgency band, computed from `current_value` when `display` is missing."""
    if urgency is None:
        return None
    if urgency.display:
        return urgency.display
    if urgency.current_value is not None:
        return urgency_display(urgency.current_value)
    return None


def xsoar_severity(urgency: AlertUrgency | None) -> float:
    """XSOAR severity (0 unknown, 1 low, 2 medium, 3 high, 4 critical): Low 1, Moderate 2, High/Major 3, Urgent 4."""
    display = display_of(urgency)
    return XSOAR_SEVERITY_BY_DISPLAY.get(display.lower(), UNKNOWN) if display else UNKNOWN
