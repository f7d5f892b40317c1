"""How the sync compares times: in whole seconds, since Sekoia.io dates its history in seconds. Pure, no I/O."""

import math


def whole_seconds(at: float) -> int:
    """The second a time (epoch seconds) falls in."""
    return math.floor(at)


def same_second(first: float, second: float) -> bool:
    """Whether two times (epoch seconds) fall in the same second: the sync cannot order them by their dates."""
    return whole_seconds(first) == whole_seconds(second)
