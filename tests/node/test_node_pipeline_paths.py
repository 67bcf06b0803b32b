"""The round plan picks the vectorized path for many feeds, with the per-feed path's results."""

from __future__ import annotations

import random

from aggregator import AggregationParams, FeedSpec, SourceSpec, aggregate_round
from circuit_breakers import DeviationParams
from feeds.quote import FailureKind, FetchFailure, FetchResult, Quote
from node.pipeline import (
    VECTOR_MIN_FEEDS,
    FeedMemory,
    FeedRule,
    RoundRules,
    plan_feeds,
    plan_round,
)
from publisher.policy import PublishPolicy

T = 1_700_000_000_000


def rules_of(feeds: int) -> RoundRules:
    return RoundRules.build(
        FeedRule(
            FeedSpec(
                f"A{f}/USD",
                tuple(SourceSpec(f"v{s}", f"A{f}/USD") for s in range(5)),
                AggregationParams(),
            ),
            DeviationParams(),
            PublishPolicy(),
            8,
            True,
        )
        for f in range(feeds)
    )


def faulty_round(feeds: int, now_ms: int, seed: int) -> list[FetchResult]:
    """Five venues per feed: mostly good quotes, some outliers, failures and stale ones."""
    rnd = random.Random(seed)
    out: list[FetchResult] = []
    for f in range(feeds):
        center = 10.0 * (f + 1) * (1 + rnd.gauss(0, 0.05))
        for s in range(5):
            kind = rnd.choice(["good"] * 6 + ["outlier", "failure", "stale"])
            symbol = f"A{f}/USD"
            if kind == "failure":
                out.append(FetchFailure(f"v{s}", symbol, FailureKind.TEMPORARY, "timeout", now_ms))
                continue
            price = center * (1 + rnd.gauss(0, 0.0005)) * (1.3 if kind == "outlier" else 1.0)
            stamp = now_ms - (120_000 if kind == "stale" else 300)
            out.append(Quote(f"v{s}", symbol, price, now_ms, stamp, price * 0.9999, price * 1.0001))
    return out


def test_rules_with_many_feeds_carry_the_vectorized_grid() -> None:
    assert rules_of(VECTOR_MIN_FEEDS).layout is not None
    assert rules_of(VECTOR_MIN_FEEDS - 1).layout is None


def test_rules_compare_equal_whichever_path_they_take() -> None:
    assert rules_of(VECTOR_MIN_FEEDS) == rules_of(VECTOR_MIN_FEEDS)


def test_a_round_of_many_feeds_plans_exactly_as_feed_by_feed_over_consecutive_rounds() -> None:
    rules = rules_of(VECTOR_MIN_FEEDS + 10)
    specs = [r.spec for r in rules.feeds]
    vector_memory: dict[str, FeedMemory] = {}
    scalar_memory: dict[str, FeedMemory] = {}
    for k in range(4):
        now = T + k * 10_000
        results = faulty_round(len(specs), now, seed=k)

        vector = plan_round(rules, results, now, vector_memory)
        scalar = plan_feeds(rules, aggregate_round(specs, results, now), now, scalar_memory)

        assert vector == scalar
        vector_memory = {f: FeedMemory(breaker=p.breaker) for f, p in vector.items()}
        scalar_memory = {f: FeedMemory(breaker=p.breaker) for f, p in scalar.items()}
