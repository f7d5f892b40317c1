"""The harness's own checks catch what they claim to: every encoding of a canary, long lines, wrong errors."""

import base64
import json
from urllib.parse import quote

import pytest

from tests.hostile.harness import MAX_LINE, Case, Outcome, assert_clean, assert_expected, params
from tests.support import SEKOIA_KEY, XSOAR_PASSWORD, XSOAR_TOKEN

SPECIAL = "p+ss/w=rd&canary\r\n€"


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


@pytest.mark.parametrize(
    "text",
    [
        f"error: {SEKOIA_KEY}",
        f"Authorization: Basic {b64('sekoia:' + XSOAR_PASSWORD)}",
        f"Authorization: {b64('Bearer ' + XSOAR_TOKEN)}",
        f"echo {b64('xy' + SEKOIA_KEY + 'tail')}",
        base64.urlsafe_b64encode(f"z{XSOAR_TOKEN}".encode()).decode(),
        f"url {quote(SPECIAL, safe='')}",
        f"json {json.dumps(SPECIAL)}",
        f"repr {SPECIAL!r}",
    ],
    ids=["plain", "basic", "bearer-base64", "base64-offset-2", "urlsafe-base64", "url-encoded", "json", "repr"],
)
def test_every_encoding_of_a_canary_is_caught(text):
    with pytest.raises(AssertionError, match="leaked"):
        assert_clean(Outcome(logs=[text]), Case("probe", canaries=(SPECIAL,)))


@pytest.mark.parametrize("where", ["error", "results", "visible", "foreign"])
def test_every_place_is_searched(where):
    values = {"error": SEKOIA_KEY, "results": {"id": SEKOIA_KEY}, "visible": {"file x": SEKOIA_KEY}}
    outcome = Outcome(**{where: values.get(where, [SEKOIA_KEY])})
    with pytest.raises(AssertionError, match="leaked"):
        assert_clean(outcome, Case("probe"))


def test_long_lines_and_clean_outcomes():
    assert_clean(Outcome(error="short", logs=["fine"] * 3), Case("probe"))
    with pytest.raises(AssertionError, match="log lines"):
        assert_clean(Outcome(logs=["x" * (MAX_LINE + 1)]), Case("probe"))
    with pytest.raises(AssertionError, match="characters"):
        assert_clean(Outcome(error="x" * (MAX_LINE + 1)), Case("probe"))


def test_expectations():
    assert_expected(Outcome(error="Invalid arguments: limit: too big"), Case("probe", error=r"LIMIT"))
    with pytest.raises(AssertionError, match="does not match"):
        assert_expected(Outcome(error="something else"), Case("probe", error=r"limit"))
    with pytest.raises(AssertionError, match="succeeded"):
        assert_expected(Outcome(), Case("probe", error=r"limit"))
    with pytest.raises(AssertionError, match="stack trace"):
        assert_expected(Outcome(error="Traceback (most recent call last): limit"), Case("probe", error=r"limit"))


def test_cases_name_their_part_and_have_unique_ids():
    with pytest.raises(AssertionError, match="xfail must start"):
        params([Case("a", xfail="someone else")])
    with pytest.raises(AssertionError, match="duplicate"):
        params([Case("a"), Case("a")])
