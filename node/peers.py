"""Peers' signed observations over HTTP: bounded fetches, and a local check of everything.

Peer input is untrusted. A peer's answer is used only when it is a well-formed JSON object of
the right shape for this feed, signed under this feed's EIP-712 domain by exactly the signer
configured for that peer URL, that signer is in the feed's signer set, and its timestamp is
fresh (within `max_age_s`, at most `max_future_s` ahead, newer than the chain's newest
observation). Anything else is a `Rejection` with a short machine reason (the metric label)
and a detail for the log. Requests are bounded: one per peer and feed per relay round, at most
`max_peers` peers, each with a total timeout and a body size cap.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import time
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from typing import Any

import aiohttp
from eth_keys.exceptions import BadSignature
from eth_utils.address import is_address, to_checksum_address
from eth_utils.exceptions import ValidationError

from publisher.eip712 import INT192_MAX, INT192_MIN, Domain, SignedObservation, recover_signer

log = logging.getLogger("oracle.node.peers")

MAX_BODY_BYTES = 4096
"""An observation is a few hundred bytes; a larger answer is not read further."""

REASONS = (
    "timeout",
    "unreachable",
    "http_status",
    "too_large",
    "malformed",
    "wrong_feed",
    "wrong_domain",
    "signer_mismatch",
    "unknown_signer",
    "bad_signature",
    "stale",
    "future",
    "not_newer",
)
"""Every rejection reason, as the metric labels them."""


@dataclass(frozen=True, slots=True)
class Peer:
    """Another node: where it serves observations, and the only signer accepted from there."""

    url: str
    signer: str

    def __post_init__(self) -> None:
        object.__setattr__(self, "url", self.url.rstrip("/"))
        object.__setattr__(self, "signer", to_checksum_address(self.signer))


@dataclass(frozen=True, slots=True)
class Rejection:
    """A peer's answer that was not used; `reason` is one of `REASONS`."""

    peer: str
    reason: str
    detail: str


@dataclass(frozen=True, slots=True)
class ObservationCheck:
    """What a peer's observation of one feed must satisfy, at `now_s`."""

    feed: str
    domain: Domain
    signers: frozenset[str]
    now_s: float
    max_age_s: float
    max_future_s: float
    newer_than_s: int


def check_observation(
    body: object, peer: Peer, check: ObservationCheck
) -> SignedObservation | Rejection:
    """The peer's observation if it passes every check, else the first failed check. Pure."""
    parsed = _parse(body)
    if isinstance(parsed, str):
        return Rejection(peer.url, "malformed", parsed)
    feed, chain_id, contract, obs = parsed
    if feed != check.feed:
        return Rejection(peer.url, "wrong_feed", f"asked for {check.feed}, got {feed}")
    if (chain_id, contract) != (check.domain.chain_id, check.domain.verifying_contract):
        detail = f"signed for chain {chain_id} contract {contract}"
        return Rejection(peer.url, "wrong_domain", detail)
    problem = _identity_problem(obs, peer, check) or _time_problem(obs, check)
    if problem is not None:
        return Rejection(peer.url, *problem)
    return obs


def _identity_problem(
    obs: SignedObservation, peer: Peer, check: ObservationCheck
) -> tuple[str, str] | None:
    if obs.signer != peer.signer:
        return "signer_mismatch", f"claims signer {obs.signer}, configured {peer.signer}"
    if obs.signer not in check.signers:
        return "unknown_signer", f"{obs.signer} is not in the feed's signer set"
    try:
        recovered = recover_signer(check.domain, obs)
    except (ValueError, ValidationError, BadSignature) as exc:
        return "bad_signature", f"cannot recover a signer: {exc}"
    if recovered != obs.signer:
        return "bad_signature", f"signature recovers to {recovered}, not {obs.signer}"
    return None


def _time_problem(obs: SignedObservation, check: ObservationCheck) -> tuple[str, str] | None:
    if obs.timestamp > check.now_s + check.max_future_s:
        return "future", f"stamped {obs.timestamp - check.now_s:.0f}s ahead"
    if obs.timestamp < check.now_s - check.max_age_s:
        return "stale", f"{check.now_s - obs.timestamp:.0f}s old"
    if obs.timestamp <= check.newer_than_s:
        return "not_newer", f"not newer than the chain's newest observation {check.newer_than_s}"
    return None


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _parse(body: object) -> tuple[str, int, str, SignedObservation] | str:
    """The fields of an observation body, or what is wrong with its shape."""
    if not isinstance(body, dict):
        return "not a JSON object"
    missing = sorted(set(_FIELDS) - set(body))
    if missing:
        return f"missing field(s) {', '.join(missing)}"
    feed, answer, timestamp, signer, signature, chain_id, contract = (body[k] for k in _FIELDS)
    if not all(isinstance(v, str) for v in (feed, answer, signer, signature, contract)):
        return "feed, answer, signer, signature and contract must be strings"
    if not _is_int(timestamp) or timestamp < 0 or not _is_int(chain_id):
        return "timestamp and chain_id must be non-negative integers"
    if not is_address(signer) or not is_address(contract):
        return "signer and contract must be addresses"
    if not INTEGER.fullmatch(answer):
        return "answer is not an integer string"
    if not INT192_MIN <= int(answer) <= INT192_MAX:
        return "answer does not fit the contract's int192"
    if not signature.startswith("0x") or len(signature) != 132:
        return "signature must be 0x and 65 bytes of hex"
    try:
        raw = bytes.fromhex(signature[2:])
    except ValueError:
        return "signature is not hex"
    obs = SignedObservation(int(answer), timestamp, to_checksum_address(signer), raw)
    return feed, chain_id, to_checksum_address(contract), obs


