"""The node's Prometheus metrics: one `NodeMetrics` (with its own registry) per node instance.

Two kinds of figures:
- events, observed where they happen at the node's I/O boundaries: a venue poll (latency and
  the markets that failed), a publication (latency, gas, failures), a round, and the sender's
  balance and pending transactions, read from the chain once per round;
- state, read when Prometheus scrapes (`_StateCollector`): each feed's value, on-chain value,
  deviation, breaker state and quorum; each venue's request budget and skipped rounds; the
  journal's size on disk. Nothing in aggregator/ or circuit_breakers/ knows about metrics.

Never the global default registry: a process may run many nodes (the tests do).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Final

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from circuit_breakers.types import BreakerStatus
from feeds.health import VenueHealth
from feeds.quote import FetchFailure, FetchResult

if TYPE_CHECKING:
    from node.service import OracleNode
    from node.status import Receipt

CONTENT_TYPE: Final = "text/plain; version=0.0.4; charset=utf-8"
"""Prometheus' text exposition format, what `render` produces."""

BREAKER_LEVEL: Final = {
    BreakerStatus.CLOSED: 0,
    BreakerStatus.HALF_OPEN: 1,
    BreakerStatus.OPEN: 2,
}
"""`oracle_feed_breaker_state`: 0 closed, 1 half_open, 2 open (higher is worse)."""

FETCH_BUCKETS_S: Final = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
PUBLISH_BUCKETS_S: Final = (0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 20.0, 30.0, 60.0, 120.0, 300.0)
ROUND_BUCKETS_S: Final = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0)

VenueHealthSource = Callable[[], Mapping[str, VenueHealth]]


class NodeMetrics:
    """Every metric of one node, typed, on the node's own `CollectorRegistry`.

    Event metrics are attributes to observe; state metrics come from the sources attached
    with `watch_node`, `watch_venues` and `watch_journal` and are read at scrape time.
    `render()` is the body of `GET /metrics`.
    """

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.fetch_latency = Histogram(
            "oracle_venue_fetch_seconds",
            "Duration of one REST poll of a venue (all its markets of the round)",
            ["venue"],
            buckets=FETCH_BUCKETS_S,
            registry=r,
        )
        self.fetch_errors = Counter(
            "oracle_venue_fetch_errors",
            "Markets a venue poll returned no quote for, by failure kind",
            ["venue", "kind"],
            registry=r,
        )
        self.rounds = Counter("oracle_rounds", "Rounds run", registry=r)
        self.round_latency = Histogram(
            "oracle_round_seconds",
            "Duration of a round: fetch, plan, sign, journal and publish",
            buckets=ROUND_BUCKETS_S,
            registry=r,
        )
        self.publish_latency = Histogram(
            "oracle_publish_seconds",
            "From handing a report to the chain to its confirmed receipt",
            ["feed"],
            buckets=PUBLISH_BUCKETS_S,
            registry=r,
        )
        self.publish_failures = Counter(
            "oracle_publish_failures",
            "Publications that failed, by error class",
            ["feed", "error"],
            registry=r,
        )
        self.gas_used = Counter(
            "oracle_publish_gas_used", "Gas used by confirmed publications", ["feed"], registry=r
        )
        self.gas_spent = Counter(
            "oracle_publish_gas_spent_wei",
            "Wei paid for confirmed publications (gas used x effective gas price)",
            ["feed"],
            registry=r,
        )
        self.publications_in_flight = Gauge(
            "oracle_publications_in_flight",
            "Publications handed to the chain and not yet confirmed or failed",
            registry=r,
        )
        self.pending_transactions = Gauge(
            "oracle_account_pending_transactions",
            "Sender transactions in the mempool (pending nonce - mined nonce), read once a round",
            registry=r,
        )
        self.balance = Gauge(
            "oracle_account_balance_wei",
            "The sender's balance, read once a round",
            registry=r,
        )
        self.peer_rejections = Counter(
            "oracle_peer_rejections",
            "Peer observations ignored by a relay, by peer URL and reason (node.peers.REASONS)",
            ["peer", "reason"],
            registry=r,
        )
        self.peer_latency = Histogram(
            "oracle_peer_request_seconds",
            "Time of one observation request to a peer, answered or not",
            ["peer"],
            buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0),
            registry=r,
        )
        self.relay_missed_slots = Counter(
            "oracle_relay_missed_slots",
            "Updates this node saw due for more than a slot without landing (a relay missed it)",
            registry=r,
        )
        self._state = _StateCollector()
        r.register(self._state)

    def watch_node(self, node: OracleNode) -> None:
        """Serve the node's per-feed state (value, deviation, breaker, quorum) at scrape time."""
        self._state.node = node

    def watch_venues(self, health: VenueHealthSource) -> None:
        """Serve the fetcher's per-venue state (requests, waits, skipped rounds) at scrape time."""
        self._state.venues = health

    def watch_journal(self, path: Path) -> None:
        """Serve the journal file's size at scrape time."""
        self._state.journal = path

    def observe_poll(self, venue: str, latency_s: float, results: Sequence[FetchResult]) -> None:
        """A venue poll ended (the fetcher's `on_poll` hook)."""
        self.fetch_latency.labels(venue).observe(latency_s)
        for result in results:
            if isinstance(result, FetchFailure):
                self.fetch_errors.labels(venue, str(result.kind)).inc()

    def observe_publication(self, feed: str, latency_s: float, receipt: Receipt) -> None:
        self.publish_latency.labels(feed).observe(latency_s)
        self.gas_used.labels(feed).inc(receipt.gas_used)
        self.gas_spent.labels(feed).inc(receipt.gas_used * receipt.effective_gas_price)

    def render(self) -> bytes:
        """Every metric in Prometheus' text format (`CONTENT_TYPE`)."""
        return generate_latest(self.registry)


