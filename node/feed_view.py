"""The public view of a feed (DESIGN.md), serialized once per state and tagged for caching.

A feed's status is a frozen value that the node replaces on every change, so the bytes of its
view, their strong ETag and the headers of a 200 answering them are computed once per status
object and then shared by every request and every event-stream client until the next change.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import asdict
from typing import Any

from multidict import CIMultiDict

from audit.journal import Journal
from node.records import aggregate_json
from node.service import OracleNode
from node.status import FeedStatus
from publisher.answer import from_answer


def feed_json(node: OracleNode, feed: str, status: FeedStatus) -> dict[str, Any]:
    """The public view of one feed (DESIGN.md: feed, value, decimals, answer, timestamp, ...)."""
    rule = next(r for r in node.rules.feeds if r.spec.feed == feed)
    plan = status.plan
    agg = aggregate_json(plan.aggregate) if plan is not None else None
    published = status.published
    return {
        "feed": feed,
        "value": None
        if status.value_answer is None
        else str(from_answer(status.value_answer, rule.decimals)),
        "decimals": rule.decimals,
        "answer": None if status.value_answer is None else str(status.value_answer),
        "timestamp": None if status.value_ts_ms is None else status.value_ts_ms // 1000,
        "round_id": status.round_id,
        "dispersion": None if agg is None else agg["dispersion"],
        "sources_used": [] if agg is None else agg["sources_used"],
        "sources_rejected": [] if agg is None else agg["sources_rejected"],
        "error": None if agg is None else agg["error"],
        "band": None if agg is None else agg["band"],
        "estimator": None if agg is None else agg["estimator"],
        "breaker": "closed" if plan is None else str(plan.decision.status),
        "breaker_reason": None if plan is None else plan.decision.reason,
        "breaker_details": _breaker_details(status),
        "contract": node.contract_address(feed),
        "last_tx": None if status.receipt is None else status.receipt.tx_hash,
        "published": None
        if published is None
        else {
            "answer": str(published.answer),
            "value": str(from_answer(published.answer, rule.decimals)),
            "updated_at": published.updated_at,
            "round_id": None if status.receipt is None else status.receipt.onchain_round_id,
            "tx": None if status.receipt is None else asdict(status.receipt),
        },
        "publish_error": status.publish_error,
        "paused": status.paused,
        "pause_pending": status.pause_pending,
    }


def _breaker_details(status: FeedStatus) -> dict[str, Any]:
    """Why the breaker is where it is, and whether `value` is a held (older) value."""
    plan = status.plan
    if plan is None:
        return {
            "status": "closed",
            "holding": False,
            "trips": [],
            "verdict": None,
            "open_since": None,
            "reset_pending": status.reset_pending,
        }
    since = plan.breaker.since_ms
    return {
        "status": str(plan.decision.status),
        "holding": not plan.decision.allow,
        "trips": list(plan.decision.trips),
        "verdict": plan.decision.verdict,
        "open_since": None if since is None else since // 1000,
        "reset_pending": status.reset_pending,
    }


def _same(a: Sequence[FeedStatus], b: Sequence[FeedStatus]) -> bool:
    return len(a) == len(b) and all(x is y for x, y in zip(a, b, strict=True))


def _encode(body: object) -> bytes:
    return json.dumps(body, separators=(",", ":")).encode()


def _etag(body: bytes) -> str:
    """A strong validator: equal bytes, equal tag; any change of the view changes it."""
    return '"' + hashlib.blake2b(body, digest_size=12).hexdigest() + '"'


class Served:
    """One serialized view as the API answers it: JSON bytes, their strong ETag, 200 headers.

    The headers of a 200 differ from one read to the next only by `Cache-Control: max-age`,
    which changes at most once a second, so the last set built is kept for the next reads.
    Callers must not mutate it (aiohttp's `Response` copies the headers it is given).
    """

    __slots__ = ("_age", "_headers", "body", "tag")

    def __init__(self, body: bytes) -> None:
        self.body = body
        self.tag = _etag(body)
        self._age = -1
        self._headers: CIMultiDict[str] = CIMultiDict()

    def headers(self, max_age: int) -> CIMultiDict[str]:
        """`Content-Type`, `ETag` and `Cache-Control: max-age=<max_age>`."""
        if max_age != self._age:
            self._headers = CIMultiDict(
                (
                    ("Content-Type", "application/json"),
                    ("ETag", self.tag),
                    ("Cache-Control", f"max-age={max_age}"),
                )
            )
            self._age = max_age
        return self._headers


class FeedViews:
    """Serialized views (bytes, ETag) of one node's feeds, recomputed only when a status changes.

    Entries hold the status objects they were made from, so an identity check is exact: a
    status object is never mutated, and one held here cannot be freed and its id reused.
    """

    def __init__(self, node: OracleNode) -> None:
        self._node = node
        self._one: dict[str, tuple[FeedStatus, dict[str, Any], Served]] = {}
        self._all: tuple[Sequence[FeedStatus], Served] | None = None

    def view(self, feed: str) -> dict[str, Any]:
        return self._entry(feed)[1]

    def one(self, feed: str) -> tuple[bytes, str]:
        served = self._entry(feed)[2]
        return served.body, served.tag

    def all(self) -> tuple[bytes, str]:
        served = self.served_all()
        return served.body, served.tag

    def served(self, feed: str) -> Served:
        """The current view of `feed` (a key of the node's `status`; `KeyError` otherwise)."""
        return self._entry(feed)[2]

    def served_all(self) -> Served:
        """The current views of every feed, `{"feeds": [...]}` in the node's order."""
        statuses = list(self._node.status.values())
        cached = self._all
        if cached is not None and _same(cached[0], statuses):
            return cached[1]
        served = Served(_encode({"feeds": [self.view(feed) for feed in self._node.status]}))
        self._all = (statuses, served)
        return served

    def _entry(self, feed: str) -> tuple[FeedStatus, dict[str, Any], Served]:
        status = self._node.status[feed]
        cached = self._one.get(feed)
        if cached is not None and cached[0] is status:
            return cached
        view = feed_json(self._node, feed, status)
        entry = (status, view, Served(_encode(view)))
        self._one[feed] = entry
        return entry


async def journal_history(
    journal: Journal, feed: str, from_ms: int, to_ms: int, limit: int
) -> dict[str, object]:
    """The journal's rounds and publications of `feed` in [from_ms, to_ms], oldest first."""
    rounds = await journal.between("round", from_ms, to_ms, limit)
    outcomes = await journal.between("outcome", from_ms, to_ms, limit, feed=feed)
    return {
        "rounds": [
            {"round_id": r.round_id, "timestamp_ms": r.ts_ms, **r.body["feeds"][feed]}
            for r in rounds
            if feed in r.body["feeds"]
        ],
        "publications": [{"round_id": o.round_id, **o.body} for o in outcomes],
        "truncated": len(rounds) == limit or len(outcomes) == limit,
    }
