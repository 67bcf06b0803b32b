"""A feed's configuration: its venues, aggregation, breaker and publish settings (TOML tables
`[venues.*]`, `[defaults.*]` and `[[feeds]]`), validated by pydantic and turned into the pure
packages' parameters."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from aggregator import (
    AggregationParams,
    Estimator,
    OutlierFilter,
    SourceSpec,
    Weighting,
)
from circuit_breakers import BreakerParams
from publisher.policy import PublishPolicy


class Strict(BaseModel):
    """A config table: unknown keys are errors, values are frozen."""

    model_config = ConfigDict(extra="forbid", frozen=True)


PriceFieldName = Literal["mid", "last", "bid", "ask"]


class VenueConfig(Strict):
    exchange: str | None = Field(None, description="ccxt exchange id; defaults to the venue's name")
    api_url: str | None = Field(None, description="overrides the venue's API base URL")
    price: PriceFieldName = Field("mid", description="the price every market of the venue gives")
    prices: dict[str, PriceFieldName] = Field(
        default_factory=dict, description="per-market override of `price`, e.g. {'BTC/USD': 'last'}"
    )
    rate_limit_ms: float | None = Field(
        None, ge=0, description="ms per request-cost unit; default: ccxt's figure for the venue"
    )
    stream: bool = Field(False, description="read tickers over the venue's websocket")
    stall_timeout_s: float = Field(
        5.0, gt=0, description="a stream silent this long falls back to REST"
    )

    @field_validator("prices")
    @classmethod
    def _markets(cls, v: dict[str, PriceFieldName]) -> dict[str, PriceFieldName]:
        for market in v:
            if "/" not in market:
                raise ValueError(f"prices key {market!r} must be a market, e.g. BTC/USD")
        return v


class AggregationConfig(Strict):
    quorum: int = Field(3, ge=1)
    max_age_s: float = Field(60.0, gt=0)
    max_future_s: float = Field(5.0, ge=0)
    max_spread: float = Field(0.02, gt=0, lt=1)
    mad_k: float = Field(5.0, gt=0)
    min_mad: float = Field(0.0005, ge=0)
    estimator: Estimator = Estimator.MEDIAN
    filters: list[OutlierFilter] = Field(
        default_factory=lambda: [OutlierFilter.MAD],
        description="outlier filters in order: mad, iqr, median_distance ([] for none)",
    )
    iqr_k: float = Field(3.0, gt=0)
    max_distance: float = Field(0.05, gt=0)
    trim: float = Field(0.2, ge=0, lt=0.5)
    huber_k: float = Field(1.345, gt=0)
    weighting: Weighting = Weighting.VOLUME

    @field_validator("filters")
    @classmethod
    def _distinct_filters(cls, v: list[OutlierFilter]) -> list[OutlierFilter]:
        if len(set(v)) != len(v):
            raise ValueError("a filter appears twice")
        return v

    def params(self) -> AggregationParams:
        return AggregationParams(
            quorum=self.quorum,
            max_age_ms=round(self.max_age_s * 1000),
            max_future_ms=round(self.max_future_s * 1000),
            max_spread=self.max_spread,
            filters=tuple(self.filters),
            mad_k=self.mad_k,
            min_mad=self.min_mad,
            iqr_k=self.iqr_k,
            max_distance=self.max_distance,
            estimator=self.estimator,
            trim=self.trim,
            huber_k=self.huber_k,
            weighting=self.weighting,
        )


class BreakerConfig(Strict):
    max_deviation: float = Field(0.10, gt=0)
    confirm_rounds: int = Field(3, ge=1)
    confirm_band: float = Field(0.02, gt=0)
    max_hold_s: float = Field(600.0, gt=0)
    cooldown_s: float = Field(30.0, ge=0)
    volatility_k: float | None = Field(None, gt=0, description="None: volatility check off")
    volatility_floor: float = Field(0.01, ge=0)
    volatility_window: int = Field(30, ge=1)
    max_dispersion: float | None = Field(0.02, gt=0, description="None: dispersion check off")
    max_quote_age_s: float | None = Field(None, gt=0, description="None: staleness check off")
    max_rate_per_min: float | None = Field(None, gt=0, description="None: rate check off")

    def params(self) -> BreakerParams:
        return BreakerParams(
            max_deviation=self.max_deviation,
            confirm_rounds=self.confirm_rounds,
            confirm_band=self.confirm_band,
            max_hold_ms=round(self.max_hold_s * 1000),
            cooldown_ms=round(self.cooldown_s * 1000),
            volatility_k=self.volatility_k,
            volatility_floor=self.volatility_floor,
            volatility_window=self.volatility_window,
            max_dispersion=self.max_dispersion,
            max_quote_age_ms=None
            if self.max_quote_age_s is None
            else round(self.max_quote_age_s * 1000),
            max_rate_per_min=self.max_rate_per_min,
        )


class PublishConfig(Strict):
    deviation: float = Field(0.005, gt=0)
    heartbeat_s: int = Field(3600, ge=1)

    def policy(self) -> PublishPolicy:
        return PublishPolicy(deviation=self.deviation, heartbeat_s=self.heartbeat_s)


class Defaults(Strict):
    aggregation: AggregationConfig = AggregationConfig()
    breaker: BreakerConfig = BreakerConfig()
    publish: PublishConfig = PublishConfig()


class FeedConfig(Strict):
    id: str = Field(description="BASE/QUOTE, e.g. BTC/USD")
    decimals: int = Field(8, ge=0, le=18)
    contract: str | None = Field(
        None, description="the feed contract; without it the feed is served over HTTP only"
    )
    sources: list[str] = Field(min_length=1, description="venue:MARKET, e.g. kraken:BTC/USD")
    weights: dict[str, float] = Field(
        default_factory=dict,
        description="venue -> weight when the aggregation's weighting is config (default 1)",
    )
    aggregation: AggregationConfig | None = None
    breaker: BreakerConfig | None = None
    publish: PublishConfig | None = None

    @field_validator("id")
    @classmethod
    def _pair(cls, v: str) -> str:
        base, sep, quote = v.partition("/")
        if not sep or not base.isalnum() or not quote.isalnum():
            raise ValueError(f"feed id {v!r} must be BASE/QUOTE, e.g. BTC/USD")
        return v.upper()

    @field_validator("contract")
    @classmethod
    def _address(cls, v: str | None) -> str | None:
        if v is not None and not (v.startswith("0x") and len(v) == 42):
            raise ValueError(f"contract {v!r} is not a 0x-prefixed 20-byte address")
        return v

    @field_validator("sources")
    @classmethod
    def _sources(cls, v: list[str]) -> list[str]:
        venues = []
        for s in v:
            venue, sep, market = s.partition(":")
            if not sep or not venue or "/" not in market:
                raise ValueError(f"source {s!r} must be venue:BASE/QUOTE, e.g. kraken:BTC/USD")
            venues.append(venue)
        if len(set(venues)) != len(venues):
            raise ValueError(
                "a venue appears twice: each source of a feed must be an independent venue"
            )
        return v

    @model_validator(mode="after")
    def _weights(self) -> FeedConfig:
        venues = {s.split(":", 1)[0] for s in self.sources}
        for venue, weight in sorted(self.weights.items()):
            if venue not in venues:
                raise ValueError(f"weights: {venue!r} is not a source of {self.id}")
            if not weight >= 0:
                raise ValueError(f"weights: {venue!r} must not be negative")
        return self

    def source_specs(self) -> tuple[SourceSpec, ...]:
        pairs = (s.split(":", 1) for s in self.sources)
        return tuple(SourceSpec(v, m, self.weights.get(v, 1.0)) for v, m in pairs)