INTEGER = re.compile(r"-?[0-9]{1,58}")
"""Decimal ASCII digits only (`str.isdigit` also takes other scripts' digits); int192 has 58."""
_FIELDS = ("feed", "answer", "timestamp", "signer", "signature", "chain_id", "contract")


RejectionHook = Callable[[Rejection], None]
LatencyHook = Callable[[str, float], None]


class PeerClient:
    """Fetches and checks peers' observations; one aiohttp session for the node's lifetime."""

    def __init__(
        self,
        peers: Sequence[Peer],
        timeout_s: float,
        max_peers: int,
        on_rejection: RejectionHook | None = None,
        on_latency: LatencyHook | None = None,
    ) -> None:
        self.peers = tuple(peers)
        self._timeout = aiohttp.ClientTimeout(total=timeout_s)
        self._max_peers = max_peers
        self._on_rejection = on_rejection
        self._on_latency = on_latency
        self._session: aiohttp.ClientSession | None = None

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def gather(
        self, check: ObservationCheck, exclude: Collection[str] = ()
    ) -> tuple[list[SignedObservation], list[Rejection]]:
        """Every usable observation of `check.feed` from at most `max_peers` peers, asked at
        once; each rejection is logged and reported to the hook. `exclude`: signers already
        held (the relay's own), whose peers are not asked."""
        asked = [p for p in self.peers if p.signer not in exclude][: self._max_peers]
        answers = await asyncio.gather(*(self._ask(p, check) for p in asked))
        accepted: list[SignedObservation] = []
        rejected: list[Rejection] = []
        for answer in answers:
            if isinstance(answer, Rejection):
                rejected.append(answer)
                log.warning(
                    "peer %s: %s observation ignored (%s): %s. Nothing to do unless it repeats; "
                    "then check that peer node and its entry in [[peers]].",
                    answer.peer,
                    check.feed,
                    answer.reason,
                    answer.detail,
                )
                if self._on_rejection is not None:
                    self._on_rejection(answer)
            else:
                accepted.append(answer)
        return accepted, rejected

    async def _ask(self, peer: Peer, check: ObservationCheck) -> SignedObservation | Rejection:
        body = await self._fetch(peer, check.feed)
        if isinstance(body, Rejection):
            return body
        try:
            return check_observation(body, peer, check)
        except Exception as exc:  # a check this code missed must cost one answer, not the round
            log.exception("peer %s: unexpected failure checking an answer", peer.url)
            return Rejection(peer.url, "malformed", f"{type(exc).__name__}: {exc}")

    async def post(self, peer: Peer, path: str, body: object) -> tuple[int, Any] | Rejection:
        """POST `body` as JSON to `peer` at `path` (under its URL): the status and the JSON
        answer (None if it is not JSON), or a `Rejection` when no answer came (timeout,
        unreachable, too large: the bounds of an observation fetch)."""
        answer = await self._request(peer, f"{peer.url}{path}", body)
        if isinstance(answer, Rejection):
            return answer
        status, raw = answer
        try:
            return status, json.loads(raw)
        except (ValueError, UnicodeDecodeError):
            return status, None

    async def _fetch(self, peer: Peer, feed: str) -> Any:
        url = f"{peer.url}/v1/feeds/{feed.replace('/', '-')}/observation"
        answer = await self._request(peer, url, None)
        if isinstance(answer, Rejection):
            return answer
        status, raw = answer
        if status != 200:
            said = raw[:200].decode("utf-8", "replace")  # the peer's error, for the log
            return Rejection(peer.url, "http_status", f"HTTP {status}: {said}")
        try:
            return json.loads(raw)
        except (ValueError, UnicodeDecodeError) as exc:
            return Rejection(peer.url, "malformed", f"not JSON: {exc}")

    async def _request(self, peer: Peer, url: str, body: object) -> tuple[int, bytes] | Rejection:
        if self._session is None:
            # No compression: the body bound counts the bytes that arrive, and nothing inflates.
            self._session = aiohttp.ClientSession(
                timeout=self._timeout,
                auto_decompress=False,
                headers={"Accept-Encoding": "identity"},
            )
        started = time.perf_counter()
        try:
            request = (
                self._session.get(url, allow_redirects=False)
                if body is None
                else self._session.post(url, json=body, allow_redirects=False)
            )
            async with request as resp:
                raw = await _read_bounded(resp.content, MAX_BODY_BYTES + 1)
                status = resp.status
        except TimeoutError:
            return Rejection(peer.url, "timeout", f"no answer within {self._timeout.total}s")
        except aiohttp.ClientError as exc:
            return Rejection(peer.url, "unreachable", f"{type(exc).__name__}: {exc}")
        finally:
            if self._on_latency is not None:
                self._on_latency(peer.url, time.perf_counter() - started)
        if len(raw) > MAX_BODY_BYTES:
            return Rejection(peer.url, "too_large", f"body over {MAX_BODY_BYTES} bytes")
        return status, raw


async def _read_bounded(stream: aiohttp.StreamReader, limit: int) -> bytes:
    """The body up to `limit` bytes. One `read(n)` returns what has arrived so far, which for
    a body split over several packets is only its first part."""
    chunks: list[bytes] = []
    size = 0
    while size < limit:
        chunk = await stream.read(limit - size)
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    return b"".join(chunks)
