"""Hostile configurations of the Alert Created trigger (cases in trigger_configurations.py)."""

import re

import pytest

from tests.hostile.harness import Outcome, assert_clean, data_files, params
from tests.hostile.trigger_configurations import CASES

# one worker plays the shared trigger session and the configuration cases (started together): not once per worker
pytestmark = [pytest.mark.xdist_group("hostile-trigger"), pytest.mark.long]


@pytest.mark.parametrize("case", params(CASES))
def test_trigger_configuration(case, trigger_configurations, trigger_hosts):
    started = trigger_configurations[case.id]
    messages = [str(log.get("message")) for log in started.logs]
    outcome = Outcome(
        logs=messages,
        visible={"stderr": started.stderr} | data_files(started.data_path),
        foreign=list(trigger_hosts.foreign.requests),
    )
    assert_clean(outcome, case)
    assert "Traceback" not in started.stderr, started.stderr[-1500:]
    assert started.reached, f"never reached its expected state; logs: {messages[-5:]}"
    given = case.given
    if "logs" in given:
        level = given.get("level")
        chosen = [str(log.get("message")) for log in started.logs if level in (None, log.get("level"))]
        assert any(re.search(given["logs"], text, re.IGNORECASE) for text in chosen), f"logs: {messages[-5:]}"
