"""Playbook arguments as Sekoia.io renders them: sandboxed Jinja over the results of the nodes that ran before.

The context is `{"node": {"0": results of node 0, ...}}`; `node.0.x` and `node['0'].x` both work. A string
that is exactly one `{{ expression }}` renders to the expression's native value (object, list, number,
boolean); any other string renders to text. Dicts and lists are rendered item by item.
"""

import json
import re
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Any

import jinja2
from jinja2 import StrictUndefined, Undefined, nodes
from jinja2.sandbox import SandboxedEnvironment

WHOLE_EXPRESSION = re.compile(r"^\s*\{\{(?P<expression>.*?)\}\}\s*$", re.DOTALL)
TEMPLATE_MARKERS = ("{{", "{%")
JSONPATH_STEP = re.compile(
    r"\.(?P<name>[\w\-]+)|\[(?P<index>-?\d+)\]|\[(?P<quote>['\"])(?P<key>.*?)(?P=quote)\]|(?P<all>\[\*\]|\.\*)"
)


class TemplateError(Exception):
    """An argument could not be rendered; the message names the node, the argument and the expression."""

    def __init__(self, node_id: str, argument: str, source: str, reason: str):
        self.node_id, self.argument, self.source, self.reason = node_id, argument, source, reason
        super().__init__(f"node {node_id}, argument {argument!r}: {source!r}: {reason}")


class NodeResults:
    """`node` in templates: results by node id, reachable as `node.0` (an int key) or `node['0']`."""

    def __init__(self, results: Mapping[str, Any]):
        self._results = {str(key): value for key, value in results.items()}

    def __getitem__(self, key: Any) -> Any:
        if str(key) in self._results:
            return self._results[str(key)]
        known = ", ".join(self._results) or "none"
        return StrictUndefined(hint=f"node {key} has no results (nodes with results: {known})")

    def __contains__(self, key: Any) -> bool:
        return str(key) in self._results


def build_context(results: Mapping[str, Any]) -> dict[str, Any]:
    """The rendering context of a node, from the results of the nodes that ran before it, by node id."""
    return {"node": NodeResults(results)}


def is_template(value: Any) -> bool:
    """True for a string holding a Jinja expression or statement."""
    return isinstance(value, str) and any(marker in value for marker in TEMPLATE_MARKERS)


def _moment(value: Any) -> datetime:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return datetime.fromtimestamp(value, UTC)
    text = str(value).strip()
    if text == "now":
        return datetime.now(UTC)
    if re.fullmatch(r"-?\d+(\.\d+)?", text):
        return datetime.fromtimestamp(float(text), UTC)
    moment = datetime.fromisoformat(text)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _iso8601(moment: datetime) -> str:
    moment = moment.astimezone(UTC)
    return moment.isoformat(timespec="milliseconds" if moment.microsecond else "seconds").replace("+00:00", "Z")


def timestamp_to_iso8601(value: Any) -> str:
    """Epoch seconds (number or digits) -> ISO-8601 UTC text: `1764316800 -> 2025-11-28T08:00:00Z`."""
    return _iso8601(_moment(value))


def iso8601_to_timestamp(value: Any) -> int | float:
    """ISO-8601 text (no zone: UTC) -> epoch seconds, an int when whole: `2025-11-28T08:00:00Z -> 1764316800`."""
    seconds = _moment(value).timestamp()
    return int(seconds) if seconds.is_integer() else seconds


def time_with_delta(
    value: Any = "now", weeks: float = 0, days: float = 0, hours: float = 0, minutes: float = 0, seconds: float = 0
) -> str:
    """A time shifted by a delta, as ISO-8601 UTC text: `'now' | time_with_delta(days=-1)`.

    The time may be ISO-8601 text, epoch seconds or `now`; the delta parts may be negative.
    """
    delta = timedelta(weeks=weeks, days=days, hours=hours, minutes=minutes, seconds=seconds)
    return _iso8601(_moment(value) + delta)


def fromjson(value: Any) -> Any:
    """JSON text -> value; a value that is not text (an already decoded event) is returned as is."""
    return json.loads(value) if isinstance(value, (str, bytes)) else value


def tojson(value: Any, indent: int | None = None) -> str:
    """Value -> JSON text, without the HTML escaping of Jinja's own `tojson`."""
    return json.dumps(value, indent=indent, default=str)


