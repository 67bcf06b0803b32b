"""The packed report that `OracleFeed.submit(bytes)` takes, byte for byte as the contract reads it.

Layout (see OracleFeed.sol):

    [n: 1 byte][m: 1 byte]
    n x { value(int192) << 64 | timestamp(uint64) : 32, r : 32, vs : 32, signer index : 1 }
    m x signer address : 20        (the whole committed signer set, in its on-chain order)

Observations are sorted by value here; each names its signer's index in the set. A claimed
signer that is not in the set gets index 255 (never a member: sets hold at most 255), so the
contract, not this encoder, refuses it and names the recovered address.
"""

from __future__ import annotations

from collections.abc import Sequence

from eth_utils.address import to_canonical_address
from eth_utils.crypto import keccak

from publisher.eip712 import INT192_MAX, INT192_MIN, UINT64_MAX, SignedObservation

OBSERVATION_BYTES = 97
ADDRESS_BYTES = 20
MAX_SIGNERS = 255
NOT_A_MEMBER = 255


def signer_set_commitment(signer_set: Sequence[str]) -> bytes:
    """The contract's 160-bit commitment: the high 20 bytes of keccak256 of the packed set."""
    return keccak(b"".join(to_canonical_address(a) for a in signer_set))[:20]


def pack_observation(observation: SignedObservation, index: int) -> bytes:
    """One observation as 97 bytes: packed value|timestamp word, r, vs, signer index."""
    if not INT192_MIN <= observation.value <= INT192_MAX:
        raise ValueError(f"value {observation.value} does not fit int192")
    if not 0 <= observation.timestamp <= UINT64_MAX:
        raise ValueError(f"timestamp {observation.timestamp} does not fit uint64")
    word = ((observation.value % 2**192) << 64) | observation.timestamp
    r, vs = observation.compact()
    return word.to_bytes(32, "big") + r + vs + bytes([index])


def encode_report(
    observations: Sequence[SignedObservation], signer_set: Sequence[str], *, sort: bool = True
) -> bytes:
    """The report for `observations` (sorted here by value unless `sort` is False: tests
    reach the contract's own guards that way) under `signer_set`."""
    if len(observations) > 255:
        raise ValueError(f"{len(observations)} observations: a report holds at most 255")
    if len(signer_set) > MAX_SIGNERS:
        raise ValueError(f"{len(signer_set)} signers: a set holds at most {MAX_SIGNERS}")
    members = [to_canonical_address(a) for a in signer_set]
    position = {address: i for i, address in enumerate(members)}
    ordered = sorted(observations, key=lambda o: o.value) if sort else list(observations)
    body = b"".join(
        pack_observation(o, position.get(to_canonical_address(o.signer), NOT_A_MEMBER))
        for o in ordered
    )
    return bytes([len(ordered), len(members)]) + body + b"".join(members)
