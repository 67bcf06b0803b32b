"""The packed report that OracleFeed takes as raw calldata, byte for byte as the contract reads it.

Layout (see OracleFeed.sol):

    [format = 0x00: 1][n: 1][m: 1][w: 1][d: 1][base: 8]
    n x { signer index: 1, value: w bytes, timestamp - base: d bytes, r: 32, vs: 32 }
    the address (20 bytes) of every set member no observation names, in set order

The widths are the smallest that hold every observation of this report: `w` bytes of two's
complement for the values (1..24, int192), `d` bytes (0..7; 0 when all share one timestamp)
for the timestamps' offsets from the oldest one, `base`. Calldata costs 4 gas per zero byte and
16 per other byte, so a field sized to its content pays for no leading zeros.

The contract rebuilds the signer set from the addresses it RECOVERS (each placed at its
observation's index) and the absent members carried here, and compares its hash with the
commitment; a member who signed therefore travels as one index byte, not 20 address bytes.

Observations are sorted by value here; each names its signer's index in the set. A claimed
signer that is not in the set gets index 255 (never a member: sets hold at most 255), so the
contract, not this encoder, refuses it and names the recovered address.
"""

from __future__ import annotations

from collections.abc import Sequence

from eth_utils.address import to_canonical_address
from eth_utils.crypto import keccak

from publisher.eip712 import INT192_MAX, INT192_MIN, UINT64_MAX, SignedObservation

REPORT_FORMAT = 0x00
HEADER_BYTES = 13
MAX_VALUE_BYTES = 24
MAX_DELTA_BYTES = 7
ADDRESS_BYTES = 20
MAX_SIGNERS = 255
NOT_A_MEMBER = 255


def signer_set_commitment(signer_set: Sequence[str]) -> bytes:
    """The contract's 160-bit commitment: the high 20 bytes of keccak256 of the set's
    addresses, each left-padded to 32 bytes, in set order."""
    return keccak(b"".join(to_canonical_address(a).rjust(32, b"\0") for a in signer_set))[:20]


def value_width(value: int) -> int:
    """The fewest bytes that hold `value` in two's complement (at least one)."""
    if not INT192_MIN <= value <= INT192_MAX:
        raise ValueError(f"value {value} does not fit int192")
    width = 1
    while not -(1 << (8 * width - 1)) <= value < 1 << (8 * width - 1):
        width += 1
    return width


def pack_observation(
    observation: SignedObservation, index: int, value_bytes: int, base: int, delta_bytes: int
) -> bytes:
    """One observation: index, value in `value_bytes`, timestamp - `base` in `delta_bytes`,
    then the EIP-2098 compact signature (r, vs)."""
    if not 0 <= observation.timestamp <= UINT64_MAX:
        raise ValueError(f"timestamp {observation.timestamp} does not fit uint64")
    r, vs = observation.compact()
    return (
        bytes([index])
        + observation.value.to_bytes(value_bytes, "big", signed=True)
        + (observation.timestamp - base).to_bytes(delta_bytes, "big")
        + r
        + vs
    )


def encode_report(
    observations: Sequence[SignedObservation], signer_set: Sequence[str], *, sort: bool = True
) -> bytes:
    """The report for `observations` (sorted here by value unless `sort` is False: tests
    reach the contract's own guards that way) under `signer_set`, in its on-chain order."""
    if len(observations) > 255:
        raise ValueError(f"{len(observations)} observations: a report holds at most 255")
    if len(signer_set) > MAX_SIGNERS:
        raise ValueError(f"{len(signer_set)} signers: a set holds at most {MAX_SIGNERS}")
    members = [to_canonical_address(a) for a in signer_set]
    position = {address: i for i, address in enumerate(members)}
    ordered = sorted(observations, key=lambda o: o.value) if sort else list(observations)
    indices = [position.get(to_canonical_address(o.signer), NOT_A_MEMBER) for o in ordered]
    value_bytes = max((value_width(o.value) for o in ordered), default=1)
    base = min((o.timestamp for o in ordered), default=0)
    spread = max((o.timestamp for o in ordered), default=0) - base
    delta_bytes = (spread.bit_length() + 7) // 8
    if delta_bytes > MAX_DELTA_BYTES:
        raise ValueError(f"timestamps {spread} s apart: a report spans less than 2**56 s")
    header = bytes([REPORT_FORMAT, len(ordered), len(members), value_bytes, delta_bytes])
    body = b"".join(
        pack_observation(o, i, value_bytes, base, delta_bytes)
        for o, i in zip(ordered, indices, strict=True)
    )
    named = set(indices)
    absent = b"".join(a for j, a in enumerate(members) if j not in named)
    return header + base.to_bytes(8, "big") + body + absent
