"""`python -m simulator [--host 127.0.0.1] [--port 9000] [--seed 1] [--scenario FILE]`: serve
until SIGINT/SIGTERM. A scenario file (TOML or JSON) sets seed and tick and schedules faults."""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
from pathlib import Path

from simulator.app import create_app
from simulator.faults import ScenarioError, load_scenario
from simulator.server import start_simulator


def _parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m simulator", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default loopback)")
    parser.add_argument("--port", type=int, default=9000, help="port to bind, 0 for any free one")
    parser.add_argument("--seed", type=int, default=1, help="random-walk seed")
    parser.add_argument("--tick", type=float, default=1.0, help="seconds between price steps")
    parser.add_argument(
        "--scenario", type=Path, help="TOML or JSON file: seed, tick and scheduled venue faults"
    )
    return parser.parse_args(argv)


async def _serve(args: argparse.Namespace) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    scenario = None if args.scenario is None else load_scenario(args.scenario)
    app = create_app(args.seed, args.tick, scenario=scenario)
    runner, base_url = await start_simulator(app, args.host, args.port)
    try:
        print(f"simulator listening on {base_url}", flush=True)
        if scenario is not None:
            print(
                f"scenario {args.scenario}: {len(scenario.faults)} fault(s) scheduled", flush=True
            )
        await stop.wait()
    finally:
        await runner.cleanup()


def main(argv: list[str] | None = None) -> int:
    args = _parse_args(argv)
    try:
        asyncio.run(_serve(args))
    except ScenarioError as error:
        print(f"simulator: {error}", file=sys.stderr)
        return 2
    except OSError as error:
        print(f"simulator: cannot listen on {args.host}:{args.port}: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
