"""`oracle-node replay` and `oracle-node audit verify|export`: the auditor's commands.

Exit codes: 0 when the journal verifies / replays exactly, 1 when it does not (every finding
or mismatch is printed with its round id), 2 for bad usage or an unreadable journal.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from audit.export import export_parquet
from audit.journal import Journal, JournalRecord
from audit.onchain import verify_against_chain
from audit.report import FeedTrace, rounds_report
from audit.verify import verify_records
from node.backtest import Progress
from node.config import ConfigError, NodeConfig, load_config
from node.pipeline import FeedPlan, RoundRules, round_rules
from node.replay import ReplayReport, config_hashes, replay_records, rules_from_snapshots
from node.times import parse_time_ms


def add_commands(sub: Any) -> None:
    """Register `replay` and `audit` on the top-level parser's subparsers."""
    replay = sub.add_parser("replay", help="re-run aggregation and breakers on a journal")
    replay.add_argument("--journal", required=True, type=Path)
    replay.add_argument("--feed", help="only this feed, e.g. BTC/USD")
    replay.add_argument(
        "--from", dest="from_", metavar="T", type=parse_time, help="unix s/ms or ISO 8601"
    )
    replay.add_argument("--to", metavar="T", type=parse_time, help="unix s/ms or ISO 8601")
    replay.add_argument("--config", type=Path, help="what-if: replay under this config instead")
    replay.add_argument("--json", action="store_true")
    replay.add_argument("--out", type=Path, help="folder for report.html (plots per feed)")
    replay.add_argument("--progress", action="store_true", help="progress bar on stderr")
    replay.add_argument(
        "--by-round",
        action="store_true",
        help="replay the JSON round by round, without the packed columns' check",
    )
    audit = sub.add_parser("audit", help="verify a journal")
    audit_sub = audit.add_subparsers(dest="audit_command", required=True)
    verify = audit_sub.add_parser("verify", help="hash chain, signatures, and the chain's events")
    verify.add_argument("--journal", required=True, type=Path)
    verify.add_argument("--rpc", help="also check every publication against the contracts' events")
    verify.add_argument("--json", action="store_true")
    export = audit_sub.add_parser("export", help="write the journal as Parquet tables")
    export.add_argument("--journal", required=True, type=Path)
    export.add_argument("--out", required=True, type=Path, help="folder for the .parquet files")
    export.add_argument("--json", action="store_true")


