"""Who relays, and what a relay submits. Pure: no I/O, no clock; every node computes the same.

Schedule: time is cut into slots of `slot_s` seconds (`slot = floor(now_s / slot_s)`); the relay
of a feed in a slot is `sorted(signers)[(slot + feed_offset(feed)) % n]`, signers sorted by
their 20-byte value so the order does not depend on how an address is spelled. The per-feed
offset spreads the feeds (and their gas) over the signers within one slot.

Take-over falls out of the rotation: a relay that is down misses its slot, and the next slot
belongs to another signer, who finds the update still due and lands it. No two nodes relay one
feed in the same slot, so the only duplicate a relay can cause is one another relay has just
landed: `plan_report` is asked again with the chain's newest state right before the send.

Report: the relay's own observation plus the verified peers' ones, one per signer. The contract
stores the lower median and `updatedAt` = the oldest observation's timestamp; `plan_report`
computes the same, and applies the feed's publish policy (deviation of that median against the
on-chain answer, or heartbeat) before anything is sent.
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from dataclasses import dataclass

from publisher.eip712 import SignedObservation
from publisher.policy import LastPublished, PublishPolicy, PublishReason, decide_publish


def slot_of(now_s: float, slot_s: float) -> int:
    """The slot that holds `now_s` (unix seconds)."""
    if not slot_s > 0:
        raise ValueError(f"slot_s must be > 0, got {slot_s}")
    return int(now_s // slot_s)


def feed_offset(feed: str) -> int:
    """A stable per-feed shift of the rotation (CRC-32 of the feed id: same on every machine)."""
    return zlib.crc32(feed.encode())


def signer_order(signers: Sequence[str]) -> list[str]:
    """The signers sorted by address value, duplicates (in any spelling) dropped."""
    by_value = {int(s, 16): s for s in signers}
    return [by_value[v] for v in sorted(by_value)]


def relay_of(slot: int, feed: str, signers: Sequence[str]) -> str:
    """The signer that relays `feed` in `slot`."""
    ordered = signer_order(signers)
    if not ordered:
        raise ValueError("no signers: nobody can relay")
    return ordered[(slot + feed_offset(feed)) % len(ordered)]


def is_relay(now_s: float, slot_s: float, feed: str, signers: Sequence[str], me: str) -> bool:
    """Whether `me` relays `feed` at `now_s`."""
    return int(relay_of(slot_of(now_s, slot_s), feed, signers), 16) == int(me, 16)


def overdue(due_since_s: int | None, now_s: float, slot_s: float) -> bool:
    """An update due since `due_since_s` that a whole slot has passed without: a relay missed it."""
    return due_since_s is not None and now_s - due_since_s > slot_s


@dataclass(frozen=True, slots=True)
class Report:
    """What a relay submits: observations sorted by value, and what the contract will store."""

    observations: tuple[SignedObservation, ...]
    answer: int
    updated_at: int
    reason: PublishReason


@dataclass(frozen=True, slots=True)
class NoReport:
    """Why the relay sends nothing this round."""

    reason: str


def plan_report(
    observations: Sequence[SignedObservation],
    quorum: int,
    policy: PublishPolicy,
    last: LastPublished | None,
    newest_on_chain_s: int,
    now_s: int,
) -> Report | NoReport:
    """The report to submit, or why none: fewer than `quorum` usable observations, or the
    publish policy does not ask for an update.

    Usable: one per signer (the first one given wins: the caller puts its own first), stamped
    after `newest_on_chain_s` (the contract refuses older ones). The policy's heartbeat is
    measured at `now_s` against `last` (the chain's answer and updatedAt).
    """
    seen: set[int] = set()
    usable = []
    for obs in observations:
        who = int(obs.signer, 16)
        if who in seen or obs.timestamp <= newest_on_chain_s:
            continue
        seen.add(who)
        usable.append(obs)
    if len(usable) < quorum:
        return NoReport(f"{len(usable)} usable observation(s), quorum is {quorum}")
    ordered = tuple(sorted(usable, key=lambda o: (o.value, int(o.signer, 16))))
    answer = ordered[(len(ordered) - 1) // 2].value
    reason = decide_publish(policy, last, answer, now_s)
    if reason is None:
        return NoReport("the publish policy asks for no update (no deviation, heartbeat not due)")
    return Report(ordered, answer, min(o.timestamp for o in ordered), reason)
