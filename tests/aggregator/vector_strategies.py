"""Hypothesis strategies for random rounds: feeds with converted sources and faulty quotes."""

from __future__ import annotations

from hypothesis import strategies as st

from aggregator import (
    AggregationParams,
    Estimator,
    FeedSpec,
    OutlierFilter,
    SourceSpec,
    Weighting,
)
from feeds.quote import FailureKind, FetchFailure, FetchResult, Quote

T = 1_700_000_000_000
VENUES = [f"v{i}" for i in range(8)]

params_strategy = st.builds(
    AggregationParams,
    quorum=st.integers(1, 4),
    filters=st.lists(st.sampled_from(list(OutlierFilter)), unique=True, max_size=3).map(tuple),
    mad_k=st.sampled_from([1.0, 3.0, 5.0]),
    min_mad=st.sampled_from([0.0, 0.0005]),
    iqr_k=st.sampled_from([0.5, 1.5, 3.0]),
    max_distance=st.sampled_from([0.01, 0.05]),
    estimator=st.sampled_from(list(Estimator)),
    trim=st.sampled_from([0.0, 0.1, 0.25, 0.4]),
    weighting=st.sampled_from(list(Weighting)),
)


@st.composite
def quote_for(draw: st.DrawFn, venue: str, symbol: str, center: float) -> FetchResult | None:
    kind = draw(st.sampled_from(["good"] * 6 + ["none", "fail", "bad", "stale", "spike", "book"]))
    if kind == "none":
        return None
    if kind in ("fail", "bad"):
        failure = FailureKind.BAD_DATA if kind == "bad" else FailureKind.TEMPORARY
        return FetchFailure(venue, symbol, failure, "boom", T)
    price = center * draw(st.floats(0.99, 1.01))
    if kind == "spike":
        price *= draw(st.sampled_from([0.0, -1.0, 0.5, 3.0]))
    ts = (
        T - draw(st.sampled_from([0, 1_000, 59_999, 61_000, -4_000, -9_000]))
        if kind != "stale"
        else T - 120_000
    )
    bid = ask = None
    if kind == "book":
        bid, ask = draw(
            st.sampled_from(
                [(price * 0.999, price * 1.001), (price, price * 0.9), (price * 0.9, price * 1.1)]
            )
        )
    volume = draw(st.one_of(st.none(), st.floats(0, 1e4), st.just(float("nan"))))
    exchange = draw(st.sampled_from([ts, None]))
    return Quote(venue, symbol, price, ts, exchange, bid, ask, volume)


@st.composite
def rounds(draw: st.DrawFn) -> tuple[list[FeedSpec], list[FetchResult]]:
    specs: list[FeedSpec] = []
    results: list[FetchResult] = []
    usdt = draw(params_strategy)
    venues = draw(st.lists(st.sampled_from(VENUES), min_size=1, max_size=5, unique=True))
    specs.append(FeedSpec("USDT/USD", tuple(SourceSpec(v, "USDT/USD") for v in venues), usdt))
    for v in venues:
        if (q := draw(quote_for(v, "USDT/USD", 1.0))) is not None:
            results.append(q)
    for f in range(draw(st.integers(1, 4))):
        base = f"A{f}"
        center = draw(st.floats(0.01, 1e6))
        chosen = draw(st.lists(st.sampled_from(VENUES), min_size=1, max_size=8, unique=True))
        sources = []
        for v in chosen:
            symbol = draw(st.sampled_from([f"{base}/USD", f"{base}/USDT"]))
            weight = draw(st.sampled_from([1.0, 0.5, 3.0]))
            sources.append(SourceSpec(v, symbol, weight))
            if (q := draw(quote_for(v, symbol, center))) is not None:
                results.append(q)
        specs.append(FeedSpec(f"{base}/USD", tuple(sources), draw(params_strategy)))
    return specs, draw(st.permutations(results))


@st.composite
def results_for(draw: st.DrawFn, specs: list[FeedSpec]) -> list[FetchResult]:
    """Another round's results for the same feeds (prices, faults and stamps drawn afresh)."""
    results: list[FetchResult] = []
    for spec in specs:
        center = 1.0 if spec.feed == "USDT/USD" else draw(st.floats(0.01, 1e6))
        for source in spec.sources:
            if (q := draw(quote_for(source.venue, source.symbol, center))) is not None:
                results.append(q)
    return draw(st.permutations(results))