def jsonpath(value: Any, path: str) -> Any:
    """The value at a JSONPath, in a small subset: `$`, `.key`, `['key']`, `[0]`, `[-1]`, `[*]` and `.*`.

    Without a wildcard: the value, or None when the path leads nowhere. With one: the list of matches.
    """
    if not path.startswith("$"):
        raise ValueError(f"JSONPath {path!r} must start with $")
    steps, position = [], 1
    while position < len(path):
        step = JSONPATH_STEP.match(path, position)
        if not step:
            raise ValueError(f"JSONPath {path!r}: unsupported syntax at {path[position:]!r}")
        steps.append(step)
        position = step.end()
    matches = [value]
    for step in steps:
        matches = [found for item in matches for found in _follow(item, step)]
    if any(step["all"] for step in steps):
        return matches
    return matches[0] if matches else None


def _follow(item: Any, step: re.Match) -> list[Any]:
    if step["all"]:
        return list(item.values()) if isinstance(item, dict) else list(item) if isinstance(item, list) else []
    if step["index"] is not None:
        index = int(step["index"])
        return [item[index]] if isinstance(item, list) and -len(item) <= index < len(item) else []
    key = step["name"] if step["name"] is not None else step["key"]
    return [item[key]] if isinstance(item, dict) and key in item else []


def regex_match(value: Any, pattern: str) -> bool:
    """True when the text matches the pattern from its start (Python's `re.match`): `x | regex_match('^AL')`."""
    return re.match(pattern, str(value)) is not None


FILTERS = {
    "timestamp_to_iso8601": timestamp_to_iso8601,
    "iso8601_to_timestamp": iso8601_to_timestamp,
    "time_with_delta": time_with_delta,
    "fromjson": fromjson,
    "tojson": tojson,
    "jsonpath": jsonpath,
    "regex_match": regex_match,
}


@cache
def environment() -> SandboxedEnvironment:
    """The shared sandboxed environment: strict undefined values and Sekoia.io's filters."""
    env = SandboxedEnvironment(undefined=StrictUndefined, keep_trailing_newline=True)
    env.filters.update(FILTERS)
    return env


@cache
def _compiled(source: str) -> jinja2.Template:
    return environment().from_string(source)


def _render_text(source: str, context: dict[str, Any]) -> Any:
    whole = WHOLE_EXPRESSION.match(source)
    if whole and not any(marker in whole["expression"] for marker in ("{{", "}}", "{%", "%}")):
        value = environment().compile_expression(whole["expression"], undefined_to_none=False)(**context)
        if isinstance(value, Undefined):
            str(value)  # a strict undefined raises its own message when read
        return value
    return _compiled(source).render(context)


def render_value(value: Any, context: dict[str, Any], node_id: str, argument: str) -> Any:
    """Render one argument value (recursively); `argument` is its place, e.g. `fields.severity`."""
    if isinstance(value, dict):
        return {key: render_value(item, context, node_id, f"{argument}.{key}") for key, item in value.items()}
    if isinstance(value, list):
        return [render_value(item, context, node_id, f"{argument}[{index}]") for index, item in enumerate(value)]
    if not is_template(value):
        return value
    try:
        return _render_text(value, context)
    except jinja2.TemplateError as exc:
        raise TemplateError(node_id, argument, value, exc.message or type(exc).__name__) from None
    except Exception as exc:  # a filter failing on its input, e.g. a date that is not ISO-8601
        raise TemplateError(node_id, argument, value, f"{type(exc).__name__}: {exc}") from None


def render_arguments(arguments: Mapping[str, Any] | None, context: dict[str, Any], node_id: str) -> dict[str, Any]:
    """Render the arguments of node `node_id` over `context` (see `build_context`)."""
    return {name: render_value(value, context, node_id, name) for name, value in (arguments or {}).items()}


def referenced_nodes(source: str) -> set[str]:
    """The node ids a template reads through `node.N` or `node['N']`; raises jinja2.TemplateError if invalid.

    Compiling also catches unknown filters.
    """
    env = environment()
    tree = env.parse(source)
    env.compile(tree)
    return {
        str(item.arg.value)
        for item in tree.find_all(nodes.Getitem)
        if isinstance(item.node, nodes.Name) and item.node.name == "node" and isinstance(item.arg, nodes.Const)
    }
