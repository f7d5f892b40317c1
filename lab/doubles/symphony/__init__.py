"""A stand-in for Sekoia.io's Symphony: runs the module's actions and triggers exactly the way the platform does."""

from lab.doubles.symphony.platform import PLACEHOLDER, ActionResult, Symphony, TriggerRun
from lab.doubles.symphony.records import RunRecord

__all__ = ["PLACEHOLDER", "ActionResult", "RunRecord", "Symphony", "TriggerRun"]
