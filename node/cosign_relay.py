"""Co-signing a report of an aggregate feed: the relay's side.

`cosign` takes the observations the relay chose (its own among them), asks each member for a
session and its public nonces (`commit`, all at once), sums the nonces, asks for every share
(`sign`, all at once), checks each share against its member's key and nonces, and returns the
full report the contract takes. Any member that does not answer, refuses, or answers a wrong
share fails the attempt and is named in the `CosignFailure`, so the relay can leave it out and
try again with the others (MuSig2 needs a share from every member it named).

Who is named when a member refuses over ANOTHER member's observation (the refusal's
`culprit`): the culprit if the relay's own check of that observation, under the relay's
stricter window (`strict`), finds it wrong too; otherwise the member that refused. Members
check with a wider window than the relay (node/app.py), so an honest member never refuses an
observation the relay still accepts: a member stamping its observations at the edge of the
window cannot get honest members dropped.

The relay's own part goes through its own `CoSigner` in process, with the same checks.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from node.cosign import (
    AggregateFeed,
    CoSigner,
    CosignRefusal,
    Freshness,
    body_of,
    observation_problem,
    signing_key,
)
from node.peers import Peer, Rejection
from node.records import observation_json
from node.relay import Report
from publisher.aggregate_report import encode_aggregate_report, report_digest
from publisher.eip712 import SignedObservation
from publisher.schnorr import (
    N,
    PublicNonce,
    SchnorrError,
    aggregate_nonces,
    combine,
    partial_verify,
    session,
    verify,
)

log = logging.getLogger("oracle.node.cosign")


class CosignTransport(Protocol):
    """How the relay reaches a member: POST a JSON body to a path under its URL; the status
    and the JSON answer, or a `Rejection` when no answer came."""

    async def post(self, peer: Peer, path: str, body: object) -> tuple[int, Any] | Rejection: ...


@dataclass(frozen=True, slots=True)
class Judge:
    """The relay's own view of an observation when a member refuses over it."""

    members: AggregateFeed
    strict: Freshness
    clock_s: Callable[[], float]

    def blame(
        self, refuser: str, culprit: str | None, observations: Sequence[SignedObservation]
    ) -> str:
        """Who to leave out when `refuser` refused over `culprit`'s observation."""
        for obs in observations:
            if culprit is not None and obs.signer == culprit and obs.signer != refuser:
                wrong = observation_problem(obs, self.members, self.clock_s(), self.strict)
                return culprit if wrong is not None else refuser
        return refuser


@dataclass(frozen=True, slots=True)
class CosignFailure:
    """An attempt that produced no signature: the members at fault and why."""

    failed: tuple[str, ...]
    detail: str


def cosign_path(feed: str, session_id: str | None = None) -> str:
    base = f"/v1/feeds/{feed.replace('/', '-')}/cosign"
    return base if session_id is None else f"{base}/{session_id}"


async def cosign(
    feed: str,
    observations: Sequence[SignedObservation],
    members: AggregateFeed,
    me: CoSigner,
    peers: Mapping[str, Peer],
    transport: CosignTransport,
    judge: Judge,
) -> bytes | CosignFailure:
    """The report of `observations` signed by every member who observed, or who failed."""
    others = [o.signer for o in observations if o.signer != me.address]
    missing = tuple(s for s in others if s not in peers)
    if missing:
        return CosignFailure(missing, "no [[peers]] entry to ask")
    sessions = await _commit_round(feed, observations, me, others, peers, transport, judge)
    if isinstance(sessions, CosignFailure):
        return sessions
    body = body_of(observations, members)
    digest = report_digest(members.domain, body)
    try:
        key = signing_key(observations, members)
        nonce = aggregate_nonces([n for _, n in sessions.values()])
        signing = session(key, nonce, digest)
    except SchnorrError as exc:  # a sum at infinity: no one member to blame
        return CosignFailure((), f"no signing session: {exc}")
    own_share = me.sign(feed, sessions[me.address][0], nonce.to_hex())
    if isinstance(own_share, CosignRefusal):
        return CosignFailure((), f"this node refuses: {own_share.detail}")
    replies = await asyncio.gather(
        *(
            transport.post(peers[s], cosign_path(feed, sessions[s][0]), {"nonce": nonce.to_hex()})
            for s in others
        )
    )
    shares = [own_share]
    failed: dict[str, str] = {}
    keys = {int(s, 16): k for s, k in zip(members.signers, members.keys, strict=True)}
    for signer, reply in zip(others, replies, strict=True):
        share = _share(reply)
        if isinstance(share, str):
            failed[signer] = share
        elif not partial_verify(keys[int(signer, 16)], sessions[signer][1], signing, share):
            failed[signer] = "its share does not verify"
        else:
            shares.append(share)
    if failed:
        return _failure(failed)
    s = combine(shares)
    if not verify(key, digest, s, signing.r_address):
        return CosignFailure((), "the combined signature does not verify")
    return encode_aggregate_report(body, s, signing.r_address, members.keys)


