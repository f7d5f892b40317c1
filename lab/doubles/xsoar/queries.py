"""The simulated XSOAR's search language: query terms (`field:"value"`, `field:>=<time>`, `field:*`, `and`,
`or` when allowed), the IncidentFilter's time bounds and lists, its sort and its pages."""

import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from lab.doubles.xsoar.records import ZERO_TIME, Refusal, is_number

QUERY_TOKEN = re.compile(
    r"\s*(?:(?P<op>and|or)(?=\s)|(?P<field>[A-Za-z_][\w.]*):(?P<cmp>>=|<=|>|<)?"
    r'(?:"(?P<quoted>(?:[^"\\]|\\.)*)"|(?P<bare>[^\s"<>=][^\s"]*)))\s*',
    re.IGNORECASE,
)
DEFAULT_PAGE_SIZE = 50
COMPARISONS: dict[str, Callable[[Any, Any], bool]] = {
    "": lambda a, b: a == b,
    ">=": lambda a, b: a >= b,
    "<=": lambda a, b: a <= b,
    ">": lambda a, b: a > b,
    "<": lambda a, b: a < b,
}
DATE_FILTERS = {  # IncidentFilter bounds -> (incident field, inclusive comparison)
    "fromDate": ("created", ">="),
    "toDate": ("created", "<="),
    "fromClosedDate": ("closed", ">="),
    "toClosedDate": ("closed", "<="),
}


Term = tuple[str, str, str]  # (field, comparison: "" or >=, <=, >, <, * (has a value), value)
PRESENT = "*"


def parse_query(query: str, allow_or: bool = True) -> list[list[Term]]:
    """`a:"1" and b:>=2 or c:3` -> [[(a, "", 1), (b, ">=", 2)], [(c, "", 3)]]: OR of ANDs (a space is an and); []
    selects all. Without `allow_or`, `or` is refused: no real query found uses it (unconfirmed)."""
    groups: list[list[Term]] = [[]]
    position = 0
    while position < len(query.rstrip()):
        token = QUERY_TOKEN.match(query, position)
        if token is None:
            raise Refusal(f'unsupported query near {query[position:position + 40]!r}: use field:"value" terms')
        position = token.end()
        if token["op"] and token["op"].lower() == "or":
            if not allow_or:
                raise Refusal(f"unsupported query {query[:80]!r}: 'or' is not confirmed in XSOAR's query language")
            groups.append([])
        elif token["field"]:
            if token["bare"] == "*" and not token["cmp"]:  # field:* = the field has a value
                groups[-1].append((token["field"], PRESENT, ""))
                continue
            value = token["quoted"] if token["quoted"] is not None else token["bare"]
            groups[-1].append((token["field"], token["cmp"] or "", re.sub(r"\\(.)", r"\1", value)))
    if any(not group for group in groups) and query.strip():
        raise Refusal(f"unsupported query {query[:80]!r}: an operator without a term")
    return [group for group in groups if group]


def field_value(incident: dict[str, Any], field: str) -> Any:
    """A top-level field or a custom field (machine name), names compared case-insensitively."""
    wanted = field.lower()
    for source in (incident, incident.get("CustomFields") or {}):
        for key, value in source.items():
            if key.lower() == wanted and key != "CustomFields":
                return value
    return None


def as_text(value: Any) -> str | None:
    if value is None or isinstance(value, (dict, list)):
        return None
    if is_number(value) and float(value).is_integer():
        return str(int(value))
    return str(value)


def parse_time(value: Any) -> datetime | None:
    """An ISO-8601 time (UTC when it has no zone), None otherwise."""
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def comparable(value: Any, wanted: str) -> tuple[Any, Any] | None:
    """Both sides of a comparison as times, numbers or texts (the first that fits); None when not comparable."""
    for convert in (parse_time, as_float):
        left, right = convert(value), convert(wanted)
        if left is not None and right is not None:
            return left, right
    text = as_text(value)
    return (text, wanted) if text is not None else None


def as_float(value: Any) -> float | None:
    try:
        return float(value) if not isinstance(value, bool) else None
    except (TypeError, ValueError):
        return None


def term_matches(incident: dict[str, Any], term: Term) -> bool:
    field, comparison, wanted = term
    value = field_value(incident, field)
    if comparison == PRESENT:
        return value not in (None, "", [], {})
    if not comparison:
        return as_text(value) == wanted
    sides = comparable(value, wanted)
    return sides is not None and COMPARISONS[comparison](*sides)


def matches(incident: dict[str, Any], groups: list[list[Term]]) -> bool:
    if not groups:
        return True
    return any(all(term_matches(incident, term) for term in group) for group in groups)


def filter_terms(search: dict[str, Any]) -> list[Term]:
    """The IncidentFilter's time bounds as terms: `fromDate`/`toDate` (creation), `fromClosedDate`/`toClosedDate`;
    400 for a bound that is not a time."""
    terms: list[Term] = []
    for key, (field, comparison) in DATE_FILTERS.items():
        if search.get(key) is not None:
            if parse_time(search[key]) is None:
                raise Refusal(f"{key}: {str(search[key])[:40]!r} is not a date-time")
            terms.append((field, comparison, search[key]))
    return terms


def in_lists(incident: dict[str, Any], search: dict[str, Any]) -> bool:
    """The incident passes the filter's `id`, `status` and `notStatus` lists (absent or empty: no constraint)."""
    for key, field, wanted in (("id", "id", True), ("status", "status", True), ("notStatus", "status", False)):
        values = search.get(key)
        if values and (as_text(incident.get(field)) in {as_text(v) for v in values}) != wanted:
            return False
    return True


def sort_key(field: str) -> Callable[[dict[str, Any]], tuple]:
    """Times, then numbers, then texts; absent values last whatever the direction (XSOAR's order is unconfirmed)."""

    def key(incident: dict[str, Any]) -> tuple:
        value = field_value(incident, field)
        moment, number = parse_time(value), as_float(value)
        if moment is not None:
            return (0, moment.timestamp(), "")
        return (0, number, "") if number is not None else (0 if value else 1, 0, as_text(value) or "")

    return key


def sorted_incidents(incidents: list[dict[str, Any]], orders: Any) -> list[dict[str, Any]]:
    """The filter's `sort` (`[{"field", "asc"}]`, the first order wins ties with the next); creation order without."""
    if orders is None:
        return incidents
    if not isinstance(orders, list) or not all(
        isinstance(o, dict) and isinstance(o.get("field"), str) for o in orders
    ):
        raise Refusal('sort must be a list of {"field": <name>, "asc": <bool>}')
    ordered = list(incidents)
    for order in reversed(orders):
        present = [i for i in ordered if field_value(i, order["field"]) not in (None, "", ZERO_TIME)]
        kept = {id(incident) for incident in present}
        absent = [i for i in ordered if id(i) not in kept]
        ordered = sorted(present, key=sort_key(order["field"]), reverse=not order.get("asc", False)) + absent
    return ordered


def page_bounds(search: dict[str, Any]) -> tuple[int, int]:
    page, size = search.get("page") or 0, search.get("size") or DEFAULT_PAGE_SIZE
    if not all(isinstance(n, int) and not isinstance(n, bool) and n >= 0 for n in (page, size)):
        raise Refusal("page and size must be non-negative integers")
    return page * size, (page + 1) * size
