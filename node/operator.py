"""What an operator asks of a running node: reset a feed's breaker, pause or resume its
publication.

A request never changes a round in flight: it waits until the start of the next round, where
it is applied and journaled (`breaker_reset` with the new breaker state, `feed_paused` with
`{"paused": bool}`) just before that round is planned, so a replay applies it before the round
with the same round id. A pause outlives restarts: the node restores it from the journal.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, replace

from audit.journal import Journal
from circuit_breakers import reset
from node.pipeline import FeedMemory
from node.status import FeedStatus

log = logging.getLogger("oracle.node")


class OperatorRequests:
    """Pending operator requests of one node, over the node's own memory and status maps
    (shared, mutated in place)."""

    def __init__(
        self, journal: Journal, memory: dict[str, FeedMemory], status: dict[str, FeedStatus]
    ) -> None:
        self._journal = journal
        self._memory = memory
        self._status = status
        self._resets: set[str] = set()
        self._pauses: dict[str, bool] = {}

    def reset_breaker(self, feed: str) -> None:
        """Reset `feed`'s breaker at the next round (`KeyError` for an unknown feed)."""
        if feed not in self._status:
            raise KeyError(feed)
        self._resets.add(feed)
        self._status[feed] = replace(self._status[feed], reset_pending=True)
        log.warning("feed %s: breaker reset requested by an operator; applies next round", feed)

    def pause(self, feed: str, paused: bool) -> None:
        """Pause (or resume) `feed`'s publication at the next round; the last request before
        it wins (`KeyError` for an unknown feed).

        A paused feed is still fetched, aggregated, journaled and served over HTTP; it is never
        published, and in a quorum it is neither signed for peers nor relayed.
        """
        if feed not in self._status:
            raise KeyError(feed)
        self._pauses[feed] = paused
        self._status[feed] = replace(self._status[feed], pause_pending=paused)
        log.warning(
            "feed %s: %s requested by an operator; applies next round",
            feed,
            "pause" if paused else "resume",
        )

    async def apply(self, round_id: int, now_ms: int) -> None:
        """Apply and journal every pending request, before round `round_id` is planned."""
        for feed in sorted(self._resets):
            mem = self._memory.get(feed, FeedMemory())
            state = reset(mem.breaker)
            self._memory[feed] = replace(mem, breaker=state)
            await self._journal.append(
                "breaker_reset", round_id, now_ms, {"state": asdict(state)}, feed=feed
            )
            self._status[feed] = replace(self._status[feed], reset_pending=False)
        self._resets.clear()
        for feed, paused in sorted(self._pauses.items()):
            mem = self._memory.get(feed, FeedMemory())
            self._memory[feed] = replace(mem, paused=paused)
            await self._journal.append(
                "feed_paused", round_id, now_ms, {"paused": paused}, feed=feed
            )
            self._status[feed] = replace(self._status[feed], paused=paused, pause_pending=None)
        self._pauses.clear()

    async def restore(self) -> None:
        """Carry the journal's last pause of each feed into this run (replay does the same)."""
        for rec in await self._journal.records(kind="feed_paused"):
            if rec.feed in self._status:
                paused = bool(rec.body["paused"])
                self._memory[rec.feed] = replace(
                    self._memory.get(rec.feed, FeedMemory()), paused=paused
                )
                self._status[rec.feed] = replace(self._status[rec.feed], paused=paused)

    def paused(self, feed: str) -> bool:
        """Whether `feed`'s publication is paused now (as applied, not as requested)."""
        return self._memory.get(feed, FeedMemory()).paused