class _StateCollector(Collector):
    """Reads the node's current state when Prometheus scrapes; never blocks on I/O."""

    def __init__(self) -> None:
        self.node: OracleNode | None = None
        self.venues: VenueHealthSource | None = None
        self.journal: Path | None = None

    def describe(self) -> Iterable[Metric]:
        return []  # unchecked collector: its families depend on what is attached

    def collect(self) -> Iterator[Metric]:
        if self.node is not None:
            yield from _feed_metrics(self.node)
        if self.venues is not None:
            yield from _venue_metrics(self.venues())
        if self.journal is not None:
            yield from _journal_metrics(self.journal)


def _feed_metrics(node: OracleNode) -> Iterator[Metric]:
    value = GaugeMetricFamily(
        "oracle_feed_value",
        "The feed's current value (held while a breaker holds)",
        labels=["feed"],
    )
    onchain = GaugeMetricFamily(
        "oracle_feed_onchain_value",
        "The value on chain, as last read or published",
        labels=["feed"],
    )
    deviation = GaugeMetricFamily(
        "oracle_feed_deviation_ratio",
        "|value - on-chain value| / on-chain value; publication is due at the feed's deviation",
        labels=["feed"],
    )
    breaker = GaugeMetricFamily(
        "oracle_feed_breaker_state", "Breaker: 0 closed, 1 half_open, 2 open", labels=["feed"]
    )
    breaker_by_state = GaugeMetricFamily(
        "oracle_feed_breaker", "1 for the breaker's current state", labels=["feed", "state"]
    )
    quorum = GaugeMetricFamily(
        "oracle_feed_quorum_size", "Venues behind the last round's aggregate", labels=["feed"]
    )
    quorum_required = GaugeMetricFamily(
        "oracle_feed_quorum_required", "Venues the feed's aggregate needs", labels=["feed"]
    )
    round_id = GaugeMetricFamily(
        "oracle_feed_round_id", "The node's last round that planned the feed", labels=["feed"]
    )
    for rule in node.rules.feeds:
        feed = rule.spec.feed
        status = node.status[feed]
        scale = 10**rule.decimals
        quorum_required.add_metric([feed], rule.spec.params.quorum)
        round_id.add_metric([feed], status.round_id)
        if status.value_answer is not None:
            value.add_metric([feed], status.value_answer / scale)
        if status.published is not None:
            onchain.add_metric([feed], status.published.answer / scale)
            if status.value_answer is not None and status.published.answer != 0:
                moved = abs(status.value_answer - status.published.answer)
                deviation.add_metric([feed], moved / abs(status.published.answer))
        state = BreakerStatus.CLOSED if status.plan is None else status.plan.decision.status
        breaker.add_metric([feed], BREAKER_LEVEL[state])
        for each in BreakerStatus:
            breaker_by_state.add_metric([feed, str(each)], 1.0 if each == state else 0.0)
        if status.plan is not None:
            quorum.add_metric([feed], len(status.plan.aggregate.used))
    yield from (value, onchain, deviation, breaker, breaker_by_state, quorum, quorum_required)
    yield round_id


def _venue_metrics(health: Mapping[str, VenueHealth]) -> Iterator[Metric]:
    requests = CounterMetricFamily(
        "oracle_venue_requests", "Requests sent to the venue", labels=["venue"]
    )
    units = CounterMetricFamily(
        "oracle_venue_request_units", "ccxt cost units those requests used", labels=["venue"]
    )
    waited = CounterMetricFamily(
        "oracle_venue_rate_limit_wait_seconds",
        "Time requests queued for the venue's request budget (its rate limit)",
        labels=["venue"],
    )
    skipped = CounterMetricFamily(
        "oracle_venue_skipped_rounds",
        "Rounds the venue was not polled: request budget spent or backing off after a 429",
        labels=["venue"],
    )
    success = GaugeMetricFamily(
        "oracle_venue_success_ratio",
        "Share of the markets asked for in the last 100 polls that came back as quotes",
        labels=["venue"],
    )
    for name in sorted(health):
        h = health[name]
        requests.add_metric([name], h.requests)
        units.add_metric([name], h.request_units)
        waited.add_metric([name], h.wait_s)
        skipped.add_metric([name], h.skipped_rounds)
        if h.success_rate is not None:
            success.add_metric([name], h.success_rate)
    yield from (requests, units, waited, skipped, success)


def _journal_metrics(path: Path) -> Iterator[Metric]:
    size = GaugeMetricFamily(
        "oracle_journal_bytes",
        "Size of the journal file (and of its write-ahead log)",
        labels=["file"],
    )
    for label, file in (("db", path), ("wal", path.with_name(path.name + "-wal"))):
        try:
            size.add_metric([label], file.stat().st_size)
        except OSError:
            continue  # no WAL between checkpoints; a missing journal is the node's to report
    yield size
