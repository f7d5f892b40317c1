"""`python -m lab.doubles.sekoia --port 8081 --api-key KEY --alerts 3 [--budget]`: serve until Ctrl-C."""

import argparse

from lab.doubles.sekoia.budget import BudgetRules, RequestBudget
from lab.doubles.sekoia.live import AUTH_COOKIE
from lab.doubles.sekoia.simulator import DEFAULT_INDEXING_DELAY, SekoiaSimulator
from lab.doubles.server import Interrupts, PortInUseError


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m lab.doubles.sekoia", description="Serve a simulated Sekoia.io API and LiveAPI"
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8081)
    parser.add_argument("--api-key", default="sekoia-test-key")
    parser.add_argument("--alerts", type=int, default=0, help="alerts to add besides the sample alert")
    parser.add_argument("--real", action="store_true", help="also serve the real-shaped alerts of lab/samples")
    parser.add_argument(
        "--indexing-delay",
        type=float,
        default=DEFAULT_INDEXING_DELAY,
        help="seconds before a new alert's events are searchable (default %(default)s)",
    )
    parser.add_argument("--budget", action="store_true", help="enforce Sekoia.io's request budget per API key")
    parser.add_argument("--block-seconds", type=float, default=30.0, help="how long an anomaly blocks (--budget)")
    args = parser.parse_args(argv)
    budget = RequestBudget(BudgetRules(block_seconds=args.block_seconds)) if args.budget else None
    simulator = SekoiaSimulator(args.api_key, args.host, args.port, indexing_delay=args.indexing_delay, budget=budget)
    try:
        simulator.start()
    except PortInUseError as exc:
        parser.exit(2, f"{exc}\n")
    interrupts = Interrupts()  # from here on, so that Ctrl-C as soon as the URLs are printed still stops cleanly
    try:
        print(f"API:     {simulator.url} (also {simulator.url}/api)")
        print(f"LiveAPI: {simulator.liveapi_url} (cookie {AUTH_COOKIE}=<api key>)")
        for alert in simulator.add_real_alerts() if args.real else []:
            print(f"Real-shaped alert {alert['short_id']} {alert['uuid']}")
        for _ in range(args.alerts):
            alert = simulator.add_alert(notify=False)
            print(f"Alert {alert['short_id']} {alert['uuid']}")
        print("Serving until Ctrl-C", flush=True)
        interrupts.wait()
    finally:
        simulator.stop()


if __name__ == "__main__":
    main()
