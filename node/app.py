"""A running node: fetcher, journal, chain, the round scheduler and the HTTP server, from config."""

from __future__ import annotations

import asyncio
import logging
import signal
import time
from collections import defaultdict
from collections.abc import AsyncIterator, Callable, Coroutine
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from aiohttp import web
from apscheduler.schedulers.asyncio import AsyncIOScheduler

from audit.journal import Journal
from feeds.fetcher import Fetcher
from feeds.venue import VenueSpec
from node.chain import ContractChain
from node.config import NodeConfig
from node.cosign import CoSigner, Freshness
from node.http_api import create_app, is_loopback, load_admin_token, rate_limiter
from node.metrics import NodeMetrics
from node.peers import Peer, PeerClient
from node.pipeline import round_rules
from node.quorum import QuorumRelay, RelaySettings
from node.service import OracleNode

log = logging.getLogger("oracle.node")


def wall_clock_ms() -> int:
    return time.time_ns() // 1_000_000


def venue_markets(config: NodeConfig) -> dict[str, list[str]]:
    """Venue -> the distinct markets the round fetches from it (sorted, one batch per venue)."""
    wanted: defaultdict[str, set[str]] = defaultdict(set)
    for spec in config.feed_specs():
        for source in spec.sources:
            wanted[source.venue].add(source.symbol)
    return {venue: sorted(symbols) for venue, symbols in sorted(wanted.items())}


def venue_specs(config: NodeConfig) -> dict[str, VenueSpec]:
    """How the fetcher reaches each configured venue."""
    return {
        name: VenueSpec(
            exchange=v.exchange or name,
            api_url=v.api_url,
            price=v.price,
            prices=dict(v.prices),
            rate_limit_ms=v.rate_limit_ms,
            stream=v.stream,
            stall_timeout_s=v.stall_timeout_s,
        )
        for name, v in config.venues.items()
    }


WARM_UP_TIMEOUT_S = 30.0
"""Markets and streams get this long before the first round; whatever is not ready then is
retried by the rounds themselves."""


async def warm_up(fetcher: Fetcher, markets: dict[str, list[str]]) -> None:
    """Load every venue's markets and open its stream before the first round."""
    failed = await fetcher.prepare(markets, WARM_UP_TIMEOUT_S)
    for venue, reason in sorted(failed.items()):
        log.warning(
            "venue %s not ready before the first round (%s); the rounds retry it",
            venue,
            reason,
            extra={"action": f"if it stays down, check venues.{venue} (api_url, network)"},
        )


@dataclass(frozen=True, slots=True)
class RunningNode:
    node: OracleNode
    http_url: str


@asynccontextmanager
async def running_node(
    config: NodeConfig, clock: Callable[[], int] = wall_clock_ms
) -> AsyncIterator[RunningNode]:
    """Start every part of the node; rounds run on the scheduler until the block exits."""
    journal = await Journal.open(config.node.journal)
    metrics = NodeMetrics()
    fetcher = Fetcher(venue_specs(config), clock, on_poll=metrics.observe_poll)
    metrics.watch_venues(fetcher.health)
    metrics.watch_journal(config.node.journal)
    scheduler = AsyncIOScheduler()
    runner: web.AppRunner | None = None
    rounds: RoundRunner | None = None
    chain: ContractChain | None = None
    peers: PeerClient | None = None
    try:
        if config.chain is not None:
            addresses = {f.id: f.contract for f in config.feeds if f.contract is not None}
            chain = await ContractChain.connect(config.chain, addresses)
            log.info(
                "publishing as %s through %d RPC endpoint(s)",
                chain.sender,
                len(config.chain.endpoints()),
            )
        quorum = None
        if config.peers and chain is not None:
            peers = PeerClient(
                [Peer(p.url, p.signer) for p in config.peers],
                timeout_s=config.relay.peer_timeout_s,
                max_peers=config.relay.max_peers,
                on_rejection=lambda r: metrics.peer_rejections.labels(r.peer, r.reason).inc(),
                on_latency=lambda peer, s: metrics.peer_latency.labels(peer).observe(s),
            )
            settings = RelaySettings(
                config.relay.slot_s, config.relay.max_age_s, config.relay.max_future_s
            )
            quorum = QuorumRelay(
                chain, journal, peers, settings, clock, on_missed=metrics.relay_missed_slots.inc
            )
            log.info(
                "quorum mode: %d peer(s), %.0fs relay slots", len(config.peers), settings.slot_s
            )
        config_hash = await journal.store_config(config.snapshot())
        node = OracleNode(
            rules=round_rules(config),
            venues=venue_markets(config),
            fetcher=fetcher,
            journal=journal,
            chain=chain,
            clock=clock,
            deadline_s=config.node.venue_deadline_s,
            config_hash=config_hash,
            metrics=metrics,
            quorum=quorum,
        )
        cosigner = None
        if quorum is not None and chain is not None:
            cosigner = _cosigner(config, chain, node)
            quorum.cosigner = cosigner
        await node.start()
        await warm_up(fetcher, venue_markets(config))
        admin_token = load_admin_token(config.http.admin_token_file)
        runner = web.AppRunner(
            create_app(
                node,
                clock,
                config.node.round_interval_s,
                admin_token=admin_token,
                venue_health=fetcher.health,
                rate_limit=rate_limiter(config.http),
                cosigner=cosigner,
            )
        )
        await runner.setup()
        if not is_loopback(config.http.host):
            log.warning(
                "HTTP API bound to %s, beyond this machine: put it behind a proxy or a firewall",
                config.http.host,
            )
        site = web.TCPSite(runner, config.http.host, config.http.port)
        await site.start()
        port = runner.addresses[0][1]
        rounds = RoundRunner(node, None if chain is None else sender_sampler(chain, metrics))
        scheduler.add_job(
            rounds.run,
            "interval",
            seconds=config.node.round_interval_s,
            max_instances=1,
            coalesce=True,
            misfire_grace_time=None,
            next_run_time=_now(),
        )
        scheduler.start()
        yield RunningNode(node, f"http://{config.http.host}:{port}")
    finally:
        if scheduler.running:
            scheduler.shutdown(wait=False)
        if rounds is not None:
            await rounds.drain(
                config.node.venue_deadline_s
                + (config.chain.receipt_timeout_s if config.chain else 0)
            )
        if runner is not None:
            await runner.cleanup()
        await fetcher.close()
        if peers is not None:
            await peers.close()
        if chain is not None:
            await chain.close()
        await journal.close()


