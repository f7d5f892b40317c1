"""Create Incident's cold run next to a bare HTTP-request block's, both as the platform runs blocks.

Each sample is a fresh `python main.py <block>` process through the SDK protocol (the platform stand-in's callbacks),
from process start to the `finished` callback, in a precompiled copy of its /app: Create Incident (webhook mode, the
alert and its events given, as the last block of the documentation's chain: one XSOAR request) in this module's image,
and a bare block, an SDK action whose run is one `requests.post` of the same incident to the same webhook, in a
module of its own. The two alternate (in a random order within each round) so that the load of a shared machine
weighs on both alike; the ratio is taken round by round.
Usage, from the repository root: .venv/bin/python benchmarks/cold_block.py [rounds, default 20]
"""

import json
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.harness.measure import load_line, percentile  # noqa: E402
from lab.doubles.symphony import Symphony  # noqa: E402
from lab.doubles.xsoar import XsoarSimulator  # noqa: E402
from lab.tools.image import image_app  # noqa: E402

TOKEN = "bench-xsoar-token"
ALERT = json.loads((ROOT / "lab" / "samples" / "alert.json").read_text())
EVENTS = json.loads((ROOT / "lab" / "samples" / "alert_events.json").read_text())["items"]
FIGURES = ("wall, start -> finished callback", "wall, start -> process exit", "CPU of the block's process")
BARE_MAIN = '''"""A bare HTTP-request block: the SDK and one requests.post."""

import requests
from sekoia_automation.action import Action
from sekoia_automation.module import Module


class BareRequest(Action):
    def run(self, arguments):
        response = requests.post(arguments["url"], json=arguments["json"], headers=arguments["headers"], timeout=60)
        response.raise_for_status()
        return {"status_code": response.status_code}


if __name__ == "__main__":
    module = Module()
    module.register(BareRequest, "BareRequest")
    module.run()
'''


def bare_app(folder: Path) -> Path:
    folder.mkdir()
    (folder / "main.py").write_text(BARE_MAIN)
    (folder / "manifest.json").write_text(json.dumps({"name": "Bare HTTP request", "configuration": {}}))
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(folder)], check=True)
    return folder


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def cold_run(symphony: Symphony, block: str, config: dict, arguments: dict, data: Path) -> tuple[float, float, float]:
    """The run's wall times, process start -> finished callback and -> process exit, and its process' CPU time."""
    cpu, started = children_cpu(), time.monotonic()
    result = symphony.run_action(block, config, arguments, data_path=data)
    ended = time.monotonic()
    if result.error or result.status != "finished":
        raise RuntimeError(f"{block} failed: {result.error or result.stderr}")
    return result.duration, ended - started, children_cpu() - cpu


def last_body(xsoar: XsoarSimulator) -> dict:
    """The body of the latest request XSOAR received (a webhook incident, for the bare block to send again)."""
    return json.loads(xsoar.requests[-1]["body"])


def bare_arguments(body: dict, xsoar: XsoarSimulator) -> dict:
    """The bare block's arguments: post `body` to the webhook of `xsoar` (its token set)."""
    return {"url": xsoar.webhook_url, "json": body, "headers": {"Authorization": f"Bearer {xsoar.webhook_token}"}}


@contextmanager
def bare_block(scratch: Path) -> Iterator[Callable[[dict], tuple[float, float, float]]]:
    """Runs of the bare block (own process, SDK protocol) with the given arguments: wall and CPU times each."""
    with Symphony(bare_app(scratch / "bare")) as platform:
        yield lambda arguments: cold_run(platform, "BareRequest", {}, arguments, scratch / "bare-data")


def main() -> None:
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 20
    with (
        tempfile.TemporaryDirectory() as scratch,
        XsoarSimulator(webhook_token=TOKEN) as xsoar,
        Symphony(image_app(Path(scratch) / "app")) as module,
        bare_block(Path(scratch)) as bare,
    ):
        data = Path(scratch) / "data"
        config = {"base_url": "http://127.0.0.1:9", "api_key": "unused", "xsoar_url": xsoar.webhook_url}
        config |= {"xsoar_token": TOKEN}
        arguments = {"alert": ALERT, "events": EVENTS}
        cold_run(module, "CreateIncident", config, arguments, data)
        resend = bare_arguments(last_body(xsoar), xsoar)
        blocks = {
            "bare requests.post block": lambda: bare(resend),
            "Create Incident": lambda: cold_run(module, "CreateIncident", config, arguments, data),
        }
        samples: dict[str, list[tuple[float, float, float]]] = {name: [] for name in blocks}
        for _ in range(rounds):
            for name in random.sample(list(blocks), len(blocks)):
                samples[name].append(blocks[name]())
        print(f"{rounds} rounds, one process per block (precompiled /app)\n")
        for index, figure in enumerate(FIGURES):
            for name, pairs in samples.items():
                values = [pair[index] for pair in pairs]
                print(
                    f"{figure}, {name}: median {1000 * statistics.median(values):.0f} ms, "
                    f"p5 {1000 * percentile(values, 0.05):.0f} ms, p95 {1000 * percentile(values, 0.95):.0f} ms"
                )
            base, ours = ([pair[index] for pair in pairs] for pairs in samples.values())
            ratios = [mine / theirs for mine, theirs in zip(ours, base, strict=True)]
            print(
                f"{figure}, Create Incident / bare block: median round ratio {statistics.median(ratios):.3f} "
                f"(p5 {percentile(ratios, 0.05):.3f} - p95 {percentile(ratios, 0.95):.3f}), "
                f"ratio of medians {statistics.median(ours) / statistics.median(base):.3f}\n"
            )
        print(load_line())


if __name__ == "__main__":
    main()
