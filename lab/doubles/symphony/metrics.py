"""A trigger process's counters, read from its metrics endpoint as Sekoia.io's platform scrapes it."""

import urllib.request

from prometheus_client.parser import text_string_to_metric_families

from xsoar_module.triggers.core.counters import DELAY_METRIC, ITEMS_METRIC, OUTCOMES


def read_counters(port: int, timeout: float = 5.0) -> dict[str, float] | None:
    """`{"emitted": 3.0, ..., "delays": 3.0, "delay_mean": 1.2}` from `http://127.0.0.1:<port>/metrics`; None when the
    endpoint does not answer (the trigger is not running)."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=timeout) as answer:
            text = answer.read().decode()
    except OSError:  # URLError included
        return None
    counters: dict[str, float] = dict.fromkeys(OUTCOMES, 0.0)
    delay_sum = 0.0
    counters["delays"] = 0.0
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == f"{ITEMS_METRIC}_total":
                counters[sample.labels["outcome"]] = counters.get(sample.labels["outcome"], 0.0) + sample.value
            elif sample.name == f"{DELAY_METRIC}_count":
                counters["delays"] += sample.value
            elif sample.name == f"{DELAY_METRIC}_sum":
                delay_sum += sample.value
    counters["delay_mean"] = delay_sum / counters["delays"] if counters["delays"] else 0.0
    return counters
