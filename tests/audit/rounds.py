"""A real round body, written by the node's own round service, for the packed-column tests."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from aggregator import AggregationParams, FeedSpec, SourceSpec
from audit.journal import Journal
from audit.packed import PACKED_KEY
from circuit_breakers import DeviationParams
from feeds.quote import FailureKind, FetchFailure, FetchResult, Quote
from node.pipeline import FeedRule, RoundRules
from node.service import OracleNode
from publisher.policy import PublishPolicy
from tests.node.fakes import FakeClock, RecordingChain

Body = dict[str, Any]
FEEDS = {"BTC/USD": "abcd", "ETH/USD": "abc", "SOL/USD": "abc"}


class ScriptedVenues:
    """BTC: venue d is far off (rejected). ETH: quotes without book, volume or venue stamp.
    SOL: every venue fails (no value)."""

    def __init__(self, clock: FakeClock) -> None:
        self.clock = clock

    async def fetch(
        self, wanted: Mapping[str, Sequence[str]], deadline_s: float
    ) -> list[FetchResult]:
        now = self.clock()
        out: list[FetchResult] = []
        for venue, symbols in wanted.items():
            for symbol in symbols:
                if symbol == "SOL/USD":
                    out.append(FetchFailure(venue, symbol, FailureKind.TEMPORARY, "timeout", now))
                elif symbol == "ETH/USD":
                    out.append(Quote(venue, symbol, 2_000.0 + ord(venue), now))
                else:
                    price = 90_000.0 if venue == "d" else 60_000.0 + ord(venue)
                    out.append(
                        Quote(venue, symbol, price, now, now - 150, price - 1, price + 1, 2.5)
                    )
        return out


async def node_round_body(tmp_path: Path) -> Body:
    """The body of a node's second round (breaker states carry a reference by then)."""
    clock = FakeClock()
    journal = await Journal.open(tmp_path / "j.db")
    rules = RoundRules.build(
        FeedRule(
            FeedSpec(feed, tuple(SourceSpec(v, feed) for v in venues), AggregationParams(quorum=3)),
            DeviationParams(),
            PublishPolicy(0.005, 60),
            8,
            True,
        )
        for feed, venues in FEEDS.items()
    )
    venues: dict[str, list[str]] = {}
    for feed, names in FEEDS.items():
        for v in names:
            venues.setdefault(v, []).append(feed)
    node = OracleNode(
        rules, venues, ScriptedVenues(clock), journal, RecordingChain(journal), clock, 3.0, "c0"
    )
    await node.start()
    await node.run_round()
    clock.advance(10)
    await node.run_round()
    body = (await journal.records(kind="round"))[-1].body
    await journal.close()
    body.pop(PACKED_KEY, None)
    return body
