"""Bounds on what a block writes: a 10 MiB input never becomes a 10 MiB log line or error."""

from typing import Any

ELLIPSIS = "…"
MAX_QUOTED = 200  # an input (query, name, URL) quoted in a log line or an error
MAX_MESSAGE = 4000  # a whole log line or error message
MAX_IDENTIFIER = 128  # a UUID, a short ID, an incident ID


def shorten(text: Any, limit: int = MAX_QUOTED) -> str:
    """The text itself when short enough, else its beginning, an ellipsis and its length."""
    string = str(text)
    if len(string) <= limit:
        return string
    return f"{string[:limit]}{ELLIPSIS} ({len(string)} characters)"


def quoted(value: Any, limit: int = MAX_QUOTED) -> str:
    """`'value'` as Python quotes it, shortened: for inputs named in messages."""
    return repr(shorten(value, limit)) if isinstance(value, str) else shorten(repr(value), limit)


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
