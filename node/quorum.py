"""The relay round of a quorum-signed feed: gather, verify, journal, submit once, journal.

Every node signs its own observation each round (see `OracleNode`); the node that is the relay
of the current slot for a feed (`node.relay`) asks its peers for theirs (`node.peers`), keeps
the ones that pass every local check, and when it holds the quorum and the publish policy asks
for an update, journals a `report` record (every observation, who it came from, what was
rejected and why, the signer set and quorum it was checked against) before the transaction,
then the transaction's `outcome` after it, as the single-node path does.

For an aggregate feed (OracleFeedAggregate) the relay then has the members it named co-sign
the report (`node.cosign_relay`); a member that fails is left out and the report planned again
without it, once, if the quorum still holds. The report record says `"scheme": "schnorr"`.

No duplicate submission for one round: the relay re-reads the chain right before the send and
stands down when the newest observation on chain moved since it gathered (another relay landed
it); the journal's round id is the transaction manager's intent id, so a retry of one round
never becomes a second transaction; and a relay submits at most once per feed per slot.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from audit.journal import Journal, JournalRecord
from node.cosign import AggregateFeed, CoSigner, Freshness
from node.cosign_relay import Judge, cosign_until_done
from node.peers import ObservationCheck, PeerClient, Rejection
from node.records import observation_json
from node.relay import NoReport, Report, overdue, plan_report, relay_of, signer_order, slot_of
from node.status import Receipt
from publisher.eip712 import Domain, SignedObservation
from publisher.errors import PublishError
from publisher.policy import LastPublished, PublishPolicy, decide_publish

log = logging.getLogger("oracle.node.quorum")


class QuorumChain(Protocol):
    """What the relay needs from the chain, beyond the single node's `Chain`."""

    @property
    def address(self) -> str: ...

    def domain(self, feed: str) -> Domain: ...

    async def latest(self, feed: str) -> LastPublished | None: ...

    async def newest_observation_s(self, feed: str) -> int: ...

    async def signer_set(self, feed: str) -> list[str]: ...

    async def quorum(self, feed: str) -> int: ...

    async def submit(
        self, feed: str, observations: Sequence[SignedObservation], intent_id: str | None = None
    ) -> Receipt: ...

    def aggregate_feed(self, feed: str) -> AggregateFeed | None: ...

    async def submit_report(
        self, feed: str, report: bytes, intent_id: str | None = None
    ) -> Receipt: ...


@dataclass(frozen=True, slots=True)
class RelaySettings:
    """`[relay]`: slot length and how fresh a peer's observation must be."""

    slot_s: float
    max_age_s: float
    max_future_s: float


@dataclass(frozen=True, slots=True)
class Landed:
    """A report this node relayed and the chain accepted."""

    receipt: Receipt
    published: LastPublished
    latency_s: float
    """From handing the report to the chain to its confirmed receipt."""


@dataclass(frozen=True, slots=True)
class FeedSigners:
    """A feed's signer set (relay order) and quorum, read from its contract at start."""

    signers: tuple[str, ...]
    quorum: int


