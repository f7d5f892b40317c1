"""`python -m lab`: the demo, playbook runs against real endpoints, the run history, checks and migration."""

import json
import sys
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, NoReturn

import typer
from rich.console import Console
from rich.markup import escape

from lab.doubles.server import Interrupts
from lab.doubles.symphony import Symphony
from lab.tools.chain import DEFAULT_PLAYBOOK, REPO_ROOT, DemoOptions, as_mode
from lab.tools.checks import check_file
from lab.tools.demo import run_demo
from lab.tools.history import History, HistoryError
from lab.tools.migrate import MigrationError, migrate_file
from lab.tools.playbook import Catalogue, PlaybookError, load_playbook
from lab.tools.runner import PlaybookRunners, RunnerError, RunnerOptions
from lab.tools.settings import ENV_PREFIX, SettingsError, load_settings, secret_values
from lab.tools.views import counters_table, run_detail, runs_table

app = typer.Typer(add_completion=False, no_args_is_help=True, help=__doc__)
console = Console() if sys.stdout.isatty() else Console(width=160)
STATE = REPO_ROOT / ".state"
StateOption = Annotated[Path, typer.Option(help="Where the run history is kept")]


def fail(message: str) -> NoReturn:
    console.print(f"[red]{escape(message)}[/]")
    raise typer.Exit(1)


@contextmanager
def reading(path: Path) -> Iterator[None]:
    """A file that is not UTF-8 ends the command with one clear line instead of a traceback."""
    try:
        yield
    except UnicodeDecodeError as exc:
        fail(f"{path}: not UTF-8 text (byte {exc.start}): save it as UTF-8 JSON")


@contextmanager
def opened_history(state: Path, secrets: Iterable[str] = ()) -> Iterator[History]:
    """The run history of `state`; one that cannot be opened (a corrupt file) ends the command with one clear line."""
    try:
        history = History(state / "runs.sqlite3", secrets=secrets)
    except HistoryError as exc:
        fail(str(exc))
    with history:
        yield history


@app.command()
def demo(
    alerts: Annotated[int, typer.Option(min=1, max=5000, help="How many alerts to raise")] = 5,
    mode: Annotated[str, typer.Option(help="webhook or api")] = "webhook",
    playbook: Annotated[Path, typer.Option(help="The playbook to run")] = DEFAULT_PLAYBOOK,
    process: Annotated[bool, typer.Option(help="Run each block as its own process, like a container")] = False,
    stay: Annotated[bool, typer.Option(help="Stay up after the runs, to inspect")] = False,
    sync: Annotated[bool, typer.Option(help="Also run the sync playbooks and end with the sync round")] = True,
    poll_interval: Annotated[
        float, typer.Option(min=0.2, max=300, help="Incident Updated's poll interval in seconds (default 30 s)")
    ] = 1.0,
    state: StateOption = STATE,
) -> None:
    """Simulated Sekoia.io and XSOAR, the shipped playbooks, a handful of varied alerts: the runs and the incidents,
    then the sync round (changes made as a person on either side cross to the other)."""
    if mode not in ("webhook", "api"):
        fail(f"--mode must be webhook or api, not {mode!r}")
    options = DemoOptions(
        alerts,
        as_mode(mode),
        playbook.resolve(),
        not process,
        stay,
        state=state,
        sync=sync,
        poll_interval=poll_interval,
    )
    try:
        succeeded = run_demo(options, console)
    except (PlaybookError, RunnerError, HistoryError, OSError) as exc:
        fail(str(exc))
    if not succeeded:
        fail("Not every alert got its incident or not every change crossed once: see the runs above (lab show <run>)")


@app.command()
def run(
    playbooks: Annotated[list[Path], typer.Argument(help="The playbooks to run, each trigger its own process")],
    config: Annotated[Path | None, typer.Option(help=f"Module configuration (JSON); {ENV_PREFIX}* override")] = None,
    process: Annotated[bool, typer.Option(help="Run each block as its own process")] = False,
    concurrency: Annotated[int, typer.Option(min=1, max=64)] = 4,
    state: StateOption = STATE,
) -> None:
    """Run playbooks against real Sekoia.io and XSOAR endpoints until Ctrl-C (secrets are never printed)."""
    try:
        settings = load_settings(config)
        loaded = []
        for playbook in playbooks:
            with reading(playbook):
                loaded.append(load_playbook(playbook))
    except (SettingsError, PlaybookError) as exc:
        fail(str(exc))
    state.mkdir(parents=True, exist_ok=True)
    options = RunnerOptions(in_process=not process, concurrency=concurrency)
    with (
        Symphony() as symphony,
        opened_history(state, secret_values(settings)) as history,
        tempfile.TemporaryDirectory(prefix="playbook-data-") as data_root,
    ):

        def show(run_id: int, status: str, summary: str) -> None:
            console.print(f"run {run_id}: {status} - {summary}")

        try:
            runners = PlaybookRunners.build(
                [(playbook, options) for playbook in loaded],
                Catalogue.from_module(),
                symphony,
                settings,
                history,
                Path(data_root),
                show,
            )
        except (PlaybookError, RunnerError) as exc:
            fail(str(exc))
        interrupts = Interrupts()
        runners.start()
        console.print(f"Running {', '.join(map(str, playbooks))}: waiting for changes (Ctrl-C to stop)")
        try:
            interrupts.wait()
            console.print("Stopping")
        finally:
            runners.stop()


@app.command()
def runs(limit: Annotated[int, typer.Option(min=1)] = 20, state: StateOption = STATE) -> None:
    """The latest runs: status, event, duration and each block's outcome; the triggers' counters."""
    with opened_history(state) as history:
        console.print(runs_table(history.recent_runs(limit)))
        if counts := history.recent_counters():
            console.print(counters_table(counts))


@app.command()
def show(run_id: Annotated[int, typer.Argument(help="Run number (see: runs)")], state: StateOption = STATE) -> None:
    """One run block by block: arguments, results, logs, errors."""
    with opened_history(state) as history:
        try:
            console.print(run_detail(history.run_detail(run_id)))
        except HistoryError as exc:
            fail(str(exc))


@app.command()
def check(playbook: Annotated[Path, typer.Argument(help="The playbook to check")]) -> None:
    """Check a playbook: structure, references, blocks and arguments."""
    with reading(playbook):
        problems = check_file(playbook, Catalogue.from_module())
    for problem in problems:
        console.print(f"[red]-[/] {problem}")
    if problems:
        raise typer.Exit(1)
    console.print(f"{playbook}: no problem found")


@app.command()
def migrate(
    source: Annotated[Path, typer.Argument(help="Playbook built with Sekoia.io's blocks and an HTTP request")],
    target: Annotated[Path, typer.Argument(help="Where to write the playbook with this module's blocks")],
    two_blocks: Annotated[
        bool,
        typer.Option(
            "--two-blocks",
            help="Alert Created -> Create Incident only: Get Alert and Get events are left out, Create Incident "
            "reads the trigger's alert file and fetches the events (faster: one block process instead of three)",
        ),
    ] = False,
) -> None:
    """Rewrite a playbook of the documentation's blocks with this module's blocks (paste it in Sekoia's Code tab)."""
    try:
        with reading(source):
            migration = migrate_file(source, target, Catalogue.from_module(), two_blocks)
    except (MigrationError, PlaybookError, OSError, json.JSONDecodeError) as exc:
        fail(str(exc))
    console.print(f"Wrote {target}")
    for note in migration.notes:
        console.print(f"- {note}")


if __name__ == "__main__":
    app(prog_name="python -m lab")
