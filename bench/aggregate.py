"""Benchmark: one round for many feeds, vectorized, against numpy's median on the same data.

    .venv/bin/python bench/aggregate.py [--feeds 1000] [--sources 20] [--rounds 20]

Prints one JSON line: {"feeds", "sources", "ms_per_round", "numpy_median_ms", "ratio", ...}.
`ms_per_round` times the vectorized round from the round's columnar quote batch
(`aggregator.vector.aggregate_batch`, the median quote stamps, then
`circuit_breakers.vector.step_batch`): screening, conversion, filters, estimator, breakers
and provenance (a reason code per source, kept as arrays). `numpy_median_ms` times
`np.median` over the same prices as a (feeds x sources) array, measured in the same run, so
the ratio does not depend on the machine. Also printed: `ingest_ms` (building the batch from
the Python `Quote` objects, `aggregator.batch.quote_batch`: NOT inside `ms_per_round`),
`scalar_ms_per_round` (the per-feed path: `aggregate_round` and `evaluate`, from the quote
objects), `default_malloc_ms_per_round` (the vectorized round measured first, before the
process raises glibc's mmap and trim thresholds as `oracle-node` does at start, see
`node.allocator`; `malloc_tuned` says whether that took) and `identical` (the vectorized
aggregates and decisions equal the scalar ones, checked outside the timing).
"""

from __future__ import annotations

import argparse
import json
import math
import random
import sys
import time
from collections.abc import Callable
from pathlib import Path

# Run as a script, this folder comes first on sys.path, and `bench/feeds.py` would shadow the
# `feeds` package: import the project's packages, not sibling scripts.
_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]

import numpy as np  # noqa: E402

from aggregator import AggregationParams, FeedSpec, SourceSpec, aggregate_round, evaluation_order  # noqa: E402
from aggregator.vector import RoundLayout, aggregate_batch, aggregate_vector, quote_batch  # noqa: E402
from circuit_breakers import BreakerParams, BreakerState, evaluate  # noqa: E402
from circuit_breakers.vector import BreakerArrays, ParamArrays, step_batch  # noqa: E402
from feeds.quote import Quote  # noqa: E402
from node.allocator import keep_freed_memory  # noqa: E402

ROUND_TS = 1_700_000_000_000


def synthetic_round(feeds: int, sources: int, seed: int = 7) -> tuple[list[FeedSpec], list[Quote]]:
    rnd = random.Random(seed)
    specs, quotes = [], []
    for f in range(feeds):
        base = f"A{f}"
        true_price = rnd.uniform(1, 100_000)
        specs.append(
            FeedSpec(
                f"{base}/USD",
                tuple(SourceSpec(f"v{s}", f"{base}/USD") for s in range(sources)),
                AggregationParams(quorum=3),
            )
        )
        for s in range(sources):
            price = true_price * (1 + rnd.gauss(0, 0.0005)) * (1.2 if s == 0 else 1.0)
            quotes.append(
                Quote(
                    f"v{s}",
                    f"{base}/USD",
                    price,
                    ROUND_TS,
                    ROUND_TS - 500,
                    price * 0.9999,
                    price * 1.0001,
                )
            )
    return specs, quotes


def best_ms(fn: Callable[[], object], rounds: int) -> float:
    """Best of `rounds` runs, in CPU milliseconds of this process: numpy runs these operations
    on one thread, and CPU time does not count the time other processes held the core."""
    times = []
    for _ in range(rounds):
        start = time.process_time()
        fn()
        times.append((time.process_time() - start) * 1000)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--feeds", type=int, default=1000)
    parser.add_argument("--sources", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=20)
    args = parser.parse_args()
    specs, quotes = synthetic_round(args.feeds, args.sources)
    ordered = evaluation_order(specs)
    layout = RoundLayout.build(ordered)
    breaker = BreakerParams()
    params = ParamArrays.build([breaker] * len(ordered))
    states = BreakerArrays.closed(len(ordered))
    published = np.full(len(ordered), np.nan)
    prices = np.array([q.price for q in quotes]).reshape(args.feeds, args.sources)

    batch = quote_batch(layout, quotes)

    def vector_round() -> None:
        agg = aggregate_batch(layout, batch, ROUND_TS)
        median_ts = agg.median_used_ts_ms()
        step_batch(params, states, agg.value, agg.dispersion, median_ts, published, ROUND_TS)

    def scalar_round() -> None:
        for agg in aggregate_round(ordered, quotes, ROUND_TS).values():
            evaluate(breaker, BreakerState(), agg, None, ROUND_TS)

    default_malloc_ms = best_ms(vector_round, args.rounds)
    # From here on the process keeps freed memory, as `oracle-node` does (node.allocator).
    tuned = keep_freed_memory()
    ms = best_ms(vector_round, args.rounds)
    ingest = best_ms(lambda: quote_batch(layout, quotes), args.rounds)
    scalar_ms = best_ms(scalar_round, max(1, args.rounds // 2))
    np_ms = best_ms(lambda: np.median(prices, axis=1), max(args.rounds, 20))
    print(
        json.dumps(
            {
                "feeds": args.feeds,
                "sources": args.sources,
                "ms_per_round": round(ms, 3),
                "numpy_median_ms": round(np_ms, 4),
                "ratio": round(ms / np_ms, 1),
                "ingest_ms": round(ingest, 3),
                "scalar_ms_per_round": round(scalar_ms, 3),
                "default_malloc_ms_per_round": round(default_malloc_ms, 3),
                "malloc_tuned": tuned,
                "identical": identical(layout, ordered, quotes, breaker),
            }
        )
    )


def identical(
    layout: RoundLayout, ordered: list[FeedSpec], quotes: list[Quote], breaker: BreakerParams
) -> bool:
    """Do the vectorized aggregates and breaker decisions equal the scalar ones?"""
    vector = aggregate_vector(layout, quotes, ROUND_TS)
    scalar = aggregate_round(ordered, quotes, ROUND_TS)
    aggs = vector.aggregates()
    if aggs != scalar:
        return False
    n = len(ordered)
    step = step_batch(
        ParamArrays.build([breaker] * n),
        BreakerArrays.closed(n),
        vector.value,
        vector.dispersion,
        vector.median_used_ts_ms(),
        np.full(n, math.nan),
        ROUND_TS,
    )
    for i, spec in enumerate(ordered):
        decision, state = evaluate(breaker, BreakerState(), scalar[spec.feed], None, ROUND_TS)
        if step.decision(i, breaker, scalar[spec.feed].error) != decision:
            return False
        if step.state(i) != state:
            return False
    return True


if __name__ == "__main__":
    main()
