"""`python -m lab.doubles.xsoar`: serve a simulated Cortex XSOAR until Ctrl-C."""

import argparse

from lab.doubles.server import Interrupts, PortInUseError
from lab.doubles.xsoar.mapper import INCIDENT_TYPE
from lab.doubles.xsoar.simulator import XsoarSimulator


def credentials(text: str) -> tuple[str, str]:
    user, colon, password = text.partition(":")
    if not colon:
        raise argparse.ArgumentTypeError("expected USER:PASSWORD")
    return user, password


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m lab.doubles.xsoar", description="Serve a simulated Cortex XSOAR")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8082)
    parser.add_argument("--instance", default="sekoia", help="Generic Webhook instance name")
    parser.add_argument("--token", help="webhook header authentication: expect 'Authorization: Bearer <token>'")
    parser.add_argument("--basic", type=credentials, metavar="USER:PASSWORD", help="webhook Basic authentication")
    parser.add_argument("--api-key", default="xsoar-test-key")
    parser.add_argument("--api-key-id", default="7", help="expected x-xdr-auth-id on the XSOAR 8 paths")
    parser.add_argument(
        "--lenient", action="store_true", help="keep create-request keys the swagger does not have (dbotMirrorId)"
    )
    parser.add_argument("--incident-type", default=INCIDENT_TYPE, help="the webhook instance's incident type")
    args = parser.parse_args(argv)
    if args.token and args.basic:
        parser.exit(2, "--token and --basic: a Generic Webhook instance has one credentials setting\n")
    simulator = XsoarSimulator(
        args.host,
        args.port,
        args.instance,
        args.token,
        args.basic,
        args.api_key,
        args.api_key_id,
        strict=not args.lenient,
        webhook_incident_type=args.incident_type,
    )
    try:
        simulator.start()
    except PortInUseError as exc:
        parser.exit(2, f"{exc}\n")
    interrupts = Interrupts()
    try:
        print(f"Generic Webhook (XSOAR 6): {simulator.webhook_url}")
        print(f"Generic Webhook (XSOAR 8): {simulator.webhook_url_v8}")
        print(f"REST API (XSOAR 6):        {simulator.api_url_v6}")
        print(f"REST API (XSOAR 8):        {simulator.api_url_v8} (x-xdr-auth-id: {args.api_key_id})")
        print("Serving until Ctrl-C", flush=True)
        interrupts.wait()
    finally:
        simulator.stop()
    for line in simulator.summary():
        print(line)


if __name__ == "__main__":
    main()
