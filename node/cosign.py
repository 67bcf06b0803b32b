"""Co-signing a report of an aggregate feed (OracleFeedAggregate): the member's side.

A relay that holds a quorum of observations asks every member it named to co-sign the report
in two steps (MuSig2, see `publisher.schnorr`):

1. `commit`: the relay sends the observations (each with its ECDSA signature, as peers serve
   them). The member checks ALL of them as it would check a peer's: every signer a distinct
   member of the feed's set, every signature recovering to its signer under the feed's
   EIP-712 domain, every timestamp fresh, at least the quorum, its own observation among them,
   and it still serves observations of the feed (not paused, breaker not holding); a refusal
   about one observation names its signer (`culprit`). It then
   builds the report body itself, from those observations (so it signs exactly what it
   checked), makes a fresh nonce pair and answers a session id and the public nonces.
2. `sign`: the relay sends the sum of every named member's public nonces; the member derives
   the session and answers its share. The secret nonce is used once and dropped; a session
   not signed within `ttl_s` expires; at most `max_sessions` are held (oldest dropped first).

The aggregate signature therefore vouches for nothing a member has not checked: every value
in the report is signed (ECDSA) by the member at its position, as with the ECDSA feed.
"""

from __future__ import annotations

import secrets
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache

from eth_keys.exceptions import BadSignature
from eth_utils.address import is_address, to_checksum_address
from eth_utils.exceptions import ValidationError

from node.peers import INTEGER
from publisher.aggregate_report import Entry, report_body, report_digest
from publisher.eip712 import INT192_MAX, INT192_MIN, Domain, SignedObservation, recover_signer
from publisher.schnorr import (
    Key,
    PublicNonce,
    SchnorrError,
    SchnorrSigner,
    SecretNonce,
    add,
    new_nonce,
    session,
)

COSIGN_REASONS = (
    "unknown_feed",
    "not_serving",
    "malformed",
    "below_quorum",
    "unknown_signer",
    "duplicate_signer",
    "bad_signature",
    "without_self",
    "stale",
    "future",
    "unknown_session",
)
"""Every reason a member refuses to co-sign."""


@dataclass(frozen=True, slots=True)
class AggregateFeed:
    """An aggregate feed's members (contract order) and their keys, quorum and domain."""

    signers: tuple[str, ...]
    keys: tuple[Key, ...]
    quorum: int
    domain: Domain


@dataclass(frozen=True, slots=True)
class CosignRefusal:
    """Why a member does not co-sign; `reason` is one of `COSIGN_REASONS`. `culprit`: the
    signer of the observation at fault, when the refusal is about one."""

    reason: str
    detail: str
    culprit: str | None = None


@dataclass(frozen=True, slots=True)
class Freshness:
    """How old or how far ahead an observation in a report may be stamped."""

    max_age_s: float
    max_future_s: float


def report_entries(observations: Sequence[SignedObservation], feed: AggregateFeed) -> list[Entry]:
    """The report's entries, sorted by value then position: every party sorts alike."""
    position = {int(s, 16): i for i, s in enumerate(feed.signers)}
    entries = [Entry(position[int(o.signer, 16)], o.value, o.timestamp) for o in observations]
    return sorted(entries, key=lambda e: (e.value, e.position))


def body_of(observations: Sequence[SignedObservation], feed: AggregateFeed) -> bytes:
    """The signed part of the report of `observations` (signers must be members)."""
    return report_body(report_entries(observations, feed), len(feed.signers), sort=False)


def signing_key(observations: Sequence[SignedObservation], feed: AggregateFeed) -> Key:
    """The sum of the keys of the members who observed."""
    by_signer = {int(s, 16): k for s, k in zip(feed.signers, feed.keys, strict=True)}
    return add([by_signer[int(o.signer, 16)] for o in observations])


def parse_observations(raw: object) -> list[SignedObservation] | str:
    """Observations as peers serve them ({value, timestamp, signer, signature}), or what is
    wrong with their shape."""
    if not isinstance(raw, list) or not 0 < len(raw) <= 255:
        return "observations must be a list of 1 to 255 objects"
    parsed = []
    for item in raw:
        if not isinstance(item, dict):
            return "each observation must be an object"
        value, timestamp = item.get("value"), item.get("timestamp")
        signer, signature = item.get("signer"), item.get("signature")
        if not isinstance(value, str) or not INTEGER.fullmatch(value):
            return "value must be an integer string"
        if not INT192_MIN <= int(value) <= INT192_MAX:
            return "value does not fit int192"
        if not isinstance(timestamp, int) or isinstance(timestamp, bool) or timestamp < 0:
            return "timestamp must be a non-negative integer"
        if not isinstance(signer, str) or not is_address(signer):
            return "signer must be an address"
        if not isinstance(signature, str) or len(signature) != 132 or signature[:2] != "0x":
            return "signature must be 0x and 65 bytes of hex"
        try:
            raw_signature = bytes.fromhex(signature[2:])
        except ValueError:
            return "signature is not hex"
        parsed.append(
            SignedObservation(int(value), timestamp, to_checksum_address(signer), raw_signature)
        )
    return parsed


@lru_cache(maxsize=4096)
def _recovered(domain: Domain, observation: SignedObservation) -> str | None:
    """The observation's signer as its signature says, None if it says nothing: a relay's
    retries and its members' checks of the same observations recover each once."""
    try:
        return recover_signer(domain, observation)
    except (ValueError, ValidationError, BadSignature):
        return None


