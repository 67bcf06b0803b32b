"""Direct EIP-712 digests and libsecp256k1 recovery give eth_account's answers exactly."""

from __future__ import annotations

import random

import pytest
from eth_account import Account
from eth_account.messages import _hash_eip191_message

from audit.signatures import (
    ObservationRecovery,
    checksum_address,
    domain_separator,
    observation_digest,
)
from publisher.eip712 import (
    SECP256K1_N,
    Domain,
    SignedObservation,
    recover_signer,
    signable_observation,
)
from publisher.keys import LocalSigner


def _random_case(rnd: random.Random) -> tuple[LocalSigner, Domain, int, int]:
    account = Account.from_key(rnd.randbytes(32))
    contract = "0x" + rnd.randbytes(20).hex()
    value = rnd.randint(-(2**191), 2**191 - 1)
    return LocalSigner(account), Domain(rnd.randint(1, 2**64), contract), value, rnd.getrandbits(64)


def test_the_digest_is_the_hash_eth_account_signs() -> None:
    rnd = random.Random(1)
    for _ in range(50):
        _, domain, value, timestamp = _random_case(rnd)
        expected = _hash_eip191_message(signable_observation(domain, value, timestamp))
        separator = domain_separator(domain.chain_id, domain.verifying_contract)

        assert observation_digest(separator, value, timestamp) == expected


async def test_recovery_names_the_same_address_as_eth_account_on_random_keys() -> None:
    rnd = random.Random(2)
    recovery = ObservationRecovery()
    for _ in range(40):
        signer, domain, value, timestamp = _random_case(rnd)
        obs = await signer.sign_observation(domain, value, timestamp)
        contract = domain.verifying_contract.lower()

        recovered = recovery.signer(domain.chain_id, contract, value, timestamp, obs.signature)

        assert recovered == recover_signer(domain, obs) == signer.address


async def test_a_changed_value_recovers_the_same_stranger_as_eth_account() -> None:
    signer, domain, value, timestamp = _random_case(random.Random(3))
    obs = await signer.sign_observation(domain, value, timestamp)
    forged = SignedObservation(value + 1, timestamp, obs.signer, obs.signature)

    recovered = ObservationRecovery().signer(
        domain.chain_id, domain.verifying_contract, value + 1, timestamp, obs.signature
    )

    assert recovered == recover_signer(domain, forged) != signer.address


async def test_the_high_s_twin_is_refused_by_both_paths_as_the_contract_refuses_it() -> None:
    signer, domain, value, timestamp = _random_case(random.Random(4))
    obs = await signer.sign_observation(domain, value, timestamp)
    s = int.from_bytes(obs.signature[32:64], "big")
    twin = (
        obs.signature[:32] + (SECP256K1_N - s).to_bytes(32, "big") + bytes([55 - obs.signature[64]])
    )

    with pytest.raises(ValueError, match="high-s"):
        ObservationRecovery().signer(
            domain.chain_id, domain.verifying_contract, value, timestamp, twin
        )
    with pytest.raises(ValueError, match="high-s"):
        recover_signer(domain, SignedObservation(value, timestamp, obs.signer, twin))


@pytest.mark.parametrize(
    "signature",
    [b"\x01" * 64, b"\x01" * 64 + b"\x1d", b"\x00" * 64 + b"\x1b", b"\xff" * 64 + b"\x1b"],
    ids=["64 bytes", "v=29", "r=s=0", "r,s above the curve order"],
)
def test_an_unrecoverable_signature_is_a_value_error(signature: bytes) -> None:
    with pytest.raises(ValueError, match="signature"):
        ObservationRecovery().signer(1, "0x" + "cd" * 20, 1, 1, signature)


@pytest.mark.parametrize(("value", "timestamp"), [(2**191, 0), (-(2**191) - 1, 0), (0, 2**64)])
def test_values_outside_the_solidity_types_are_a_value_error(value: int, timestamp: int) -> None:
    with pytest.raises(ValueError, match="does not fit"):
        observation_digest(b"\0" * 32, value, timestamp)


def test_checksum_addresses_match_eip55() -> None:
    raw = bytes.fromhex("5aaeb6053f3e94c9b9a09f33669435e7ef1beaed")

    assert checksum_address(raw) == "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed"