def parse_time(text: str) -> int:
    try:
        return parse_time_ms(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _existing(path: Path) -> Path:
    if not path.is_file():
        raise ConfigError(f"{path}: no such journal")
    return path


async def _read(path: Path) -> tuple[list[JournalRecord], dict[str, dict[str, Any]]]:
    journal = await Journal.open(path)
    try:
        records = await journal.records()
        snapshots = {}
        for digest in config_hashes(records):
            snapshot = await journal.config(digest)
            if snapshot is not None:
                snapshots[digest] = snapshot
        return records, snapshots
    finally:
        await journal.close()


def _rules_of(snapshot: Mapping[str, Any]) -> RoundRules:
    return round_rules(NodeConfig.model_validate(snapshot))


def replay_command(args: argparse.Namespace) -> int:
    records, snapshots = asyncio.run(_read(_existing(args.journal)))
    traces = _Traces(args.feed, what_if=args.config is not None)
    rounds = sum(1 for r in records if r.kind == "round")
    bar = Progress(rounds, label="replay") if args.progress or sys.stderr.isatty() else None
    done = 0

    def on_round(rec: JournalRecord, plans: Mapping[str, FeedPlan]) -> None:
        nonlocal done
        done += 1
        traces.add(rec, plans)
        if bar is not None:
            bar.update(done)

    # Plots need every round's plans: a report is replayed round by round.
    window: dict[str, Any] = {"feed": args.feed, "from_ms": args.from_, "to_ms": args.to}
    if args.out is not None:
        window["on_round"] = on_round
    elif bar is not None:
        window["progress"] = bar.update
    if args.config is not None:
        what_if_rules = round_rules(load_config(args.config))
        report = replay_records(records, lambda _: what_if_rules, what_if=True, **window)
    else:
        rules_for = rules_from_snapshots(snapshots, _rules_of)
        report = replay_records(records, rules_for, columns=not args.by_round, **window)
    if args.out is not None:
        _write_report(args.out, report, traces)
    if args.json:
        print(json.dumps({**report.as_json(), "checked_on": report.checked_on}))
    else:
        _print_replay(report)
    return 1 if report.mismatches else 0


class _Traces:
    """Per feed, the replayed rounds (and in a what-if, the recorded ones) for the report."""

    def __init__(self, feed: str | None, what_if: bool) -> None:
        self.feed = feed
        self.what_if = what_if
        self.traces: dict[str, FeedTrace] = {}
        self.times: list[int] = []

    def add(self, rec: JournalRecord, plans: Mapping[str, FeedPlan]) -> None:
        self.times.append(rec.ts_ms)
        for name, plan in sorted(plans.items()):
            if self.feed is not None and name != self.feed:
                continue
            label = f"{name} (what-if)" if self.what_if else name
            trace = self.traces.setdefault(label, FeedTrace(label))
            trace.add(
                rec.ts_ms, plan.aggregate.value, plan.publish is not None, str(plan.decision.status)
            )
            for used in plan.aggregate.used:
                trace.sources.setdefault(used.source, []).append((rec.ts_ms, used.price))
            if self.what_if:
                recorded = rec.body["feeds"].get(name, {})
                before = self.traces.setdefault(
                    f"{name} (recorded)", FeedTrace(f"{name} (recorded)")
                )
                before.add(
                    rec.ts_ms,
                    recorded.get("aggregate", {}).get("value"),
                    recorded.get("publish") is not None,
                    recorded.get("breaker", {}).get("status", "closed"),
                )

    def interval_ms(self) -> int:
        gaps = sorted(b - a for a, b in zip(self.times, self.times[1:], strict=False))
        return gaps[len(gaps) // 2] if gaps else 10_000


def _write_report(folder: Path, report: ReplayReport, traces: _Traces) -> None:
    mode = "What-if replay" if report.what_if else "Exact replay"
    intro = [f"{report.rounds} rounds, {report.feed_rounds} feed-rounds replayed."]
    if not report.what_if:
        intro.append(
            "Every value and decision reproduced exactly."
            if not report.mismatches
            else f"{len(report.mismatches)} mismatches (first 500 listed below)."
        )
    html = rounds_report(
        mode, intro, sorted(traces.traces.values(), key=lambda t: t.feed), traces.interval_ms()
    )
    if report.mismatches:
        html.heading("Mismatches")
        html.table(
            ("round", "feed", "field", "recorded", "replayed"),
            [
                (m.round_id, m.feed, m.field, m.recorded, m.replayed)
                for m in report.mismatches[:500]
            ],
        )
    folder.mkdir(parents=True, exist_ok=True)
    tmp = folder / "report.html.tmp"
    tmp.write_text(html.render())
    tmp.replace(folder / "report.html")


def _print_replay(report: ReplayReport) -> None:
    mode = "what-if" if report.what_if else "exact replay"
    print(f"{mode}: {report.rounds} rounds, {report.feed_rounds} feed-rounds")
    if report.checked_on == "columns":
        print(
            "checked on the packed columns (bound to each record by hash; `audit verify` "
            "checks they equal the JSON)"
        )
    for m in report.mismatches:
        print(
            f"MISMATCH round {m.round_id} {m.feed} {m.field}: recorded {m.recorded!r}, replayed {m.replayed!r}"
        )
    for feed, tally in sorted(report.feeds.items()):
        spent, estimate = report.gas_estimate(feed)
        line = f"{feed}: {tally.publications} publications, {tally.holds} breaker holds"
        if report.what_if:
            line += (
                f" | what-if: {tally.replay_publications} publications, {tally.replay_holds} holds, "
                f"value differs in {tally.value_differs} rounds (max {tally.max_value_diff:.4%}), "
                f"gas {spent} -> ~{estimate}"
            )
        print(line)
    if not report.what_if:
        print(
            "every value and decision reproduced exactly"
            if not report.mismatches
            else f"{len(report.mismatches)} mismatches"
        )


def audit_command(args: argparse.Namespace) -> int:
    """`oracle-node audit verify|export`."""
    if args.audit_command == "export":
        return export_command(args)
    return verify_command(args)


def export_command(args: argparse.Namespace) -> int:
    records, _ = asyncio.run(_read(_existing(args.journal)))
    counts = export_parquet(records, args.out)
    if args.json:
        print(json.dumps({"out": str(args.out), "rows": counts}))
    else:
        print(", ".join(f"{name}.parquet: {n} rows" for name, n in counts.items()))
    return 0


def verify_command(args: argparse.Namespace) -> int:
    path = _existing(args.journal)

    async def run() -> list[str]:
        records, _ = await _read(path)
        findings = verify_records(records)
        if args.rpc:
            from node.devstack import connect

            w3 = connect(args.rpc)
            try:
                findings += await verify_against_chain(records, w3)
            finally:
                await w3.provider.disconnect()
        return [str(f) for f in findings]

    findings = asyncio.run(run())
    if args.json:
        print(json.dumps({"ok": not findings, "findings": findings}))
    else:
        for finding in findings:
            print(f"TAMPERED {finding}", file=sys.stdout)
        print("journal verifies" if not findings else f"{len(findings)} problems")
    return 1 if findings else 0