def observation_problem(
    obs: SignedObservation, feed: AggregateFeed, now_s: float, freshness: Freshness
) -> CosignRefusal | None:
    """What is wrong with one observation of a report (its signer the culprit), else None."""
    if int(obs.signer, 16) not in {int(s, 16) for s in feed.signers}:
        return CosignRefusal("unknown_signer", f"{obs.signer} is not a member", obs.signer)
    recovered = _recovered(feed.domain, obs)
    if recovered != obs.signer:
        detail = f"{obs.signer}'s observation recovers to {recovered}"
        return CosignRefusal("bad_signature", detail, obs.signer)
    if obs.timestamp > now_s + freshness.max_future_s:
        return CosignRefusal("future", f"{obs.signer} stamped {obs.timestamp}", obs.signer)
    if obs.timestamp < now_s - freshness.max_age_s:
        return CosignRefusal("stale", f"{obs.signer} stamped {obs.timestamp}", obs.signer)
    return None


def check_report(
    observations: Sequence[SignedObservation],
    feed: AggregateFeed,
    me: str,
    now_s: float,
    freshness: Freshness,
) -> CosignRefusal | None:
    """The first reason not to co-sign these observations, None if there is none. Pure."""
    if len(observations) > len(feed.signers):
        return CosignRefusal("malformed", f"{len(observations)} observations, more than members")
    seen: set[int] = set()
    for obs in observations:
        who = int(obs.signer, 16)
        if who in seen:
            return CosignRefusal("duplicate_signer", f"{obs.signer} observed twice", obs.signer)
        seen.add(who)
        problem = observation_problem(obs, feed, now_s, freshness)
        if problem is not None:
            return problem
    if len(seen) < feed.quorum:
        return CosignRefusal("below_quorum", f"{len(seen)} observations, quorum {feed.quorum}")
    if int(me, 16) not in seen:
        return CosignRefusal("without_self", "the report holds no observation of this node")
    return None


@dataclass(slots=True)
class _Pending:
    feed: str
    requester: str
    key: Key
    digest: bytes
    nonce: SecretNonce
    expires_s: float


class CoSigner:
    """This node's co-signing of aggregate feeds' reports (one per node)."""

    def __init__(
        self,
        signer: SchnorrSigner,
        feeds: Mapping[str, AggregateFeed],
        serving: Callable[[str], bool],
        freshness: Freshness,
        clock_s: Callable[[], float] = time.time,
        *,
        ttl_s: float = 30.0,
        max_sessions: int = 256,
        max_sessions_per_requester: int = 16,
    ) -> None:
        self._signer = signer
        self.feeds = dict(feeds)
        self._serving = serving
        self._freshness = freshness
        self._clock_s = clock_s
        self._ttl_s = ttl_s
        self._max_sessions = max_sessions
        self._max_per_requester = max_sessions_per_requester
        self._pending: OrderedDict[str, _Pending] = OrderedDict()

    @property
    def address(self) -> str:
        return self._signer.address

    @property
    def key(self) -> Key:
        return self._signer.key

    def commit(
        self, feed: str, raw: object, requester: str = "self"
    ) -> tuple[str, PublicNonce] | CosignRefusal:
        """Step 1: check the observations `raw`; a session id and this member's public nonces.
        A `requester` (the client's address) holds at most `max_sessions_per_requester` open
        sessions (its oldest dropped first), so no one client pushes out the others'."""
        members = self.feeds.get(feed)
        if members is None:
            return CosignRefusal("unknown_feed", f"{feed} is not an aggregate feed of this node")
        if not self._serving(feed):
            return CosignRefusal("not_serving", f"no fresh observation of {feed} here")
        observations = parse_observations(raw)
        if isinstance(observations, str):
            return CosignRefusal("malformed", observations)
        now_s = self._clock_s()
        refusal = check_report(observations, members, self.address, now_s, self._freshness)
        if refusal is not None:
            return refusal
        try:
            key = signing_key(observations, members)
        except SchnorrError as exc:
            return CosignRefusal("malformed", f"the named members' keys: {exc}")
        digest = report_digest(members.domain, body_of(observations, members))
        secret_nonce, public_nonce = new_nonce()
        self._expire(now_s)
        session_id = secrets.token_hex(16)
        self._pending[session_id] = _Pending(
            feed, requester, key, digest, secret_nonce, now_s + self._ttl_s
        )
        mine = [s for s, p in self._pending.items() if p.requester == requester]
        for old in mine[: max(0, len(mine) - self._max_per_requester)]:
            del self._pending[old]
        while len(self._pending) > self._max_sessions:
            self._pending.popitem(last=False)
        return session_id, public_nonce

    def sign(self, feed: str, session_id: str, aggregate_nonce: str) -> int | CosignRefusal:
        """Step 2: this member's share for the session, under the summed public nonces.
        A session signs once: it is gone after this call, whatever its result."""
        self._expire(self._clock_s())
        pending = self._pending.pop(session_id, None)
        if pending is None or pending.feed != feed:
            return CosignRefusal("unknown_session", f"no open session {session_id[:32]!r}")
        try:
            nonce = PublicNonce.from_hex(aggregate_nonce)
            return self._signer.share(pending.nonce, session(pending.key, nonce, pending.digest))
        except SchnorrError as exc:
            return CosignRefusal("malformed", f"aggregate nonce: {exc}")

    def _expire(self, now_s: float) -> None:
        for session_id in [s for s, p in self._pending.items() if p.expires_s < now_s]:
            del self._pending[session_id]