class QuorumRelay:
    """One per node; `relay` is called once per feed per round with the node's own observation."""

    def __init__(
        self,
        chain: QuorumChain,
        journal: Journal,
        peers: PeerClient,
        settings: RelaySettings,
        clock: Callable[[], int],
        on_missed: Callable[[], None] | None = None,
    ) -> None:
        self._chain = chain
        self._on_missed = on_missed
        self._journal = journal
        self._peers = peers
        self._settings = settings
        self._clock = clock
        self.feeds: dict[str, FeedSigners] = {}
        self._sent_slot: dict[str, int] = {}
        self._due_since: dict[str, int] = {}
        self.missed_slots = 0
        self.cosigner: CoSigner | None = None
        """This node's co-signer: needed to relay aggregate feeds."""

    async def start(self, feeds: Sequence[str]) -> dict[str, Any]:
        """Read each feed's signer set and quorum; what the session record says about them."""
        for feed in feeds:
            signers = tuple(signer_order(await self._chain.signer_set(feed)))
            self.feeds[feed] = FeedSigners(signers, await self._chain.quorum(feed))
            if self._chain.address not in signers:
                log.error(
                    "feed %s: this node's signer %s is not in the contract's signer set; its "
                    "observations will be refused. Ask the feed's owner to add it.",
                    feed,
                    self._chain.address,
                )
            known = {p.signer for p in self._peers.peers}
            for signer in signers:
                if signer != self._chain.address and signer not in known:
                    log.warning("feed %s: signer %s has no [[peers]] entry", feed, signer)
        return {
            "slot_s": self._settings.slot_s,
            "feeds": {
                f: {"signers": list(s.signers), "quorum": s.quorum} for f, s in self.feeds.items()
            },
        }

    def relay_of(self, feed: str, now_s: float) -> str:
        """The relay of `feed` at `now_s`."""
        return relay_of(slot_of(now_s, self._settings.slot_s), feed, self.feeds[feed].signers)

    async def relay(
        self,
        round_id: int,
        now_ms: int,
        feed: str,
        own: SignedObservation,
        policy: PublishPolicy,
        last: LastPublished | None,
    ) -> Landed | PublishError | None:
        """Relay `feed` if this node is its relay now and a report is due; None when nothing
        was sent, the error when the chain refused or failed the send."""
        now_s = now_ms // 1000
        slot = slot_of(now_ms / 1000, self._settings.slot_s)
        self._watch(feed, own, policy, last, now_s)
        if self.relay_of(feed, now_ms / 1000) != self._chain.address:
            return None
        if self._sent_slot.get(feed) == slot:
            return None  # one submission per feed per slot
        if decide_publish(policy, last, own.value, now_s) is None and last is not None:
            # Cheap pre-check: the node's own value shows no deviation and no heartbeat; the
            # median of honest peers is within the same band, so asking them is wasted.
            return None
        members = self.feeds[feed]
        newest = await self._chain.newest_observation_s(feed)
        check = ObservationCheck(
            feed=feed,
            domain=self._chain.domain(feed),
            signers=frozenset(members.signers),
            now_s=now_ms / 1000,
            max_age_s=self._settings.max_age_s,
            max_future_s=self._settings.max_future_s,
            newer_than_s=newest,
        )
        gathered, rejected = await self._peers.gather(check, exclude={own.signer})
        plan = plan_report([own, *gathered], members.quorum, policy, last, newest, now_s)
        if isinstance(plan, NoReport):
            log.info("feed %s slot %d: relay sends nothing: %s", feed, slot, plan.reason)
            return None
        if await self._chain.newest_observation_s(feed) != newest:
            log.info("feed %s slot %d: another relay landed an update; standing down", feed, slot)
            return None
        self._sent_slot[feed] = slot
        report: bytes | None = None
        aggregate = self._chain.aggregate_feed(feed)
        if aggregate is not None:
            signed = await self._cosign(feed, slot, aggregate, plan, policy, last, newest, now_s)
            if signed is None:
                return None
            plan, report = signed
        await self._journal_report(round_id, feed, slot, plan, own, rejected, report is not None)
        return await self._send(round_id, feed, plan, report)

    async def _cosign(
        self,
        feed: str,
        slot: int,
        members: AggregateFeed,
        plan: Report,
        policy: PublishPolicy,
        last: LastPublished | None,
        newest: int,
        now_s: int,
    ) -> tuple[Report, bytes] | None:
        """`plan` co-signed by the members it names (see `cosign_until_done`); None when no
        signature came of it."""
        if self.cosigner is None:
            log.error("feed %s is an aggregate feed but this node has no co-signer", feed)
            return None
        strict = Freshness(self._settings.max_age_s, self._settings.max_future_s)
        return await cosign_until_done(
            feed,
            plan,
            self.cosigner,
            {p.signer: p for p in self._peers.peers},
            self._peers,
            Judge(members, strict, lambda: self._clock() / 1000),
            lambda kept: self._replan(feed, slot, kept, members, policy, last, newest, now_s),
        )

    def _replan(
        self,
        feed: str,
        slot: int,
        observations: Sequence[SignedObservation],
        members: AggregateFeed,
        policy: PublishPolicy,
        last: LastPublished | None,
        newest: int,
        now_s: int,
    ) -> Report | None:
        replanned = plan_report(observations, members.quorum, policy, last, newest, now_s)
        if isinstance(replanned, NoReport):
            log.info("feed %s slot %d: relay sends nothing: %s", feed, slot, replanned.reason)
            return None
        return replanned

    def _watch(
        self,
        feed: str,
        own: SignedObservation,
        policy: PublishPolicy,
        last: LastPublished | None,
        now_s: int,
    ) -> None:
        """Every node watches the chain: an update its own value says is due, and that a whole
        slot passed without, means a relay missed its slot (the rotation hands it on)."""
        if decide_publish(policy, last, own.value, now_s) is None:
            self._due_since.pop(feed, None)
            return
        since = self._due_since.setdefault(feed, now_s)
        if overdue(since, now_s, self._settings.slot_s):
            self.missed_slots += 1
            if self._on_missed is not None:
                self._on_missed()
            self._due_since[feed] = now_s
            log.warning(
                "feed %s: an update due since %d has not landed within a slot; the relay of "
                "this slot (%s) takes over. If this repeats, check that node.",
                feed,
                since,
                self.relay_of(feed, now_s),
            )

    async def _journal_report(
        self,
        round_id: int,
        feed: str,
        slot: int,
        report: Report,
        own: SignedObservation,
        rejected: Sequence[Rejection],
        cosigned: bool = False,
    ) -> None:
        by_signer = {p.signer: p.url for p in self._peers.peers}
        domain = self._chain.domain(feed)
        members = self.feeds[feed]
        body = {
            "slot": slot,
            "relay": self._chain.address,
            "signers": list(members.signers),
            "quorum": members.quorum,
            "domain": {
                "chain_id": domain.chain_id,
                "verifying_contract": domain.verifying_contract,
            },
            "answer": str(report.answer),
            "updated_at": report.updated_at,
            "reason": str(report.reason),
            "observations": [
                {
                    **observation_json(o),
                    "from": "self" if o.signer == own.signer else by_signer.get(o.signer),
                }
                for o in report.observations
            ],
            "rejected": [
                {"peer": r.peer, "reason": r.reason, "detail": r.detail} for r in rejected
            ],
        }
        if cosigned:
            body["scheme"] = "schnorr"
        await self._journal.append("report", round_id, self._clock(), body, feed=feed)

    async def _send(
        self, round_id: int, feed: str, report: Report, signed: bytes | None = None
    ) -> Landed | PublishError:
        started = time.monotonic()
        try:
            if signed is None:
                receipt = await self._chain.submit(
                    feed, report.observations, intent_id=str(round_id)
                )
            else:
                receipt = await self._chain.submit_report(feed, signed, intent_id=str(round_id))
        except PublishError as exc:
            await self._journal.append(
                "outcome",
                round_id,
                self._clock(),
                {"status": "failed", "error": str(exc)},
                feed=feed,
            )
            log.error("feed %s round %d: relayed report failed: %s", feed, round_id, exc)
            return exc
        await self._journal.append(
            "outcome",
            round_id,
            self._clock(),
            {
                **receipt.outcome(report.answer, report.updated_at),
                "observations": len(report.observations),
            },
            feed=feed,
        )
        log.info(
            "feed %s round %d relayed the median %d of %d observations in tx %s (on-chain round %d)",
            feed,
            round_id,
            report.answer,
            len(report.observations),
            receipt.tx_hash,
            receipt.onchain_round_id,
        )
        published = LastPublished(report.answer, report.updated_at)
        return Landed(receipt, published, time.monotonic() - started)

    async def reconcile(self, records: Sequence[JournalRecord]) -> None:
        """Journal the fate of reports the last run journaled but never saw an outcome for.

        A report whose median and oldest timestamp are what the chain holds now landed; any
        other did not.
        """
        done = {r.feed for r in records if r.kind == "outcome"}
        for rec in records:
            if rec.kind != "report" or rec.feed is None or rec.feed in done:
                continue
            onchain = await self._chain.latest(rec.feed)
            landed = onchain is not None and (onchain.answer, onchain.updated_at) == (
                int(rec.body["answer"]),
                int(rec.body["updated_at"]),
            )
            status = "reconciled_landed" if landed else "reconciled_not_landed"
            body = {
                "status": status,
                "answer": rec.body["answer"],
                "timestamp": rec.body["updated_at"],
            }
            await self._journal.append("outcome", rec.round_id, self._clock(), body, feed=rec.feed)
            log.warning(
                "feed %s round %d: the last run stopped before its report's outcome: %s",
                rec.feed,
                rec.round_id,
                status,
            )
