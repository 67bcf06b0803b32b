"""Signer recovery for journaled observations, fast enough to check every signature of a journal.

`publisher.eip712.recover_signer` goes through eth_account's generic typed-data encoder; this
module computes the same EIP-712 digest directly, for the one struct the contract knows:

    digest = keccak(0x1901 || domainSeparator || keccak(OBSERVATION_TYPEHASH || value || timestamp))

with the domain separator computed once per (chain id, contract), and recovers the public key
with libsecp256k1 (coincurve). `ObservationRecovery.signer` returns exactly the checksum address
`recover_signer` returns (a test holds both to it on random keys), and raises `ValueError`, as
it does, for what cannot be recovered and for what the contract refuses (v not 27 or 28, high s).
"""

from __future__ import annotations

from coincurve import PublicKey
from Crypto.Hash import keccak

from publisher.eip712 import (
    DOMAIN_NAME,
    DOMAIN_VERSION,
    INT192_MAX,
    INT192_MIN,
    MAX_LOW_S,
    SECP256K1_N,
    UINT64_MAX,
)


def keccak256(data: bytes) -> bytes:
    return keccak.new(data=data, digest_bits=256).digest()


DOMAIN_TYPEHASH = keccak256(
    b"EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)"
)
OBSERVATION_TYPEHASH = keccak256(b"Observation(int192 value,uint64 timestamp)")
_NAME_HASH = keccak256(DOMAIN_NAME.encode())
_VERSION_HASH = keccak256(DOMAIN_VERSION.encode())


def domain_separator(chain_id: int, verifying_contract: str) -> bytes:
    """EIP-712 `hashStruct(domain)` of one feed contract (`verifying_contract` as 0x-hex)."""
    address = bytes.fromhex(verifying_contract.removeprefix("0x"))
    if len(address) != 20:
        raise ValueError(f"verifying contract {verifying_contract!r} is not a 20-byte address")
    if not 0 <= chain_id < 2**256:
        raise ValueError(f"chain id {chain_id} does not fit uint256")
    return keccak256(
        DOMAIN_TYPEHASH
        + _NAME_HASH
        + _VERSION_HASH
        + chain_id.to_bytes(32, "big")
        + address.rjust(32, b"\0")
    )


def observation_digest(separator: bytes, value: int, timestamp: int) -> bytes:
    """The 32-byte hash a signer signs for `Observation(value, timestamp)` under a domain."""
    if not INT192_MIN <= value <= INT192_MAX:
        raise ValueError(f"value {value} does not fit int192")
    if not 0 <= timestamp <= UINT64_MAX:
        raise ValueError(f"timestamp {timestamp} does not fit uint64")
    struct = keccak256(
        OBSERVATION_TYPEHASH
        + value.to_bytes(32, "big", signed=True)
        + timestamp.to_bytes(32, "big")
    )
    return keccak256(b"\x19\x01" + separator + struct)


def checksum_address(raw: bytes) -> str:
    """EIP-55 mixed-case form of a 20-byte address."""
    hexed = raw.hex()
    hashed = keccak256(hexed.encode()).hex()
    return "0x" + "".join(
        c.upper() if int(h, 16) >= 8 else c for c, h in zip(hexed, hashed[:40], strict=True)
    )


class ObservationRecovery:
    """Recovers observation signers, caching domain separators and public-key addresses.

    One instance per verification run: the caches grow with the number of distinct feed
    contracts and signer keys, not with the journal.
    """

    def __init__(self) -> None:
        self._separators: dict[tuple[int, str], bytes] = {}
        self._addresses: dict[bytes, str] = {}

    def signer(
        self, chain_id: int, verifying_contract: str, value: int, timestamp: int, signature: bytes
    ) -> str:
        """The checksum address that produced the 65-byte r || s || v `signature`."""
        key = (chain_id, verifying_contract.lower())
        separator = self._separators.get(key)
        if separator is None:
            separator = self._separators[key] = domain_separator(chain_id, verifying_contract)
        digest = observation_digest(separator, value, timestamp)
        if len(signature) != 65:
            raise ValueError(f"expected a 65-byte signature, got {len(signature)} bytes")
        v = signature[64]
        r = int.from_bytes(signature[:32], "big")
        s = int.from_bytes(signature[32:64], "big")
        if v not in (27, 28) or not (0 < r < SECP256K1_N and 0 < s < SECP256K1_N):
            raise ValueError("signature values out of range")
        if s > MAX_LOW_S:
            raise ValueError("high-s signature: the contract accepts low-s signatures only")
        recid = v - 27
        try:
            public = PublicKey.from_signature_and_message(
                signature[:64] + bytes([recid]), digest, hasher=None
            ).format(compressed=False)
        except Exception as exc:  # coincurve raises a bare Exception for an unrecoverable key
            raise ValueError(f"no public key recovers from the signature: {exc}") from exc
        address = self._addresses.get(public)
        if address is None:
            address = self._addresses[public] = checksum_address(keccak256(public[1:])[12:])
        return address
