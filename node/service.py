"""The live round: fetch, plan (pure), sign, journal, publish, and remember for the HTTP API.

Order matters for an auditor: a round's record, with every signature it will send, is
committed to the journal before any transaction leaves the node; each transaction's outcome
is a later record. A node killed in between leaves an intent the journal shows.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING

from audit.journal import Journal
from node.logs import breaker_action, fields, publish_action, round_context
from node.metrics import NodeMetrics
from node.operator import OperatorRequests
from node.pipeline import FeedMemory, FeedPlan, RoundRules, plan_round
from node.records import plan_json, result_json
from node.status import (
    Chain,
    FeedEvent,
    FeedListener,
    FeedStatus,
    QuoteSource,
    ServedObservation,
)
from publisher.eip712 import SignedObservation
from publisher.errors import PublishError
from publisher.policy import LastPublished

if TYPE_CHECKING:
    from node.quorum import QuorumRelay

log = logging.getLogger("oracle.node")


class OracleNode:
    """Runs rounds; one instance per node. `run_round` is safe to call from a scheduler."""

    def __init__(
        self,
        rules: RoundRules,
        venues: Mapping[str, Sequence[str]],
        fetcher: QuoteSource,
        journal: Journal,
        chain: Chain | None,
        clock: Callable[[], int],
        deadline_s: float,
        config_hash: str,
        quorum: QuorumRelay | None = None,
        metrics: NodeMetrics | None = None,
    ) -> None:
        self.rules = rules
        # With peers (`quorum`), every allowed value of a feed on chain is signed each round,
        # served to peers and relayed by the slot's relay; alone, the node signs and submits
        # its own observation when its publish policy says so.
        self._quorum = quorum
        self.observations: dict[str, ServedObservation] = {}
        self.metrics = metrics if metrics is not None else NodeMetrics()
        self.metrics.watch_node(self)
        self._venues = venues
        self._fetcher = fetcher
        self._journal = journal
        self._chain = chain
        self._clock = clock
        self._deadline_s = deadline_s
        self.config_hash = config_hash
        self.round_id = 0
        self.last_round_ts_ms: int | None = None
        self._memory: dict[str, FeedMemory] = {}
        self._listeners: list[FeedListener] = []
        self.status: dict[str, FeedStatus] = {r.spec.feed: FeedStatus() for r in rules.feeds}
        self._rules = {r.spec.feed: r for r in rules.feeds}
        self.operator = OperatorRequests(journal, self._memory, self.status)

    async def start(self) -> None:
        """Continue the journal's round numbering, learn what is on chain now, and journal it.

        The `session` record holds what a replay cannot recompute: the signer's address, each
        feed's EIP-712 domain and the value on chain when the node started.
        """
        self.round_id = await self._journal.last_round_id()
        await self._reconcile()
        feeds: dict[str, object] = {}
        for rule in self.rules.feeds:
            feed = rule.spec.feed
            if self._chain is None or not rule.on_chain:
                continue
            published = await self._chain.latest(feed)
            self._memory[feed] = FeedMemory(published=published)
            self.status[feed] = replace(self.status[feed], published=published)
            domain = self._chain.domain(feed)
            feeds[feed] = {
                "chain_id": domain.chain_id,
                "contract": domain.verifying_contract,
                "published": None
                if published is None
                else {"answer": str(published.answer), "updated_at": published.updated_at},
            }
        await self.operator.restore()
        session: dict[str, object] = {
            "config_hash": self.config_hash,
            "signer": None if self._chain is None else self._chain.address,
            "feeds": feeds,
        }
        if self._quorum is not None:
            session["quorum"] = await self._quorum.start(sorted(feeds))
        await self._journal.append("session", self.round_id, self._clock(), session)

    def subscribe(self, listener: FeedListener) -> Callable[[], None]:
        """Call `listener` after every feed status change; returns the unsubscribe function.

        Listeners run inside the round, synchronously: they must not block or await (queue
        the event and return). An exception in a listener is logged and never fails a round.
        """
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener)

    def _notify(self, kind: str, feed: str, round_id: int) -> None:
        event = FeedEvent(kind, feed, round_id)
        for listener in list(self._listeners):
            try:
                listener(event)
            except Exception:
                log.exception("feed event listener failed on %s %s; the round goes on", kind, feed)

    def contract_address(self, feed: str) -> str | None:
        return None if self._chain is None else self._chain.contract_address(feed)

    @property
    def journal(self) -> Journal:
        return self._journal

    async def _reconcile(self) -> None:
        """Journal the fate of observations the last run signed but never saw an outcome for.

        Only the last round can hold such intents: each outcome is journaled right after its
        transaction. An intent whose value and timestamp are what the chain holds now landed;
        any other did not (a newer one would have to carry a newer timestamp).
        """
        if self._chain is None or self.round_id == 0:
            return
        last = await self._journal.records(round_id=self.round_id)
        if self._quorum is not None:
            await self._quorum.reconcile(last)
            return
        done = {r.feed for r in last if r.kind == "outcome"}
        for rec in last:
            if rec.kind != "round":
                continue
            for feed, plan in sorted(rec.body["feeds"].items()):
                obs = plan.get("observation")
                if obs is None or feed in done or self._chain.contract_address(feed) is None:
                    continue
                onchain = await self._chain.latest(feed)
                landed = onchain is not None and (onchain.answer, onchain.updated_at) == (
                    int(obs["value"]),
                    obs["timestamp"],
                )
                status = "reconciled_landed" if landed else "reconciled_not_landed"
                body = {"status": status, "answer": obs["value"], "timestamp": obs["timestamp"]}
                await self._journal.append("outcome", rec.round_id, self._clock(), body, feed=feed)
                log.warning(
                    "feed %s round %d: the last run stopped before its outcome: %s",
                    feed,
                    rec.round_id,
                    status,
                    extra=fields(feed=feed, round_id=rec.round_id),
                )

    async def run_round(self) -> dict[str, FeedPlan]:
        with self.metrics.round_latency.time(), round_context(self.round_id + 1):
            plans = await self._run_round()
        self.metrics.rounds.inc()
        return plans

    async def _run_round(self) -> dict[str, FeedPlan]:
        now_ms = self._clock()
        self.round_id += 1
        round_id = self.round_id
        results = await self._fetcher.fetch(self._venues, self._deadline_s)
        await self.operator.apply(round_id, now_ms)
        if self._quorum is not None:
            await self._follow_chain(round_id, now_ms)
        plans = plan_round(self.rules, results, now_ms, self._memory)
        signed: dict[str, SignedObservation] = {}
        if self._chain is not None:
            for feed, plan in plans.items():
                if self._signs(plan) and plan.answer is not None:
                    signed[feed] = await self._chain.sign(feed, plan.answer, now_ms // 1000)
        feeds_json = {f: plan_json(p, signed.get(f)) for f, p in plans.items()}
        for feed in signed:
            assert self._chain is not None
            domain = self._chain.domain(feed)
            feeds_json[feed]["observation"]["domain"] = {
                "chain_id": domain.chain_id,
                "verifying_contract": domain.verifying_contract,
            }
        await self._journal.append(
            "round",
            round_id,
            now_ms,
            {
                "config_hash": self.config_hash,
                "results": [result_json(r) for r in results],
                "feeds": feeds_json,
            },
        )
        self.last_round_ts_ms = now_ms
        for plan in plans.values():
            self._remember(round_id, now_ms, plan)
            self._notify("update", plan.feed, round_id)
        self._serve(round_id, plans, signed)
        for feed, observation in signed.items():
            if self._quorum is None:
                await self._publish(round_id, now_ms, feed, observation)
            else:
                await self._relay(round_id, now_ms, feed, observation)
        return plans

    def _signs(self, plan: FeedPlan) -> bool:
        """Alone, the node signs what it will submit; in a quorum it signs every allowed
        value of a feed on chain, for whichever node relays it."""
        if self._quorum is None:
            return plan.publish is not None
        if self.operator.paused(plan.feed):
            return False
        return self._rules[plan.feed].on_chain and plan.decision.allow

    def _serve(
        self, round_id: int, plans: Mapping[str, FeedPlan], signed: Mapping[str, SignedObservation]
    ) -> None:
        """Keep each feed's newest signed observation for peers; a feed this round did not
        sign (its breaker holds, it has no value, it is paused) serves none, never an older one."""
        for feed in plans:
            observation = signed.get(feed)
            if observation is None:
                self.observations.pop(feed, None)
                continue
            assert self._chain is not None
            rule = self._rules[feed]
            self.observations[feed] = ServedObservation(
                feed, observation, rule.decimals, round_id, self._chain.domain(feed)
            )

    async def _follow_chain(self, round_id: int, now_ms: int) -> None:
        """In a quorum other relays update the chain: each round starts from what it holds.
        A change is journaled (`chain_update`) before the round, so a replay plans the round
        with the memory the node had."""
        assert self._chain is not None
        for rule in self.rules.feeds:
            feed = rule.spec.feed
            if not rule.on_chain:
                continue
            onchain = await self._chain.latest(feed)
            mem = self._memory.get(feed, FeedMemory())
            if onchain is None or onchain == mem.published:
                continue
            body = {"answer": str(onchain.answer), "updated_at": onchain.updated_at}
            await self._journal.append("chain_update", round_id, now_ms, body, feed=feed)
            self._memory[feed] = replace(mem, published=onchain)
            self.status[feed] = replace(self.status[feed], published=onchain)

    async def _relay(
        self, round_id: int, now_ms: int, feed: str, observation: SignedObservation
    ) -> None:
        assert self._quorum is not None
        rule = self._rules[feed]
        published = self._memory.get(feed, FeedMemory()).published
        result = await self._quorum.relay(
            round_id, now_ms, feed, observation, rule.policy, published
        )
        if result is None:
            return
        if isinstance(result, PublishError):
            self.metrics.publish_failures.labels(feed, type(result).__name__).inc()
            self.status[feed] = replace(self.status[feed], publish_error=str(result))
            self._notify("publication_failed", feed, round_id)
            return
        self.metrics.observe_publication(feed, result.latency_s, result.receipt)
        self._memory[feed] = replace(self._memory[feed], published=result.published)
        self.status[feed] = replace(
            self.status[feed],
            receipt=result.receipt,
            published=result.published,
            publish_error=None,
        )
        self._notify("publication", feed, round_id)

    def request_breaker_reset(self, feed: str) -> None:
        """An operator resets `feed`'s breaker next round (`KeyError` for an unknown feed)."""
        self.operator.reset_breaker(feed)

    def request_pause(self, feed: str, paused: bool) -> None:
        """An operator pauses or resumes `feed`'s publication next round (`KeyError` for an
        unknown feed)."""
        self.operator.pause(feed, paused)

    def _remember(self, round_id: int, now_ms: int, plan: FeedPlan) -> None:
        feed = plan.feed
        mem = self._memory.get(feed, FeedMemory())
        self._memory[feed] = replace(mem, breaker=plan.breaker)
        status = replace(self.status[feed], plan=plan, round_id=round_id)
        if plan.decision.allow and plan.answer is not None:
            status = replace(status, value_answer=plan.answer, value_ts_ms=now_ms)
        if plan.decision.verdict == "tripped":
            log.error(
                "ALERT feed %s round %d: breaker opened (%s): %s. The node serves the last "
                "allowed value until the move is confirmed, the data recovers or an operator "
                "resets the breaker.",
                feed,
                round_id,
                ", ".join(plan.decision.trips),
                plan.decision.reason,
                extra=fields(feed=feed, action=breaker_action(feed, plan.aggregate)),
            )
        elif not plan.decision.allow:
            log.warning(
                "feed %s round %d held: %s. Check the venues' prices; the node keeps serving the "
                "last value and follows a confirmed move by itself.",
                feed,
                round_id,
                plan.decision.reason,
                extra=fields(feed=feed),
            )
        self.status[feed] = status

    async def _publish(
        self, round_id: int, now_ms: int, feed: str, observation: SignedObservation
    ) -> None:
        assert self._chain is not None
        started = time.monotonic()
        self.metrics.publications_in_flight.inc()
        try:
            receipt = await self._chain.submit(feed, [observation])
        except PublishError as exc:
            self.metrics.publish_failures.labels(feed, type(exc).__name__).inc()
            await self._journal.append(
                "outcome",
                round_id,
                self._clock(),
                {"status": "failed", "error": str(exc)},
                feed=feed,
            )
            self.status[feed] = replace(self.status[feed], publish_error=str(exc))
            log.error(
                "feed %s round %d: publication failed: %s",
                feed,
                round_id,
                exc,
                extra=fields(feed=feed, action=self._publish_action(feed, exc)),
            )
            self._notify("publication_failed", feed, round_id)
            return
        finally:
            self.metrics.publications_in_flight.dec()
        self.metrics.observe_publication(feed, time.monotonic() - started, receipt)
        await self._journal.append(
            "outcome",
            round_id,
            self._clock(),
            receipt.outcome(observation.value, observation.timestamp),
            feed=feed,
        )
        published = LastPublished(observation.value, observation.timestamp)
        self._memory[feed] = replace(self._memory[feed], published=published)
        self.status[feed] = replace(
            self.status[feed], receipt=receipt, published=published, publish_error=None
        )
        self._notify("publication", feed, round_id)
        log.info(
            "feed %s round %d published answer %d in tx %s (on-chain round %d)",
            feed,
            round_id,
            observation.value,
            receipt.tx_hash,
            receipt.onchain_round_id,
            extra=fields(feed=feed, tx=receipt.tx_hash),
        )

    def _publish_action(self, feed: str, exc: Exception) -> str | None:
        assert self._chain is not None
        sender = str(getattr(self._chain, "sender", self._chain.address))
        return publish_action(exc, sender, self._chain.domain(feed).chain_id)