async def _commit_round(
    feed: str,
    observations: Sequence[SignedObservation],
    me: CoSigner,
    others: Sequence[str],
    peers: Mapping[str, Peer],
    transport: CosignTransport,
    judge: Judge,
) -> dict[str, tuple[str, PublicNonce]] | CosignFailure:
    """Every member's session id and public nonces, this node's first."""
    raw = {"observations": [observation_json(o) for o in observations]}
    own = me.commit(feed, raw["observations"])
    if isinstance(own, CosignRefusal):
        culprit = judge.blame(me.address, own.culprit, observations)
        named = () if culprit == me.address else (culprit,)
        return CosignFailure(named, f"this node refuses: {own.reason}: {own.detail}")
    answers = await asyncio.gather(
        *(transport.post(peers[s], cosign_path(feed), raw) for s in others)
    )
    sessions: dict[str, tuple[str, PublicNonce]] = {me.address: own}
    failed: dict[str, str] = {}
    for signer, answer in zip(others, answers, strict=True):
        parsed = _commitment(answer)
        if isinstance(parsed, CosignRefusal):
            failed[judge.blame(signer, parsed.culprit, observations)] = (
                f"{signer} refuses: {parsed.reason}: {parsed.detail}"
            )
        elif isinstance(parsed, str):
            failed[signer] = parsed
        else:
            sessions[signer] = parsed
    return _failure(failed) if failed else sessions


async def cosign_until_done(
    feed: str,
    plan: Report,
    me: CoSigner,
    peers: Mapping[str, Peer],
    transport: CosignTransport,
    judge: Judge,
    replan: Callable[[Sequence[SignedObservation]], Report | None],
) -> tuple[Report, bytes] | None:
    """`plan` co-signed; when members fail, planned again without them (`replan`: None when
    the quorum or the publish policy no longer holds) and tried again, at most once per
    observation. Observations that aged out of the relay's window since they were gathered
    are left out first. None when no signature came of it."""
    members = judge.members
    for attempt in range(1, len(plan.observations) + 1):
        now = judge.clock_s()
        kept = [
            o for o in plan.observations if not observation_problem(o, members, now, judge.strict)
        ]
        if len(kept) < len(plan.observations):
            replanned = replan(kept)
            if replanned is None:
                return None
            plan = replanned
        result = await cosign(feed, plan.observations, members, me, peers, transport, judge)
        if not isinstance(result, CosignFailure):
            return plan, result
        log.warning(
            "feed %s: co-signing attempt %d failed: %s. Nothing to do unless it repeats; then "
            "check the nodes named.",
            feed,
            attempt,
            result.detail,
        )
        if not result.failed:
            return None
        replanned = replan([o for o in plan.observations if o.signer not in result.failed])
        if replanned is None:
            return None
        plan = replanned
    return None


def _failure(failed: Mapping[str, str]) -> CosignFailure:
    detail = "; ".join(f"{signer}: {why}" for signer, why in failed.items())
    return CosignFailure(tuple(failed), detail)


def _commitment(
    answer: tuple[int, Any] | Rejection,
) -> tuple[str, PublicNonce] | CosignRefusal | str:
    if isinstance(answer, Rejection):
        return f"{answer.reason}: {answer.detail}"
    status, answer = answer
    if status == 409 and isinstance(answer, dict):
        culprit = answer.get("culprit")
        return CosignRefusal(
            str(answer.get("reason"))[:40],
            str(answer.get("error"))[:200],
            culprit if isinstance(culprit, str) else None,
        )
    if status != 200:
        return f"HTTP {status}: {str(answer)[:200]}"
    if not isinstance(answer, dict):
        return "commit answer is not a JSON object"
    session_id, nonce = answer.get("session"), answer.get("nonce")
    if not isinstance(session_id, str) or not 0 < len(session_id) <= 64:
        return "commit answer has no session id"
    if not session_id.isascii() or not session_id.isalnum():
        return "session id must be ASCII letters and digits"
    if not isinstance(nonce, str):
        return "commit answer has no nonce"
    try:
        return session_id, PublicNonce.from_hex(nonce)
    except SchnorrError as exc:
        return f"nonce: {exc}"


def _share(reply: tuple[int, Any] | Rejection) -> int | str:
    if isinstance(reply, Rejection):
        return f"{reply.reason}: {reply.detail}"
    status, reply = reply
    if status != 200:
        return f"HTTP {status}: {str(reply)[:200]}"
    if not isinstance(reply, dict) or not isinstance(reply.get("share"), str):
        return "sign answer has no share"
    text = reply["share"]
    if not text.startswith("0x") or len(text) != 66:
        return "share must be 0x and 32 bytes of hex"
    try:
        share = int(text, 16)
    except ValueError:
        return "share is not hex"
    return share if share < N else "share is not below N"
