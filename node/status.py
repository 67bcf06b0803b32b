"""What the live node knows and shows: a feed's status, its served observation, the events
subscribers get, and the two collaborators a node runs against (quotes in, chain out)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from feeds.quote import FetchResult
from node.pipeline import FeedPlan
from publisher.eip712 import Domain, SignedObservation
from publisher.policy import LastPublished


class QuoteSource(Protocol):
    async def fetch(
        self, wanted: Mapping[str, Sequence[str]], deadline_s: float
    ) -> list[FetchResult]: ...


@dataclass(frozen=True, slots=True)
class Receipt:
    """A publication that landed: what the HTTP API and the journal say about it."""

    tx_hash: str
    block_number: int
    onchain_round_id: int
    gas_used: int
    effective_gas_price: int = 0
    """Wei per gas paid: `gas_used * effective_gas_price` is what the publication cost."""

    def outcome(self, answer: int, timestamp: int) -> dict[str, object]:
        """The body of the journal's `outcome` record for this landed publication of
        `answer` stamped `timestamp` (what the contract stored)."""
        return {
            "status": "confirmed",
            "tx_hash": self.tx_hash,
            "block_number": self.block_number,
            "onchain_round_id": self.onchain_round_id,
            "gas_used": self.gas_used,
            "answer": str(answer),
            "timestamp": timestamp,
        }


class Chain(Protocol):
    """The node's side of the chain: signing and submitting for feeds that have a contract."""

    @property
    def address(self) -> str: ...

    def contract_address(self, feed: str) -> str | None: ...

    def domain(self, feed: str) -> Domain: ...

    async def latest(self, feed: str) -> LastPublished | None: ...

    async def sign(self, feed: str, answer: int, timestamp_s: int) -> SignedObservation: ...

    async def submit(self, feed: str, observations: Sequence[SignedObservation]) -> Receipt: ...


@dataclass(frozen=True, slots=True)
class ServedObservation:
    """The node's latest signed observation of a feed, as peers fetch it."""

    feed: str
    observation: SignedObservation
    decimals: int
    round_id: int
    domain: Domain


@dataclass(frozen=True, slots=True)
class FeedStatus:
    """The latest of a feed, for the HTTP API."""

    plan: FeedPlan | None = None
    round_id: int = 0
    value_answer: int | None = None
    value_ts_ms: int | None = None
    receipt: Receipt | None = None
    published: LastPublished | None = None
    publish_error: str | None = None
    reset_pending: bool = False
    paused: bool = False
    pause_pending: bool | None = None
    """The paused state an operator asked for, until the next round applies it."""


@dataclass(frozen=True, slots=True)
class FeedEvent:
    """A change of a feed's status, for subscribers (the HTTP event stream).

    `kind` is `update` (a round planned the feed), `publication` (a transaction landed) or
    `publication_failed`; the new status is `OracleNode.status[feed]`.
    """

    kind: str
    feed: str
    round_id: int


FeedListener = Callable[[FeedEvent], None]
