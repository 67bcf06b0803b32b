"""One round's decisions as a pure function: results in, per-feed plans out.

The live node calls `plan_round` with fetched quotes and the wall-clock round time; backtest
calls it with recorded quotes and a virtual clock; replay aggregates many recorded rounds at
once and calls `plan_feeds`, the same round plan after aggregation. Nothing here reads a clock, a file
or a socket.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from aggregator import Aggregate, FeedSpec, aggregate_round, evaluation_order
from aggregator.vector import RoundLayout, aggregate_vector
from circuit_breakers import BreakerParams, BreakerState, Decision, evaluate_values
from feeds.quote import FetchResult
from publisher.answer import to_answer
from publisher.policy import LastPublished, PublishPolicy, PublishReason, decide_publish

if TYPE_CHECKING:
    from node.config import NodeConfig


@dataclass(frozen=True, slots=True)
class FeedRule:
    """Everything that decides one feed's round."""

    spec: FeedSpec
    breaker: BreakerParams
    policy: PublishPolicy
    decimals: int
    on_chain: bool


VECTOR_MIN_FEEDS = 50
"""Rounds of this many feeds or more aggregate on the vectorized path (`aggregator.vector`),
smaller ones feed by feed (`aggregate_round`). Both give identical aggregates (property tests
in tests/aggregator); the vectorized one, materialized, is the faster from about 50 feeds."""


@dataclass(frozen=True, slots=True)
class RoundRules:
    """All feeds' rules, in evaluation (dependency) order."""

    feeds: tuple[FeedRule, ...]
    layout: RoundLayout | None = field(default=None, compare=False, repr=False)
    """The vectorized path's grid, built once when the round takes that path."""

    @classmethod
    def build(cls, rules: Iterable[FeedRule]) -> RoundRules:
        by_feed = {r.spec.feed: r for r in rules}
        ordered = evaluation_order([r.spec for r in by_feed.values()])
        vector = len(ordered) >= VECTOR_MIN_FEEDS
        return cls(
            tuple(by_feed[s.feed] for s in ordered), RoundLayout.build(ordered) if vector else None
        )


def round_rules(config: NodeConfig, *, every_feed_on_chain: bool = False) -> RoundRules:
    """The rules a config gives. A feed is on chain when the node has a chain and the feed a
    contract; a backtest asks what would be published and treats every feed as on chain."""
    return RoundRules.build(
        FeedRule(
            spec=spec,
            breaker=config.breaker_params(spec.feed),
            policy=config.publish_policy(spec.feed),
            decimals=config.feed(spec.feed).decimals,
            on_chain=every_feed_on_chain
            or (config.chain is not None and config.feed(spec.feed).contract is not None),
        )
        for spec in config.feed_specs()
    )


@dataclass(frozen=True, slots=True)
class FeedMemory:
    """What a feed carries from one round to the next."""

    breaker: BreakerState = field(default_factory=BreakerState)
    published: LastPublished | None = None
    paused: bool = False
    """An operator paused publication: the feed is still fetched, aggregated and served."""


@dataclass(frozen=True, slots=True)
class FeedPlan:
    """One feed's round: the aggregate, the breaker's decision, and whether to publish."""

    feed: str
    aggregate: Aggregate
    decision: Decision
    breaker: BreakerState
    answer: int | None
    publish: PublishReason | None


def plan_round(
    rules: RoundRules,
    results: Iterable[FetchResult],
    round_ts_ms: int,
    memory: Mapping[str, FeedMemory],
) -> dict[str, FeedPlan]:
    """Aggregate every feed, run its breaker, and apply its publish policy.

    A feed publishes when it has a value, its breaker allows it, it is on chain, it is not
    paused, and its policy (deviation OR heartbeat, against the last published answer) says so.
    """
    return plan_feeds(rules, round_aggregates(rules, results, round_ts_ms), round_ts_ms, memory)


def round_aggregates(
    rules: RoundRules, results: Iterable[FetchResult], round_ts_ms: int
) -> dict[str, Aggregate]:
    """Every feed's aggregate: the one place that picks the scalar or the vectorized path."""
    if rules.layout is not None:
        return aggregate_vector(rules.layout, results, round_ts_ms).aggregates()
    return aggregate_round([r.spec for r in rules.feeds], results, round_ts_ms)


def plan_feeds(
    rules: RoundRules,
    aggregates: Mapping[str, Aggregate],
    round_ts_ms: int,
    memory: Mapping[str, FeedMemory],
) -> dict[str, FeedPlan]:
    """`plan_round` after aggregation: each feed's breaker, answer and publish decision.

    Replay passes aggregates it computed for many rounds at once (`aggregator.rounds`).
    """
    plans: dict[str, FeedPlan] = {}
    for rule in rules.feeds:
        feed = rule.spec.feed
        agg = aggregates[feed]
        # Only the staleness check reads the stamps of the used quotes.
        stamps = [s.ts_ms for s in agg.used] if rule.breaker.max_quote_age_ms is not None else ()
        decision, breaker, answer, publish = plan_feed(
            rule,
            memory.get(feed, _FRESH),
            agg.value,
            agg.dispersion,
            agg.error,
            stamps,
            round_ts_ms,
        )
        plans[feed] = FeedPlan(feed, agg, decision, breaker, answer, publish)
    return plans


_FRESH = FeedMemory()

FeedStep = tuple[Decision, BreakerState, int | None, PublishReason | None]
"""One feed's round after aggregation: decision, next breaker state, answer, publish reason."""


def plan_feed(
    rule: FeedRule,
    mem: FeedMemory,
    value: float | None,
    dispersion: float | None,
    error: str | None,
    used_ts_ms: Sequence[int],
    round_ts_ms: int,
) -> FeedStep:
    """One feed of `plan_feeds`, on its aggregate's fields (`used_ts_ms`: the used quotes'
    stamps, read only when the staleness check is on). Exact replay calls it on values read
    from its arrays, without building the `Aggregate`."""
    last_value = None
    if mem.published is not None:
        last_value = mem.published.answer / 10**rule.decimals
    decision, breaker = evaluate_values(
        rule.breaker, mem.breaker, value, dispersion, error, used_ts_ms, last_value, round_ts_ms
    )
    answer = to_answer(value, rule.decimals) if value is not None else None
    publish = None
    now_s = round_ts_ms // 1000
    newer = mem.published is None or now_s > mem.published.updated_at
    if decision.allow and answer is not None and rule.on_chain and newer and not mem.paused:
        # The contract only takes timestamps newer than its last update.
        publish = decide_publish(rule.policy, mem.published, answer, now_s)
    return decision, breaker, answer, publish
