"""The marker and own-change recognition: every text this module writes on either side (a Sekoia.io comment, an
XSOAR war-room entry, XSOAR close notes) ends with `MARKER`, so that the sync recognises its own changes and never
sends them back (no echo). Pure, no I/O."""

from typing import Any

MARKER = "[synced by the Sekoia.io XSOAR module]"
AUTHOR = "Cortex XSOAR"  # author of the Sekoia.io comments this module writes (at most 32 characters)


def is_marked(text: Any) -> bool:
    """True when a text was written by this module (it carries the marker)."""
    return isinstance(text, str) and MARKER in text


def marked(text: str) -> str:
    """The text as this module writes it: bounded (`bound_text`, a request stays under 512 KiB), the marker on its
    last line."""
    from xsoar_module.mapping.trimming import MAX_TEXT_BYTES, bound_text  # orjson: loaded when a block writes

    return f"{bound_text(text.rstrip(), MAX_TEXT_BYTES - len(MARKER) - 4)}\n\n{MARKER}"


def made_by_module(record: dict[str, Any], identity: str | None, texts: list[Any]) -> bool:
    """Whether a comment or history entry was made by this module, by what a person cannot forge: its `created_by` is
    the module's API key identity (`GET /v1/me`, when it gives one), or it was made with an API key
    (`created_by_type` apikey: a person's changes are `user`) and one of its `texts` carries the marker."""
    marked_by_apikey = record.get("created_by_type") == "apikey" and any(is_marked(text) for text in texts)
    return own_change(record.get("created_by"), identity, marked_by_apikey)


def own_change(by: Any, identity: str | None, marked_by_apikey: bool) -> bool:
    """The one definition of this module's own change: made by its API key's identity (when known), or made with an
    API key and carrying the marker (`marked_by_apikey`). A person's text quoting the marker never counts."""
    return (identity is not None and by == identity) or marked_by_apikey
