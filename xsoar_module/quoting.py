"""Bounds on what a block writes: a 10 MiB input never becomes a 10 MiB log line or error."""

import re
from typing import Any

ELLIPSIS = "…"
MAX_QUOTED = 200  # an input (query, name, URL) quoted in a log line or an error
MAX_MESSAGE = 4000  # a whole log line or error message
MAX_IDENTIFIER = 128  # a UUID, a short ID, an incident ID
# C0 and C1 controls, DEL and the Unicode line and paragraph separators: what breaks or forges a log line
CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def single_line(text: str) -> str:
    """The text with its control characters and line separators escaped as Python writes them (`\\n`, `\\x1b`):
    a value from the network cannot start a forged log line."""
    return CONTROL.sub(lambda match: repr(match.group())[1:-1], text)


def _cut(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    return f"{text[:limit]}{ELLIPSIS} ({len(text)} characters)"


def shorten(text: Any, limit: int = MAX_QUOTED) -> str:
    """The text on one line (`single_line`), itself when short enough, else its beginning, an ellipsis and its
    length."""
    return _cut(single_line(str(text)), limit)


def quoted(value: Any, limit: int = MAX_QUOTED) -> str:
    """`'value'` as Python quotes it (control characters escaped), shortened: for inputs named in messages."""
    return repr(_cut(value, limit)) if isinstance(value, str) else shorten(repr(value), limit)


def check_identifier(value: str, name: str, limit: int = MAX_IDENTIFIER) -> str:
    """The identifier, or ValueError naming the argument and quoting only its beginning."""
    if len(value) > limit:
        raise ValueError(
            f"{name} is {len(value)} characters long: an identifier has at most {limit} "
            f"(it starts with {value[:24]!r})"
        )
    if any(ord(character) < 32 or ord(character) == 127 for character in value):
        raise ValueError(f"{name} contains a line break or a control character: give the identifier alone")
    return value
