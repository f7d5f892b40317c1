"""Import of main.py next to the bare SDK import, measured as the image runs it.

Each module folder's image /app is rebuilt from its build context (`.dockerignore`) and precompiled (`python -m
compileall`), then made read-only; every sample is a fresh interpreter started in it (as `python ./main.py`), timing
the import inside the process (wall and CPU time) and the whole process from outside. The commands alternate (in a
random order within each round), so that the load of a shared machine weighs on all alike; the ratio to the bare SDK
is taken round by round. CPU time is the figure the load of other processes disturbs least.
Usage, from the repository root: .venv/bin/python benchmarks/imports.py [rounds] [module folder...]
(default: 200 rounds, this repository; give another folder, e.g. an older revision's `git archive`, to compare).
"""

import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.harness.measure import load_line, percentile  # noqa: E402
from lab.tools.image import image_app  # noqa: E402

BARE_SDK = "import sekoia_automation.action, sekoia_automation.trigger, sekoia_automation.module"
PROBE = (
    "import time; started, cpu = time.perf_counter(), time.process_time(); {statement}; "
    "print(time.perf_counter() - started, time.process_time() - cpu)"
)
FIGURES = ("import, wall", "import, CPU", "whole process, wall")
# root writes into a read-only folder anyway: PYTHONDONTWRITEBYTECODE stands for the image's runtime user
ENVIRONMENT = {"PATH": os.environ.get("PATH", "/usr/bin"), "PYTHONDONTWRITEBYTECODE": "1"}


def sample(app: Path, statement: str) -> tuple[float, ...]:
    """Seconds of a fresh interpreter: the import's wall and CPU time measured inside, the process' wall outside."""
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", PROBE.format(statement=statement)],
        cwd=app,
        env=ENVIRONMENT,
        capture_output=True,
        text=True,
        check=True,
    )
    wall, cpu = (float(figure) for figure in done.stdout.split())
    return wall, cpu, time.perf_counter() - started


def set_writable(folder: Path, writable: bool) -> None:
    for path in [folder, *folder.rglob("*")]:
        mode = path.stat().st_mode
        path.chmod(mode | 0o200 if writable else mode & ~0o222)


def snapshot(app: Path) -> dict[str, int]:
    return {str(path.relative_to(app)): path.stat().st_mtime_ns for path in app.rglob("*")}


def measure(commands: dict[str, tuple[Path, str]], rounds: int) -> dict[str, list[tuple[float, ...]]]:
    samples: dict[str, list[tuple[float, ...]]] = {name: [] for name in commands}
    for app, statement in commands.values():  # warm the page cache, unmeasured
        sample(app, statement)
    for _ in range(rounds):
        for name in random.sample(list(commands), len(commands)):
            samples[name].append(sample(*commands[name]))
    return samples


def median_interval(values: list[float], resamples: int = 2000) -> tuple[float, float]:
    """95% bootstrap interval of the median: how precisely the rounds pin it down."""
    draw = random.Random(0)
    medians = [statistics.median(draw.choices(values, k=len(values))) for _ in range(resamples)]
    return percentile(medians, 0.025), percentile(medians, 0.975)


def report(samples: dict[str, list[tuple[float, ...]]]) -> None:
    width = max(len(name) for name in samples)
    for index, label in enumerate(FIGURES):
        figures = {name: [1000 * values[index] for values in runs] for name, runs in samples.items()}
        print(label)
        for name, ms in figures.items():
            line = f"  {name:<{width}}  median {statistics.median(ms):7.1f} ms  p95 {percentile(ms, 0.95):7.1f} ms"
            if name != "bare SDK":
                bare = figures["bare SDK"]
                ratios = [one / other for one, other in zip(ms, bare, strict=True)]
                low, high = median_interval(ratios)
                line += (
                    f"  / bare SDK: ratio of medians {statistics.median(ms) / statistics.median(bare):.3f}"
                    f"; round ratios median {statistics.median(ratios):.3f} (95% interval {low:.3f}-{high:.3f})"
                    f", p5 {percentile(ratios, 0.05):.3f}, p95 {percentile(ratios, 0.95):.3f}"
                )
            print(line)


def main() -> None:
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 200
    folders = [Path(folder).resolve() for folder in sys.argv[2:]] or [ROOT]
    with tempfile.TemporaryDirectory() as temporary:
        apps = {folder: image_app(Path(temporary) / str(index), folder) for index, folder in enumerate(folders)}
        set_writable(Path(temporary), False)
        before = {folder: snapshot(app) for folder, app in apps.items()}
        commands = {f"main.py of {folder.name}": (app, "import main") for folder, app in apps.items()}
        samples = measure(commands | {"bare SDK": (apps[folders[0]], BARE_SDK)}, rounds)
        changed = [folder for folder, app in apps.items() if snapshot(app) != before[folder]]
        set_writable(Path(temporary), True)  # let the temporary folder be removed
    if changed:
        raise RuntimeError(f"the app folder of {changed} changed: its bytecode was not all precompiled")
    print(f"python {sys.version.split()[0]}, {rounds} interleaved rounds, precompiled read-only app folders\n")
    report(samples)
    print(load_line())


if __name__ == "__main__":
    main()
