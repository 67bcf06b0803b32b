"""`oracle-node`: run, demo, simulate, deploy, keys.

Exit code 0 on success; on failure a one-line reason on stderr and a non-zero code
(2 for bad usage or config, 1 for everything else).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import sys
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

from node import audit_cli, chain_cli
from node.allocator import keep_freed_memory
from node.config import ConfigError, load_config
from node.logs import configure_logging
from publisher.errors import PublishError


def _running_stack_args(parser: argparse.ArgumentParser, folder_help: str) -> None:
    """The anvil and simulator a setup command works against, and the folder it writes."""
    parser.add_argument("--rpc", required=True, help="anvil's JSON-RPC URL")
    parser.add_argument("--simulator", required=True, help="the simulator's base URL")
    parser.add_argument("--dir", required=True, type=Path, help=folder_help)


_SCHEME = (
    "the feed contracts: ecdsa, a signature per observation (OracleFeed); schnorr, one "
    "multi-signature the nodes co-sign per update (OracleFeedAggregate)"
)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="oracle-node", description="A price oracle node.")
    parser.add_argument(
        "--log-level", default="INFO", choices=["DEBUG", "INFO", "WARNING", "ERROR"]
    )
    parser.add_argument(
        "--log-format",
        default="auto",
        choices=["json", "console", "auto"],
        help="log lines on stderr: JSON, or console (auto: console on a terminal)",
    )
    sub = parser.add_subparsers(dest="command", required=True)

    config = sub.add_parser("config", help="check a config file")
    config_sub = config.add_subparsers(dest="config_command", required=True)
    check = config_sub.add_parser(
        "check", help="report every problem of a config, each with its line; exit 1 if any"
    )
    check.add_argument("file", type=Path)
    check.add_argument("--json", action="store_true")

    run = sub.add_parser("run", help="run the node from a TOML config")
    run.add_argument("--config", required=True, type=Path)

    demo = sub.add_parser("demo", help="simulator + local chain + contracts + node, all local")
    demo.add_argument("--http-port", type=int, default=8080)
    demo.add_argument("--rpc-port", type=int, default=8545)
    demo.add_argument("--simulator-port", type=int, default=9000)
    demo.add_argument(
        "--dir", type=Path, default=Path(".demo"), help="where keys, config and journal go"
    )
    demo.add_argument("--round-interval", type=float, default=2.0)
    demo.add_argument(
        "--nodes", type=int, default=1, help="N > 1: N node processes signing with a quorum"
    )
    demo.add_argument("--quorum", type=int, help="signatures per update (default N // 2 + 1)")
    demo.add_argument("--scheme", choices=("ecdsa", "schnorr"), default="ecdsa", help=_SCHEME)

    local = sub.add_parser(
        "setup-local",
        help="fund a node key, deploy the demo feeds and write DIR/node.toml, on a running "
        "anvil and simulator (docker/compose.yaml)",
    )
    _running_stack_args(local, "where keys, config and journal go")
    local.add_argument("--http-port", type=int, default=8080)
    local.add_argument("--round-interval", type=float, default=2.0)
    local.add_argument("--json", action="store_true")

    setup_q = sub.add_parser(
        "setup-quorum",
        help="fund N node keys, deploy the demo feeds with their signer set and a quorum, and "
        "write DIR/node<i>/node.toml, on a running anvil and simulator (compose.quorum.yaml)",
    )
    _running_stack_args(setup_q, "where keys, configs, journals go")
    setup_q.add_argument("--nodes", type=int, default=5)
    setup_q.add_argument("--quorum", type=int, default=3)
    setup_q.add_argument(
        "--peer-url", default="http://node{i}:8080", help="how nodes reach node i ({i})"
    )
    setup_q.add_argument("--http-port", type=int, default=8080)
    setup_q.add_argument("--round-interval", type=float, default=2.0)
    setup_q.add_argument("--scheme", choices=("ecdsa", "schnorr"), default="ecdsa", help=_SCHEME)
    setup_q.add_argument("--json", action="store_true")

    sim = sub.add_parser("simulate", help="serve the exchange simulator on loopback")
    sim.add_argument("--host", default="127.0.0.1")
    sim.add_argument("--port", type=int, default=9000)
    sim.add_argument("--seed", type=int, default=1)
    sim.add_argument(
        "--scenario", type=Path, help="TOML or JSON: seed, tick and faults scheduled per venue"
    )

    backtest = sub.add_parser(
        "backtest", help="historical quotes through the round plan: rounds.csv and a report"
    )
    backtest.add_argument("--quotes", required=True, type=Path, help="CSV of quotes")
    backtest.add_argument("--config", type=Path, help="node config (default: every symbol a feed)")
    backtest.add_argument("--interval", type=float, help="seconds between rounds (default 10)")
    backtest.add_argument("--out", required=True, type=Path, help="folder for the outputs")
    backtest.add_argument("--progress", action="store_true", help="progress bar even off a TTY")
    backtest.add_argument("--json", action="store_true")

    audit_cli.add_commands(sub)

    chain_cli.add_commands(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    configure_logging(args.log_level, args.log_format)
    keep_freed_memory()  # array rounds reuse their memory (node/allocator.py)
    handlers: dict[str, Callable[[argparse.Namespace], int]] = {
        "run": _run,
        "demo": _demo,
        "simulate": _simulate,
        "deploy": chain_cli.deploy_command,
        "keys": chain_cli.keys_command,
        "backtest": _backtest,
        "replay": audit_cli.replay_command,
        "audit": audit_cli.audit_command,
        "config": _config,
        "setup-local": _setup_local,
        "setup-quorum": _setup_quorum,
    }
    try:
        return handlers[args.command](args)
    except ConfigError as exc:
        print(f"oracle-node: {exc}", file=sys.stderr)
        return 2
    except (PublishError, OSError, RuntimeError) as exc:
        print(f"oracle-node: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 0


def _until_interrupted(coro: Coroutine[Any, Any, None]) -> int:
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(coro)
    return 0


def _run(args: argparse.Namespace) -> int:
    from node.app import serve

    config = load_config(args.config)
    return _until_interrupted(serve(config))


def _demo(args: argparse.Namespace) -> int:
    from node.demo import run_demo, run_quorum_demo

    if args.nodes > 1 or args.quorum is not None or args.scheme != "ecdsa":
        quorum = args.nodes // 2 + 1 if args.quorum is None else args.quorum
        if not 1 <= quorum <= args.nodes:
            raise ConfigError(f"--quorum {quorum}: must be between 1 and --nodes {args.nodes}")
        return _until_interrupted(
            run_quorum_demo(
                folder=args.dir.resolve(),
                nodes=args.nodes,
                quorum=quorum,
                http_port=args.http_port,
                rpc_port=args.rpc_port,
                simulator_port=args.simulator_port,
                round_interval_s=args.round_interval,
                scheme=args.scheme,
            )
        )
    return _until_interrupted(
        run_demo(
            folder=args.dir.resolve(),
            http_port=args.http_port,
            rpc_port=args.rpc_port,
            simulator_port=args.simulator_port,
            round_interval_s=args.round_interval,
        )
    )


def _setup_quorum(args: argparse.Namespace) -> int:
    from node.cluster import setup_quorum

    if not 1 <= args.quorum <= args.nodes:
        raise ConfigError(f"--quorum {args.quorum}: must be between 1 and --nodes {args.nodes}")
    result = asyncio.run(
        setup_quorum(
            args.dir.resolve(),
            args.rpc,
            args.simulator,
            args.nodes,
            args.quorum,
            peer_url=args.peer_url,
            http_port=args.http_port,
            round_interval_s=args.round_interval,
            scheme=args.scheme,
        )
    )
    text = f"{args.dir}: " + ("written" if result["created"] else "already set up, left as it is")
    _print(args, result, text)
    return 0


def _simulate(args: argparse.Namespace) -> int:
    from simulator.__main__ import main as simulator_main

    argv = ["--host", args.host, "--port", str(args.port), "--seed", str(args.seed)]
    if args.scenario is not None:
        argv += ["--scenario", str(args.scenario)]
    return simulator_main(argv)


def _backtest(args: argparse.Namespace) -> int:
    from dataclasses import asdict

    from audit.history import HistoryError, read_history
    from node.backtest import (
        DEFAULT_INTERVAL_S,
        BacktestError,
        Progress,
        default_rules,
        run_backtest,
    )
    from node.pipeline import round_rules

    config = load_config(args.config) if args.config is not None else None
    interval_s = args.interval
    if interval_s is None:
        interval_s = config.node.round_interval_s if config is not None else DEFAULT_INTERVAL_S
    try:
        if not interval_s > 0:
            raise BacktestError(f"--interval {interval_s:g}: must be positive")
        history = read_history(args.quotes)
        rules = (
            round_rules(config, every_feed_on_chain=True)
            if config is not None
            else default_rules(history)
        )
        show = args.progress or sys.stderr.isatty()
        summary = run_backtest(
            history, rules, round(interval_s * 1000), args.out, Progress if show else None
        )
    except (HistoryError, BacktestError) as exc:
        print(f"oracle-node: {exc}", file=sys.stderr)
        return 2
    text = (
        f"{summary.rounds} rounds x {summary.feeds} feeds: {summary.published} published, "
        f"{summary.held} held by a breaker; {args.out / 'rounds.csv'}, {args.out / 'report.html'}"
    )
    _print(args, asdict(summary), text)
    return 0


def _setup_local(args: argparse.Namespace) -> int:
    from node.local_setup import setup_local

    done = asyncio.run(
        setup_local(
            args.dir.resolve(),
            args.rpc,
            args.simulator,
            http_port=args.http_port,
            round_interval_s=args.round_interval,
        )
    )
    result = {
        "config": str(done.config),
        "created": done.created,
        "node_address": done.node_address,
        "contracts": done.contracts,
    }
    verb = "wrote" if done.created else "kept the existing"
    _print(args, result, f"{verb} {done.config}")
    return 0


def _config(args: argparse.Namespace) -> int:
    from node.config_check import as_json, check_config, summary

    problems = check_config(args.file)
    if args.json:
        print(as_json(args.file, problems), flush=True)
    elif problems:
        print("\n".join(p.text() for p in problems), flush=True)
    else:
        print(summary(args.file), flush=True)
    return 1 if problems else 0


def _print(args: argparse.Namespace, data: dict[str, Any], text: str) -> None:
    print(json.dumps(data) if args.json else text, flush=True)


if __name__ == "__main__":
    sys.exit(main())
