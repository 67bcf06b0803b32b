"""Benchmark: one aggregation round for many feeds, against numpy's median on the same data.

    .venv/bin/python bench/aggregate.py [--feeds 1000] [--sources 20] [--rounds 5]

Prints one JSON line: {"feeds", "sources", "ms_per_round", "numpy_median_ms", "ratio"}.
`ms_per_round` times `aggregate_round` (screening, conversion, MAD outlier cut, quorum, median,
provenance) on synthetic quotes; `numpy_median_ms` times `np.median` over the same prices as a
(feeds x sources) array, measured in the same run, so the ratio does not depend on the machine.
"""

from __future__ import annotations

import argparse
import json
import random
import time
from collections.abc import Callable

import numpy as np

from aggregator import AggregationParams, FeedSpec, SourceSpec, aggregate_round, evaluation_order
from feeds.quote import Quote

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
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--feeds", type=int, default=1000)
    parser.add_argument("--sources", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    specs, quotes = synthetic_round(args.feeds, args.sources)
    ordered = evaluation_order(specs)
    prices = np.array([q.price for q in quotes]).reshape(args.feeds, args.sources)
    ms = best_ms(lambda: aggregate_round(ordered, quotes, ROUND_TS), args.rounds)
    np_ms = best_ms(lambda: np.median(prices, axis=1), max(args.rounds, 20))
    print(
        json.dumps(
            {
                "feeds": args.feeds,
                "sources": args.sources,
                "ms_per_round": round(ms, 3),
                "numpy_median_ms": round(np_ms, 4),
                "ratio": round(ms / np_ms, 1),
            }
        )
    )


if __name__ == "__main__":
    main()
