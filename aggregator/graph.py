"""A round over many feeds: sources, conversions through other feeds, dependency order.

A source may quote its market in another asset than its feed (BTC/USDT for the BTC/USD feed):
its price is converted through another feed of the same round (USDT/USD is a feed, never 1.0).
Inverted markets (USD/USDT for USDT/USD) are inverted. Feeds are evaluated in dependency order;
a cycle or a conversion with no feed to go through is a `FeedGraphError` at configuration time.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

from aggregator.combine import combine
from aggregator.params import AggregationParams, Weighting
from aggregator.screen import screen_quote
from aggregator.types import Aggregate, Rejection, RejectReason, SourcePrice
from feeds.quote import FailureKind, FetchResult, Quote


class FeedGraphError(ValueError):
    """The feed configuration cannot be evaluated (cycle, missing conversion feed). Operator fixes config."""


@dataclass(frozen=True, slots=True)
class SourceSpec:
    """One venue market feeding a feed; `weight` counts in a config-weighted median."""

    venue: str
    symbol: str
    weight: float = 1.0


@dataclass(frozen=True, slots=True)
class FeedSpec:
    """A feed (`BTC/USD`), its sources and its aggregation parameters."""

    feed: str
    sources: tuple[SourceSpec, ...]
    params: AggregationParams = field(default_factory=AggregationParams)


class ConversionKind(StrEnum):
    DIRECT = "direct"
    INVERT = "invert"
    MULTIPLY = "multiply"
    DIVIDE = "divide"


@dataclass(frozen=True, slots=True)
class Conversion:
    """How a market's price becomes the feed's price; `via` names the feed it goes through."""

    kind: ConversionKind
    via: str | None = None

    def apply(self, price: float, via_value: float | None) -> float:
        if self.kind is ConversionKind.DIRECT:
            return price
        if self.kind is ConversionKind.INVERT:
            return 1.0 / price
        assert via_value is not None
        return price * via_value if self.kind is ConversionKind.MULTIPLY else price / via_value


def split_pair(pair: str) -> tuple[str, str]:
    """`"BTC/USD"` -> `("BTC", "USD")`; raises `FeedGraphError` on anything else."""
    base, sep, quote = pair.partition("/")
    if not sep or not base or not quote or "/" in quote:
        raise FeedGraphError(f"{pair!r} is not a BASE/QUOTE pair")
    return base, quote


def plan_conversion(feed: str, symbol: str, feeds: Iterable[str]) -> Conversion:
    """How `symbol`'s price becomes `feed`'s, given the feeds the round computes."""
    fx, fy = split_pair(feed)
    sa, sb = split_pair(symbol.split(":")[0])
    if (sa, sb) == (fx, fy):
        return Conversion(ConversionKind.DIRECT)
    if (sa, sb) == (fy, fx):
        return Conversion(ConversionKind.INVERT)
    known = set(feeds)
    if sa == fx and f"{sb}/{fy}" in known:
        return Conversion(ConversionKind.MULTIPLY, f"{sb}/{fy}")
    if sa == fx and f"{fy}/{sb}" in known:
        return Conversion(ConversionKind.DIVIDE, f"{fy}/{sb}")
    raise FeedGraphError(
        f"feed {feed}: source market {symbol} needs a feed {sb}/{fy} (or {fy}/{sb}) to convert through"
    )


def evaluation_order(specs: Sequence[FeedSpec]) -> list[FeedSpec]:
    """The feeds sorted so every conversion feed comes before the feeds that use it.

    Raises `FeedGraphError` on a duplicate feed, a missing conversion feed or a cycle (naming it).
    """
    by_feed: dict[str, FeedSpec] = {}
    for spec in specs:
        if spec.feed in by_feed:
            raise FeedGraphError(f"feed {spec.feed} is configured twice")
        by_feed[spec.feed] = spec
    deps = {
        spec.feed: sorted(
            {
                c.via
                for s in spec.sources
                if (c := plan_conversion(spec.feed, s.symbol, by_feed)).via
            }
        )
        for spec in specs
    }
    order: list[FeedSpec] = []
    state: dict[str, str] = {}

    def visit(feed: str, path: list[str]) -> None:
        if state.get(feed) == "done":
            return
        if state.get(feed) == "visiting":
            cycle = [*path[path.index(feed) :], feed]
            raise FeedGraphError(f"feed conversion cycle: {' -> '.join(cycle)}")
        state[feed] = "visiting"
        for dep in deps[feed]:
            visit(dep, [*path, feed])
        state[feed] = "done"
        order.append(by_feed[feed])

    for spec in specs:
        visit(spec.feed, [])
    return order


def aggregate_round(
    ordered: Sequence[FeedSpec], results: Iterable[FetchResult], round_ts_ms: int
) -> dict[str, Aggregate]:
    """Every feed's `Aggregate` for one round. `ordered` comes from `evaluation_order`.

    Pure: the same specs, results and round time always give the same aggregates.
    """
    by_market = {(r.source, r.symbol): r for r in results}
    feed_ids = [spec.feed for spec in ordered]
    out: dict[str, Aggregate] = {}
    for spec in ordered:
        candidates: list[SourcePrice] = []
        rejected: list[Rejection] = []
        for source in spec.sources:
            outcome = source_price(spec, source, by_market, out, feed_ids, round_ts_ms)
            if isinstance(outcome, SourcePrice):
                candidates.append(outcome)
            else:
                rejected.append(outcome)
        out[spec.feed] = combine(spec.feed, candidates, rejected, spec.params, round_ts_ms)
    return out


def source_price(
    spec: FeedSpec,
    source: SourceSpec,
    by_market: Mapping[tuple[str, str], FetchResult],
    done: Mapping[str, Aggregate],
    feed_ids: Sequence[str],
    round_ts_ms: int,
) -> SourcePrice | Rejection:
    result = by_market.get((source.venue, source.symbol))
    if result is None:
        return Rejection(source.venue, source.symbol, RejectReason.UNAVAILABLE, "no fetch result")
    if not isinstance(result, Quote):
        reason = (
            RejectReason.INVALID
            if result.kind is FailureKind.BAD_DATA
            else RejectReason.UNAVAILABLE
        )
        return Rejection(source.venue, source.symbol, reason, f"{result.kind}: {result.reason}")
    screened = screen_quote(result, spec.params, round_ts_ms)
    if screened is not None:
        return Rejection(source.venue, source.symbol, *screened)
    conversion = plan_conversion(spec.feed, source.symbol, feed_ids)
    via_value: float | None = None
    if conversion.via is not None:
        via_value = done[conversion.via].value
        if via_value is None:
            return conversion_rejection(source, conversion.via)
    return SourcePrice(
        source=source.venue,
        symbol=source.symbol,
        price=conversion.apply(result.price, via_value),
        raw_price=result.price,
        ts_ms=result.ts_ms,
        weight=source_weight(spec.params, source, result.volume),
    )


def source_weight(params: AggregationParams, source: SourceSpec, volume: float | None) -> float:
    """A source's weight: its configured weight, or its quote's volume (0 when unknown or bad)."""
    if params.weighting is Weighting.CONFIG:
        return source.weight
    if volume is None or not math.isfinite(volume) or volume < 0:
        return 0.0
    return volume


def conversion_rejection(source: SourceSpec, via: str) -> Rejection:
    """The rejection of a source whose conversion feed has no value this round."""
    return Rejection(
        source.venue,
        source.symbol,
        RejectReason.CONVERSION,
        f"conversion feed {via} has no value this round",
    )
