"""Readable tables: the local counterpart of Sekoia.io's Runs page, and what XSOAR received."""

import json
import re
from typing import Any

from rich.console import Group
from rich.panel import Panel
from rich.table import Table

from lab.tools.history import BlockRun, Run, TriggerCounts
from xsoar_module.actions.base import OUTCOME
from xsoar_module.sync.marker import MARKER, is_marked
from xsoar_module.triggers.core.counters import OUTCOMES

STATUS_STYLE = {"succeeded": "green", "failed": "red", "running": "yellow", "skipped": "dim"}
OUTCOME_LOGGED = re.compile(re.escape(OUTCOME) + r"(\w+)")


def _status(status: str) -> str:
    return f"[{STATUS_STYLE.get(status, 'white')}]{status}[/]"


def _duration(run: Run) -> str:
    total = sum(block.duration or 0.0 for block in run.blocks)
    return f"{total * 1000:.0f} ms"


def _outcome(block: BlockRun) -> str:
    """The outcome class the action logged last (`Outcome: applied`), as ` (applied)`; empty when none."""
    found = OUTCOME_LOGGED.findall(json.dumps(block.logs)) if block.logs else []
    return f" ({found[-1]})" if found else ""


def runs_table(runs: list[Run]) -> Table:
    """One line per run: status, event, duration, and each block's status and outcome class."""
    table = Table(title="Playbook runs", show_lines=False)
    for column in ("run", "status", "event", "started", "duration", "blocks"):
        table.add_column(column)
    for run in runs:
        blocks = "  ".join(f"{block.node_id}:{_status(block.status)}{_outcome(block)}" for block in run.blocks)
        table.add_row(str(run.id), _status(run.status), run.summary, run.started[11:23], _duration(run), blocks)
    return table


def counters_table(counts: list[TriggerCounts]) -> Table:
    """The triggers' counters, as each process served them before it stopped."""
    table = Table(title="Trigger counters (at their stop)")
    for column in ("playbook", "trigger", "recorded", *(name.replace("_", " ") for name in OUTCOMES), "delay"):
        table.add_column(column)
    for count in counts:
        numbers = [f"{count.counters.get(name, 0):.0f}" for name in OUTCOMES]
        delays = count.counters.get("delays", 0)
        delay = f"mean {count.counters.get('delay_mean', 0):.1f} s over {delays:.0f}" if delays else "-"
        table.add_row(count.playbook_name, count.trigger, count.recorded[:19], *numbers, delay)
    return table


def _compact(value: Any, limit: int = 1500) -> str:
    text = json.dumps(value, indent=2, default=str) if not isinstance(value, str) else value
    return text if len(text) <= limit else text[:limit] + f"\n... ({len(text) - limit} more characters)"


def run_detail(run: Run) -> Group:
    """A run block by block: arguments (secrets masked), results, logs, error, timing."""
    header = (
        f"Run {run.id} of [bold]{run.playbook_name}[/] - {_status(run.status)} - {run.summary}\n"
        f"started {run.started}, ended {run.ended or '-'}"
    )
    parts: list[Any] = [header]
    if run.error:
        parts.append(f"[red]error:[/] {run.error}")
    for block in run.blocks:
        body = [f"status {_status(block.status)}, {1000 * (block.duration or 0):.0f} ms"]
        if block.arguments is not None:
            body.append(f"[bold]arguments[/]\n{_compact(block.arguments)}")
        if block.results is not None:
            body.append(f"[bold]results[/]\n{_compact(block.results)}")
        if block.logs:
            body.append(f"[bold]logs[/]\n{_compact(block.logs)}")
        if block.error:
            body.append(f"[bold red]error[/]\n{block.error}")
        parts.append(Panel("\n".join(body), title=f"node {block.node_id}: {block.block_name}", title_align="left"))
    return Group(*parts)


def incidents_table(incidents: list[dict[str, Any]]) -> Table:
    """What XSOAR received: id, name, severity, alertId, link, events, type, mapped urgency and status, custom
    fields."""
    table = Table(title="Incidents received by XSOAR")
    for column in (
        "id",
        "via",
        "name",
        "severity",
        "alertId",
        "alertUrl",
        "events",
        "type",
        "urgency",
        "status",
        "fields",
    ):
        table.add_column(column)
    for incident in incidents:
        table.add_row(
            str(incident.get("id")),
            str(incident.get("source", "")),
            str(incident.get("name")),
            f"{incident.get('severity', 0):g}",
            str(incident.get("alertId")),
            str(incident.get("alertUrl")),
            str(incident.get("events")),
            str(incident.get("type")),
            str(incident.get("urgency") or ""),
            str(incident.get("status") or ""),
            str(incident.get("fields")),
        )
    return table


def _first_line(text: str, limit: int = 48) -> str:
    line = text.strip().splitlines()[0] if text.strip() else ""
    return line if len(line) <= limit else line[: limit - 1] + "…"


def _brief(text: str) -> str:
    """A comment or entry in a line: a text the module wrote is `synced: ` and what it mirrors (its paragraph that
    is neither the author's header `**...**` nor the attribution `(...)`), without the marker."""
    if not is_marked(text):
        return _first_line(text)
    paragraphs = [part.strip() for part in text.replace(MARKER, "").split("\n\n") if part.strip()]
    content = next(
        (part for part in paragraphs if not part.startswith(("**", "("))), paragraphs[0] if paragraphs else ""
    )
    return "synced: " + _first_line(content, 40)


def _texts(texts: list[str]) -> str:
    """One line per text."""
    return "\n".join(_brief(text) for text in texts) or "-"


def sync_runs_table(runs: list[Run]) -> Table:
    """The sync playbooks' runs: the change each one carried and what its action did."""
    table = Table(title="Sync runs")
    for column in ("run", "status", "change", "action", "duration"):
        table.add_column(column)
    for run in runs:
        results = run.blocks[-1].results if run.blocks else None
        action = results.get("action") if isinstance(results, dict) else None
        table.add_row(str(run.id), _status(run.status), run.summary, str(action or "-"), _duration(run))
    return table


def pair_states_table(rows: list[dict[str, Any]]) -> Table:
    """Both sides after the sync round: status, close reason and notes, comments and war-room entries."""
    table = Table(title="Both sides after the sync round", show_lines=True)
    for column in (
        "alert",
        "Sekoia.io status",
        "alert comments",
        "incident",
        "XSOAR",
        "close reason / notes",
        "war room",
        "urgency -> severity (incident's urgency), events",
    ):
        table.add_column(column)
    for row in rows:
        table.add_row(
            row["alert"],
            row["sekoia_status"],
            _texts(row["comments"]),
            row["incident"],
            row["xsoar_status"],
            " / ".join(part for part in (row["close_reason"], _brief(row["close_notes"])) if part) or "-",
            _texts(row["entries"]),
            f"{row['urgency']} -> {row['severity']:g} ({row['incident_urgency']}), {row['events']} event(s)",
        )
    return table
