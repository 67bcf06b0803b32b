"""The packed report OracleFeedAggregate takes as raw calldata, byte for byte as it reads it.

Layout (see OracleFeedAggregate.sol):

    [format = 0x01: 1][n: 1][m: 1][w: 1][d: 1][base: 8]      \\
    n x { position: 1, value: w bytes, timestamp - base: d }  /  the body: what is signed
    [s: 32][R's address: 20][aggX: 32][aggParity: 1]
    if n == m: [keysHash: 32]; else m x { x: 32, y: 32 }

The body's widths follow `publisher.report` (the fewest bytes that hold every value and
timestamp offset). The signature is a MuSig2 Schnorr signature (`publisher.schnorr`) by the sum
of the keys of the positions named, of digest = keccak256(DOMAIN_SEPARATOR || body).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from eth_abi.abi import encode as abi_encode
from eth_utils.crypto import keccak

from publisher.eip712 import DOMAIN_NAME, DOMAIN_VERSION, UINT64_MAX, Domain
from publisher.report import MAX_DELTA_BYTES, MAX_SIGNERS, value_width
from publisher.schnorr import Key, add

AGGREGATE_REPORT_FORMAT = 0x01
_DOMAIN_TYPEHASH = keccak(
    text="EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)"
)


@dataclass(frozen=True, slots=True)
class Entry:
    """One observation in a report: the signer's position in the set, value and timestamp."""

    position: int
    value: int
    timestamp: int


def domain_separator(domain: Domain) -> bytes:
    """The contract's DOMAIN_SEPARATOR() (EIP-712, name "OracleFeed", version "1")."""
    return keccak(
        abi_encode(
            ["bytes32", "bytes32", "bytes32", "uint256", "address"],
            [
                _DOMAIN_TYPEHASH,
                keccak(text=DOMAIN_NAME),
                keccak(text=DOMAIN_VERSION),
                domain.chain_id,
                domain.verifying_contract,
            ],
        )
    )


def keys_hash(keys: Sequence[Key]) -> bytes:
    return keccak(b"".join(k.to_bytes() for k in keys))


def set_commitment(keys: Sequence[Key]) -> bytes:
    """The contract's 160-bit commitment to the set: keccak256(aggX || aggParity || m ||
    keysHash), m the number of members (one byte)."""
    total = add(keys)
    committed = total.x.to_bytes(32, "big") + bytes([total.parity, len(keys)]) + keys_hash(keys)
    return keccak(committed)[:20]


def report_body(entries: Sequence[Entry], set_size: int, *, sort: bool = True) -> bytes:
    """The signed part of a report: header and observations, sorted by value unless `sort`
    is False (tests reach the contract's own guards that way)."""
    if not 0 < set_size <= MAX_SIGNERS:
        raise ValueError(f"a set holds 1 to {MAX_SIGNERS} members, not {set_size}")
    if len(entries) > set_size:
        raise ValueError(f"{len(entries)} observations for a set of {set_size}")
    ordered = sorted(entries, key=lambda e: e.value) if sort else list(entries)
    for entry in ordered:
        if not 0 <= entry.position < 256:
            raise ValueError(f"position {entry.position} does not fit a byte")
        if not 0 <= entry.timestamp <= UINT64_MAX:
            raise ValueError(f"timestamp {entry.timestamp} does not fit uint64")
    value_bytes = max((value_width(e.value) for e in ordered), default=1)
    base = min((e.timestamp for e in ordered), default=0)
    spread = max((e.timestamp for e in ordered), default=0) - base
    delta_bytes = (spread.bit_length() + 7) // 8
    if delta_bytes > MAX_DELTA_BYTES:
        raise ValueError(f"timestamps {spread} s apart: a report spans less than 2**56 s")
    header = bytes(
        [AGGREGATE_REPORT_FORMAT, len(ordered), set_size, value_bytes, delta_bytes]
    ) + base.to_bytes(8, "big")
    return header + b"".join(
        bytes([e.position])
        + e.value.to_bytes(value_bytes, "big", signed=True)
        + (e.timestamp - base).to_bytes(delta_bytes, "big")
        for e in ordered
    )


def report_digest(domain: Domain, body: bytes) -> bytes:
    """What the members sign: keccak256(DOMAIN_SEPARATOR || body)."""
    return keccak(domain_separator(domain) + body)


def encode_aggregate_report(body: bytes, s: int, r_address: str, keys: Sequence[Key]) -> bytes:
    """The full report: `body`, the signature (s, R's address) and the set's key material
    (the keys' hash when every member is named, else every key)."""
    total = add(keys)
    named = body[1]
    material = keys_hash(keys) if named == len(keys) else b"".join(k.to_bytes() for k in keys)
    return (
        body
        + s.to_bytes(32, "big")
        + bytes.fromhex(r_address.removeprefix("0x"))
        + total.x.to_bytes(32, "big")
        + bytes([total.parity])
        + material
    )
