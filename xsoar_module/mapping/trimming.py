"""Keep a JSON document under a size: trim its largest parts, say which. Pure functions, no I/O."""

import json
from typing import Any

import orjson

Path = tuple[str | int, ...]
MARK = " [truncated]"
MAX_ROUNDS = 200
MAX_NOTED = 20  # paths listed in a truncation note
MAX_PATH_TEXT = 100
DOMINANT = 4  # a child holding more than 1/4 of its parent is trimmed before its siblings are dropped
# A text the sync writes on either side (a comment, a war-room entry, close notes): half of a request's 512 KiB, as
# JSON, leaves room for the rest of the request
MAX_TEXT_BYTES = 256 * 1024
KEPT_LAST_LINE = 512  # a last line this short stays after a cut (the tag naming the note a comment mirrors)


def size(value: Any) -> int:
    """Bytes of `value` as compact JSON (what is sent)."""
    return len(orjson.dumps(value, default=str))


def bound(
    document: dict[str, Any], max_bytes: int, protected: frozenset[Path] = frozenset()
) -> tuple[dict[str, Any], list[str]]:
    """A copy of `document` at most `max_bytes` long as JSON, and the paths trimmed (`rule.name`, `details`).

    The largest part goes first: a string keeps its beginning and ends with a mark, a list its first items, an
    object loses its largest members. `protected` paths are never trimmed (nor dropped with their parent).
    """
    document = orjson.loads(orjson.dumps(document, default=str))
    trimmed: dict[str, None] = {}  # ordered, without repeats
    current = size(document)
    for _ in range(MAX_ROUNDS):
        excess = current - max_bytes
        path = _largest(document, (), protected, excess) if excess > 0 else None
        if path is None:
            break
        trimmed |= dict.fromkeys(_path_text(done) for done in _trim(document, path, excess, protected))
        current, before = size(document), current
        if current >= before:
            break
    return document, list(trimmed)


def bound_text(text: str, max_bytes: int = MAX_TEXT_BYTES) -> str:
    """The text when its JSON is at most `max_bytes` long; else its beginning, the visible mark and, when short, its
    last line (what a text ends with: who wrote it, which note it mirrors), together within `max_bytes`."""
    if _text_size(text) <= max_bytes:
        return text
    body, _, last = text.rpartition("\n")
    tail = f"\n{last}" if body and _text_size(last) <= KEPT_LAST_LINE else ""
    body = body if tail else text
    room = max_bytes - _text_size(tail) - len(MARK)
    keep = max(0, int(len(body) * room / _text_size(body)))
    while keep and _text_size(body[:keep]) > room:
        keep = keep * 9 // 10
    return body[:keep] + MARK + tail


def _text_size(text: str) -> int:
    """Bytes of the text as a JSON string (escapes included)."""
    try:
        return len(orjson.dumps(text))
    except orjson.JSONEncodeError:  # lone surrogates: counted as escaped
        return len(json.dumps(text))


def note(paths: list[str]) -> list[str]:
    """The trimmed paths as listed in a body: the first ones, each shortened."""
    return [path[:MAX_PATH_TEXT] for path in paths[:MAX_NOTED]]


def _children(node: Any) -> list[tuple[str | int, Any]]:
    if isinstance(node, dict):
        return list(node.items())
    if isinstance(node, list):
        return list(enumerate(node))
    return []


def _largest(node: Any, path: Path, protected: frozenset[Path], excess: int, node_size: int = 0) -> Path | None:
    """Down the largest unprotected child while it can absorb the excess or is a large share of its parent; else
    this container, whose largest members go (None: nothing can be trimmed here)."""
    candidates = [(size(child), key) for key, child in _children(node) if (*path, key) not in protected]
    if not candidates:
        return None
    biggest, key = max(candidates, key=lambda pair: pair[0])
    if biggest < excess and biggest * DOMINANT < (node_size or size(node)):
        return path
    child = node[key]
    if _children(child):
        return _largest(child, (*path, key), protected, excess, biggest) or (*path, key)
    return (*path, key)


def _trim(document: dict[str, Any], path: Path, excess: int, protected: frozenset[Path]) -> list[Path]:
    """Shrink what `path` points at by about `excess` bytes; the paths trimmed or dropped."""
    parent: Any = document
    for key in path[:-1]:
        parent = parent[key]
    value = parent[path[-1]] if path else document
    room = max(0, size(value) - excess - len(MARK) - 2)
    if isinstance(value, dict):
        return [(*path, key) for key in _drop_largest(value, room, path, protected)]
    if isinstance(value, str):
        parent[path[-1]] = _cut_text(value, room)
    elif isinstance(value, list):
        parent[path[-1]] = _first_items(value, room)
    else:
        parent[path[-1]] = None
    return [path]


def _cut_text(text: str, room: int) -> str:
    encoded = orjson.dumps(text)
    if room <= 2:
        return MARK.strip()
    keep = max(0, int(len(text) * (room - 2) / max(1, len(encoded) - 2)))
    return text[:keep] + MARK


def _first_items(items: list[Any], room: int) -> list[Any]:
    kept: list[Any] = []
    left = room - 2
    for item in items:
        left -= size(item) + 1
        if left < 0:
            break
        kept.append(item)
    return kept


def _drop_largest(members: dict[str, Any], room: int, path: Path, protected: frozenset[Path]) -> list[str]:
    """Delete the largest unprotected members until the object fits in `room`; their keys."""
    sizes = {key: size(key) + size(value) + 2 for key, value in members.items()}
    total = size(members)
    dropped = []
    for key in sorted(sizes, key=sizes.__getitem__, reverse=True):
        if total <= room:
            break
        if not any(kept[: len(path) + 1] == (*path, key) for kept in protected):
            del members[key]
            total -= sizes[key]
            dropped.append(key)
    return dropped


def _path_text(path: Path) -> str:
    return ".".join(str(part) for part in path)
