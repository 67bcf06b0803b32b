"""The bodies of the HTTP API as pydantic models: exactly what the handlers emit
(`node/feed_view.py`, `node/records.py`, `feeds/health.py`). The tests validate real responses
against them, and `node/openapi.py` builds the OpenAPI document from them."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from aggregator.types import SourcePrice
from circuit_breakers.types import BreakerState
from node.status import Receipt


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class _OpenBody(BaseModel):
    """A body that may carry more fields than listed (journal records of older versions)."""

    model_config = ConfigDict(extra="allow")


class Error(_Body):
    error: str = Field(description="what was wrong and, where it helps, what to do")


class Band(_Body):
    low: float
    high: float


class Rejected(_Body):
    source: str
    symbol: str
    reason: Literal["unavailable", "invalid", "stale", "outlier", "conversion", "quorum"]
    detail: str


class BreakerDetails(_Body):
    status: Literal["closed", "open", "half_open"]
    holding: bool = Field(description="true: `value` is the last allowed value, held")
    trips: list[str]
    verdict: str | None
    open_since: int | None = Field(description="unix seconds")
    reset_pending: bool


class Published(_Body):
    answer: str
    value: str
    updated_at: int = Field(description="unix seconds of the on-chain value")
    round_id: int | None = Field(description="on-chain round id")
    tx: Receipt | None


class Feed(_Body):
    """One feed's latest state (`GET /v1/feeds/{pair}`, and each event of `/v1/stream`)."""

    feed: str = Field(examples=["BTC/USD"])
    value: str | None = Field(description="decimal string; null before the first value")
    decimals: int
    answer: str | None = Field(description="integer string, value x 10^decimals, as on chain")
    timestamp: int | None = Field(description="unix seconds of the round that gave `value`")
    round_id: int
    dispersion: float | None
    sources_used: list[SourcePrice]
    sources_rejected: list[Rejected]
    error: str | None
    band: Band | None
    estimator: str | None
    breaker: Literal["closed", "open", "half_open"]
    breaker_reason: str | None
    breaker_details: BreakerDetails
    contract: str | None
    last_tx: str | None
    published: Published | None
    publish_error: str | None
    paused: bool = Field(description="an operator paused publication; still served")
    pause_pending: bool | None = Field(description="requested paused state, next round")


class FeedList(_Body):
    feeds: list[Feed]


class Health(_Body):
    status: Literal["ok", "stale"]
    last_round_ts_ms: int | None
    round_id: int
    feeds_with_value: int
    venues: dict[str, int] | None = Field(None, description="venues counted by status")


class VenueError(_Body):
    kind: str
    reason: str
    at_ms: int | None


class Venue(_OpenBody):
    venue: str
    status: Literal["ok", "degraded", "down", "unknown"]
    polls: int
    success_rate: float | None
    latency_ms_p50: float | None
    latency_ms_max: float | None
    last_error: VenueError | None
    last_quote_at_ms: int | None
    skipped_rounds: int
    requests: int
    request_units: float
    limit_units_per_s: float | None
    stream: Literal["off", "connecting", "live", "stalled"]


class VenueList(_Body):
    venues: list[Venue]


class AggregateRecord(_OpenBody):
    value: float | str | None
    dispersion: float | str | None
    band: Band | None
    estimator: str
    error: str | None
    sources_used: list[dict[str, Any]]
    sources_rejected: list[Rejected]


class BreakerRecord(_OpenBody):
    allow: bool
    status: Literal["closed", "open", "half_open"]
    reason: str | None
    trips: list[str]
    verdict: str | None
    state: BreakerState


class RoundRecord(_OpenBody):
    round_id: int
    timestamp_ms: int
    aggregate: AggregateRecord
    breaker: BreakerRecord
    answer: str | None
    publish: str | None
    observation: dict[str, Any] | None


class PublicationRecord(_OpenBody):
    round_id: int
    status: Literal["confirmed", "failed", "reconciled_landed", "reconciled_not_landed"]


class History(_Body):
    feed: str
    from_ms: int
    to_ms: int
    rounds: list[RoundRecord]
    publications: list[PublicationRecord]
    truncated: bool = Field(description="the limit cut the answer")


class Observation(_Body):
    """The node's latest signed observation of a feed, as its peers fetch it."""

    feed: str
    value: str = Field(description="decimal string")
    answer: str = Field(description="integer string, as signed")
    timestamp: int = Field(description="unix seconds, as signed")
    signer: str
    signature: str = Field(description="0x + 65 bytes r||s||v (EIP-712)")
    round_id: int
    chain_id: int
    contract: str


class ResetAccepted(_Body):
    feed: str
    reset: Literal["pending"]
    applies: str


class PauseAccepted(_Body):
    feed: str
    paused: bool
    applies: str


class SignedValue(_Body):
    """One observation in a co-signing request, as peers serve it."""

    value: str = Field(description="integer string, as signed")
    timestamp: int = Field(description="unix seconds, as signed")
    signer: str
    signature: str = Field(description="0x + 65 bytes r||s||v (EIP-712)")


class CosignRequest(_Body):
    observations: list[SignedValue] = Field(description="the report's observations, 1 to 255")


class CosignCommitted(_Body):
    session: str = Field(description="the session to sign under (one use)")
    nonce: str = Field(description="this member's two public nonces: 0x + 128 bytes")


class CosignNonce(_Body):
    nonce: str = Field(description="every named member's public nonces summed: 0x + 128 bytes")


class CosignShare(_Body):
    share: str = Field(description="this member's partial signature: 0x + 32 bytes")


class CosignRefused(_Body):
    error: str
    culprit: str | None = Field(description="the signer of the observation at fault, if any")
    reason: Literal[
        "unknown_feed", "not_serving", "malformed", "below_quorum", "unknown_signer",
        "duplicate_signer", "bad_signature", "without_self", "stale", "future", "unknown_session",
    ]  # fmt: skip


MODELS: tuple[type[BaseModel], ...] = (
    Error, Feed, FeedList, Health, VenueList, History, Observation, ResetAccepted, PauseAccepted,
    CosignRequest, CosignCommitted, CosignNonce, CosignShare, CosignRefused,
)  # fmt: skip
