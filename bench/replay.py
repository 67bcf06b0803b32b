"""Benchmark: replay and verification throughput on a journal this script generates.

    .venv/bin/python bench/replay.py [--feeds 20] [--sources 7] [--rounds 500] [--repeat 3]

The journal is written by the node's own round service (`OracleNode.run_round`) fed by a
seeded random walk and a chain stand-in that signs for real (secp256k1, EIP-712) and lands
every publication. Prints one JSON line:
{"feed_rounds", "rounds_per_s", "first_run_rounds_per_s", "by_round_rounds_per_s",
"reference_rounds_per_s", "verified_rounds_per_s", "signatures", "journal_write_rounds_per_s"}
`rounds_per_s`: feed-rounds per second of exact replay as `oracle-node replay` runs it
(`replay_records`): checked on the journal's packed columns, every round at once
(`node.replay_columns`: decoding the columns, aggregation, breakers, answers, publish decisions
and the comparison of every recorded value). The baselines of the same run, whose reports it
must equal: `by_round_rounds_per_s`, the round-by-round replay of the JSON (`columns=False`),
and `reference_rounds_per_s`, the same through the object path (`reference=True`: an
`Aggregate` and a `FeedPlan` per feed, shaped as JSON and compared in full).
`verified_rounds_per_s`: feed-rounds per second through `verify_records` (hash chain, every
signature recovered, outcomes matched, packed columns equal to the JSON). All time the work on
records already read from SQLite (`Journal.records`, outside the timing), in CPU seconds of
this process (single-threaded work; other processes' load does not count), each the median
of `--repeat` runs taken in turns; `first_run_rounds_per_s` is the columnar check's first run
alone (it pays once for building its per-config arrays and for fresh memory).
`journal_write_rounds_per_s` is wall-clock: it waits on fsync.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

# Run as a script, this folder comes first on sys.path, and `bench/feeds.py` would shadow the
# `feeds` package: import the project's packages, not sibling scripts.
_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]

from eth_account import Account  # noqa: E402

from aggregator import AggregationParams, FeedSpec, SourceSpec  # noqa: E402
from audit.journal import Journal  # noqa: E402
from audit.verify import verify_records  # noqa: E402
from circuit_breakers import DeviationParams  # noqa: E402
from feeds.quote import FetchResult, Quote  # noqa: E402
from node.pipeline import FeedRule, RoundRules  # noqa: E402
from node.replay import ReplayReport, replay_records  # noqa: E402
from node.service import OracleNode  # noqa: E402
from node.status import Receipt  # noqa: E402
from publisher.eip712 import Domain, SignedObservation  # noqa: E402
from publisher.keys import LocalSigner  # noqa: E402
from publisher.policy import LastPublished, PublishPolicy  # noqa: E402

T0 = 1_700_000_000_000
CONTRACT = "0x" + "cd" * 20


class Clock:
    now_ms = T0

    def __call__(self) -> int:
        return self.now_ms


class Walk:
    def __init__(self, clock: Clock, feeds: int, seed: int = 5) -> None:
        self.clock = clock
        self.rnd = random.Random(seed)
        self.prices = [self.rnd.uniform(1, 50_000) for _ in range(feeds)]

    async def fetch(
        self, wanted: Mapping[str, Sequence[str]], deadline_s: float
    ) -> list[FetchResult]:
        self.prices = [p * (1 + self.rnd.gauss(0, 0.003)) for p in self.prices]
        now = self.clock()
        out: list[FetchResult] = []
        for venue, symbols in wanted.items():
            for symbol in symbols:
                p = self.prices[int(symbol.split("/")[0][1:])] * (1 + self.rnd.gauss(0, 0.0005))
                out.append(Quote(venue, symbol, p, now, now - 200, p * 0.9999, p * 1.0001, 10.0))
        return out


class LandingChain:
    def __init__(self) -> None:
        self.signer = LocalSigner(Account.create())
        self.round = 0

    @property
    def address(self) -> str:
        return self.signer.address

    def contract_address(self, feed: str) -> str | None:
        return CONTRACT

    def domain(self, feed: str) -> Domain:
        return Domain(31337, CONTRACT)

    async def latest(self, feed: str) -> LastPublished | None:
        return None

    async def sign(self, feed: str, answer: int, timestamp_s: int) -> SignedObservation:
        return await self.signer.sign_observation(self.domain(feed), answer, timestamp_s)

    async def submit(self, feed: str, observations: Sequence[SignedObservation]) -> Receipt:
        self.round += 1
        return Receipt("0x" + f"{self.round:064x}", self.round, self.round, 45_000)


def rules(feeds: int, sources: int) -> RoundRules:
    return RoundRules.build(
        FeedRule(
            FeedSpec(
                f"A{f}/USD",
                tuple(SourceSpec(f"v{s}", f"A{f}/USD") for s in range(sources)),
                AggregationParams(),
            ),
            DeviationParams(),
            PublishPolicy(deviation=0.005, heartbeat_s=3600),
            8,
            True,
        )
        for f in range(feeds)
    )


async def generate(path: Path, feeds: int, sources: int, rounds: int) -> float:
    clock = Clock()
    journal = await Journal.open(path)
    node = OracleNode(
        rules(feeds, sources),
        {f"v{s}": [f"A{f}/USD" for f in range(feeds)] for s in range(sources)},
        Walk(clock, feeds),
        journal,
        LandingChain(),
        clock,
        3.0,
        "bench",
    )
    await node.start()
    start = time.perf_counter()
    for _ in range(rounds):
        await node.run_round()
        clock.now_ms += 10_000
    elapsed = time.perf_counter() - start
    await journal.close()
    return rounds / elapsed


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--feeds", type=int, default=20)
    parser.add_argument("--sources", type=int, default=7)
    parser.add_argument("--rounds", type=int, default=500)
    parser.add_argument("--repeat", type=int, default=3, help="timed runs of each (medians)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "journal.db"
        write_rate = await generate(path, args.feeds, args.sources, args.rounds)
        journal = await Journal.open(path)
        records = await journal.records()
        await journal.close()
    the_rules = rules(args.feeds, args.sources)
    ways = {  # (columns, reference) of each way
        "columns": (True, False),
        "by_round": (False, False),
        "reference": (True, True),
    }
    seconds: dict[str, list[float]] = {way: [] for way in ways}
    reports: dict[str, ReplayReport] = {}
    for _ in range(args.repeat):  # in turns, so that other load falls on every way alike
        for way, (columns, reference) in ways.items():
            start = time.process_time()
            reports[way] = replay_records(
                records, lambda _: the_rules, columns=columns, reference=reference
            )
            seconds[way].append(time.process_time() - start)
    report = reports["columns"]
    assert not report.mismatches, report.mismatches[:3]
    assert report.checked_on == "columns", "the journal's packed columns were not used"
    assert report.as_json() == reports["reference"].as_json() == reports["by_round"].as_json()
    verify_s = []
    for _ in range(args.repeat):
        start = time.process_time()
        findings = verify_records(records)
        verify_s.append(time.process_time() - start)
        assert not findings, findings[:3]
    rate = {way: round(report.feed_rounds / statistics.median(s)) for way, s in seconds.items()}
    signatures = sum(1 for r in records if r.kind == "outcome")
    print(
        json.dumps(
            {
                "feed_rounds": report.feed_rounds,
                "rounds_per_s": rate["columns"],
                "first_run_rounds_per_s": round(report.feed_rounds / seconds["columns"][0]),
                "by_round_rounds_per_s": rate["by_round"],
                "reference_rounds_per_s": rate["reference"],
                "verified_rounds_per_s": round(report.feed_rounds / statistics.median(verify_s)),
                "signatures": signatures,
                "journal_write_rounds_per_s": round(write_rate * args.feeds),
            }
        )
    )


if __name__ == "__main__":
    asyncio.run(main())
