"""EIP-712 typed data for an observation, exactly as OracleFeed.sol verifies it.

Domain: name "OracleFeed", version "1", chainId, verifyingContract, so a signature is valid
for one feed contract on one chain only. Struct: `Observation(int192 value,uint64 timestamp)`,
`value` being the on-chain integer answer (see `publisher.answer`) and `timestamp` unix seconds.

Auditors re-derive the signer of any journaled observation with `recover_signer`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from eth_account import Account
from eth_account.messages import SignableMessage, encode_typed_data
from eth_utils.address import to_checksum_address

DOMAIN_NAME = "OracleFeed"
DOMAIN_VERSION = "1"
INT192_MIN = -(2**191)
INT192_MAX = 2**191 - 1
UINT64_MAX = 2**64 - 1
SECP256K1_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
MAX_LOW_S = SECP256K1_N // 2

_TYPES = {
    "EIP712Domain": [
        {"name": "name", "type": "string"},
        {"name": "version", "type": "string"},
        {"name": "chainId", "type": "uint256"},
        {"name": "verifyingContract", "type": "address"},
    ],
    "Observation": [
        {"name": "value", "type": "int192"},
        {"name": "timestamp", "type": "uint64"},
    ],
}


@dataclass(frozen=True, slots=True)
class Domain:
    """The EIP-712 domain of one feed contract on one chain."""

    chain_id: int
    verifying_contract: str

    def __post_init__(self) -> None:
        object.__setattr__(self, "verifying_contract", to_checksum_address(self.verifying_contract))


@dataclass(frozen=True, slots=True)
class SignedObservation:
    """An observation and its 65-byte signature (r || s || v, v in {27, 28}, low s).

    `signer` is the address that claims to have signed; the contract trusts only what it
    recovers, and so should anyone else (`recover_signer`).
    """

    value: int
    timestamp: int
    signer: str
    signature: bytes

    def compact(self) -> tuple[bytes, bytes]:
        """(r, vs) in EIP-2098 form, as `submit` takes it: vs = (v - 27) << 255 | s."""
        if len(self.signature) != 65:
            raise ValueError(f"expected a 65-byte signature, got {len(self.signature)} bytes")
        r = self.signature[:32]
        s = int.from_bytes(self.signature[32:64], "big")
        v = self.signature[64]
        if v not in (27, 28):
            raise ValueError(f"signature recovery id must be 27 or 28, got {v}")
        if s > MAX_LOW_S:
            raise ValueError("high-s signature: the contract accepts low-s signatures only")
        return r, ((v - 27) << 255 | s).to_bytes(32, "big")


def observation_typed_data(domain: Domain, value: int, timestamp: int) -> dict[str, Any]:
    """The full EIP-712 message, checked against the Solidity types' ranges."""
    if not INT192_MIN <= value <= INT192_MAX:
        raise ValueError(f"value {value} does not fit int192")
    if not 0 <= timestamp <= UINT64_MAX:
        raise ValueError(f"timestamp {timestamp} does not fit uint64")
    return {
        "types": _TYPES,
        "primaryType": "Observation",
        "domain": {
            "name": DOMAIN_NAME,
            "version": DOMAIN_VERSION,
            "chainId": domain.chain_id,
            "verifyingContract": domain.verifying_contract,
        },
        "message": {"value": value, "timestamp": timestamp},
    }


def signable_observation(domain: Domain, value: int, timestamp: int) -> SignableMessage:
    """What a signer signs (EIP-191 version 0x01 wrapping of the EIP-712 hash)."""
    return encode_typed_data(full_message=observation_typed_data(domain, value, timestamp))


def recover_signer(domain: Domain, observation: SignedObservation) -> str:
    """The checksum address that produced `observation.signature` under `domain`.

    Raises `ValueError` for a signature the contract refuses even when it recovers (v not 27
    or 28, a high-s twin): whoever checks a signature here judges it as the chain will.
    """
    observation.compact()
    message = signable_observation(domain, observation.value, observation.timestamp)
    recovered: str = Account.recover_message(message, signature=observation.signature)
    return recovered
