"""Fakes for the node's two outer doors: the quote source and the chain."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from eth_account import Account

from aggregator import AggregationParams, FeedSpec, SourceSpec
from audit.journal import Journal
from circuit_breakers import DeviationParams
from feeds.quote import FetchResult, Quote
from node.pipeline import FeedRule, RoundRules
from node.service import OracleNode
from node.status import Receipt
from publisher.eip712 import Domain, SignedObservation
from publisher.errors import InsufficientFundsError
from publisher.keys import LocalSigner
from publisher.policy import LastPublished, PublishPolicy

CONTRACT = "0x" + "ab" * 20


class FixedQuotes:
    """Every venue quotes `price` at the clock's time."""

    def __init__(self, clock: FakeClock, price: float) -> None:
        self.clock = clock
        self.price = price

    async def fetch(
        self, wanted: Mapping[str, Sequence[str]], deadline_s: float
    ) -> list[FetchResult]:
        now = self.clock()
        return [Quote(v, s, self.price, now, now) for v, symbols in wanted.items() for s in symbols]


class FakeClock:
    def __init__(self, start_ms: int = 1_700_000_000_000) -> None:
        self.now_ms = start_ms

    def __call__(self) -> int:
        return self.now_ms

    def advance(self, seconds: float) -> None:
        self.now_ms += int(seconds * 1000)


class RecordingChain:
    """Signs for real with a throwaway key; records what the journal held at each submit."""

    def __init__(self, journal: Journal, fail: bool = False) -> None:
        self.signer = LocalSigner(Account.create())
        self.journal = journal
        self.fail = fail
        self.rounds_journaled_at_submit: list[int] = []
        self.submitted: list[SignedObservation] = []

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
        self.rounds_journaled_at_submit.append(len(await self.journal.records(kind="round")))
        if self.fail:
            raise InsufficientFundsError("sender 0x.. cannot pay for gas: fund it")
        self.submitted.extend(observations)
        return Receipt("0x" + "11" * 32, 7, len(self.submitted), 50_000)


def one_feed_rules(on_chain: bool = True) -> RoundRules:
    spec = FeedSpec(
        "BTC/USD",
        (SourceSpec("a", "BTC/USD"), SourceSpec("b", "BTC/USD"), SourceSpec("c", "BTC/USD")),
        AggregationParams(quorum=3),
    )
    return RoundRules.build(
        [FeedRule(spec, DeviationParams(), PublishPolicy(0.005, 60), 8, on_chain)]
    )


def make_node(
    journal: Journal, clock: FakeClock, quotes: FixedQuotes, chain: RecordingChain | None
) -> OracleNode:
    return OracleNode(
        rules=one_feed_rules(on_chain=chain is not None),
        venues={"a": ["BTC/USD"], "b": ["BTC/USD"], "c": ["BTC/USD"]},
        fetcher=quotes,
        journal=journal,
        chain=chain,
        clock=clock,
        deadline_s=3.0,
        config_hash="cafe",
    )