def _cosigner(config: NodeConfig, chain: ContractChain, node: OracleNode) -> CoSigner | None:
    """This node's co-signer of its aggregate feeds' reports (None without any)."""
    feeds = {f.id: chain.aggregate_feed(f.id) for f in config.feeds if f.contract is not None}
    aggregate = {feed: members for feed, members in feeds.items() if members is not None}
    if not aggregate or chain.schnorr is None:
        return None
    return CoSigner(
        chain.schnorr,
        aggregate,
        serving=lambda feed: node.observations.get(feed) is not None,
        # Wider than the relay's own window by a slot: an observation a relay still accepts
        # is never refused by an honest member (see node/cosign_relay.py, `Judge`).
        freshness=Freshness(
            config.relay.max_age_s + config.relay.slot_s,
            config.relay.max_future_s + config.relay.slot_s,
        ),
    )


def _now() -> datetime:
    return datetime.now(UTC)


SENDER_SAMPLE_TIMEOUT_S = 5.0


def sender_sampler(
    chain: ContractChain, metrics: NodeMetrics
) -> Callable[[], Coroutine[Any, Any, None]]:
    """Reads the sender's balance and mempool count into the metrics: once a round, after it,
    so a scrape never waits on the RPC. A failed read keeps the last figures."""

    async def sample() -> None:
        try:
            async with asyncio.timeout(SENDER_SAMPLE_TIMEOUT_S):
                balance, pending = await chain.sender_state()
        except Exception as exc:  # the RPC's trouble shows in the publications; not fatal here
            log.debug("sender balance not read: %s", exc)
            return
        metrics.balance.set(balance)
        metrics.pending_transactions.set(pending)

    return sample


class RoundRunner:
    """The scheduler's job: one round at a time, and a shutdown that lets the current round end.

    A round cut off mid-flight would leave a signed observation journaled and no outcome; so
    shutdown waits for the round in flight (bounded), and cancels it only past that bound.
    """

    def __init__(
        self, node: OracleNode, after_round: Callable[[], Coroutine[Any, Any, None]] | None = None
    ) -> None:
        self._node = node
        self._after_round = after_round
        self._current: asyncio.Task[object] | None = None
        self._after: asyncio.Task[None] | None = None

    async def run(self) -> None:
        self._current = asyncio.create_task(self._node.run_round())
        try:
            # Shielded: the scheduler cancels its running jobs on shutdown; the round itself
            # must finish (or be cancelled by `drain` past its bound).
            await asyncio.shield(self._current)
        except asyncio.CancelledError:
            if self._current is not None and not self._current.done():
                return  # the scheduler is shutting down; `drain` sees the round through
            raise
        except Exception:
            log.exception(
                "round %d failed; the next round runs on schedule. If this repeats, check the "
                "journal file and the RPC endpoint.",
                self._node.round_id,
                extra={"action": "if this repeats, check the journal file and the RPC endpoint"},
            )
        finally:
            if self._current is not None and self._current.done():
                self._current = None
        if self._after_round is not None and (self._after is None or self._after.done()):
            # In the background, one at a time: the next round never waits for it.
            self._after = asyncio.create_task(self._after_round())

    async def drain(self, timeout_s: float) -> None:
        after, self._after = self._after, None
        if after is not None:
            after.cancel()
            await asyncio.gather(after, return_exceptions=True)
        task = self._current
        if task is None:
            return
        done, _ = await asyncio.wait({task}, timeout=timeout_s)
        if not done:
            log.warning(
                "round %d still running after %.0fs; cancelling it", self._node.round_id, timeout_s
            )
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)


def stop_on_signals() -> asyncio.Event:
    """An event set by SIGINT or SIGTERM, so shutdown runs every cleanup step."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    return stop


async def serve(config: NodeConfig) -> None:
    """Run the node until SIGINT or SIGTERM."""
    stop = stop_on_signals()
    async with running_node(config) as running:
        log.info("node serving on %s", running.http_url)
        await stop.wait()
    log.info("node stopped")
