"""EIP-712 observations: what is signed, who signed it, and the compact form submit takes."""

from __future__ import annotations

import pytest
from eth_account import Account

from publisher.eip712 import (
    SECP256K1_N,
    Domain,
    SignedObservation,
    observation_typed_data,
    recover_signer,
)
from publisher.keys import LocalSigner

DOMAIN = Domain(31337, "0x" + "cd" * 20)


@pytest.fixture
def signer() -> LocalSigner:
    return LocalSigner(Account.from_key("0x" + "22" * 32))


def test_typed_data_names_the_feed_domain_and_observation_type() -> None:
    typed = observation_typed_data(DOMAIN, -5, 7)

    assert typed["domain"]["name"] == "OracleFeed"
    assert typed["domain"]["version"] == "1"
    assert typed["domain"]["chainId"] == 31337
    assert typed["primaryType"] == "Observation"
    assert typed["types"]["Observation"] == [
        {"name": "value", "type": "int192"},
        {"name": "timestamp", "type": "uint64"},
    ]


@pytest.mark.parametrize(("value", "timestamp"), [(2**191, 0), (-(2**191) - 1, 0), (0, -1)])
def test_values_outside_the_solidity_types_are_refused(value: int, timestamp: int) -> None:
    with pytest.raises(ValueError, match="does not fit"):
        observation_typed_data(DOMAIN, value, timestamp)


async def test_recover_signer_names_the_signing_address(signer: LocalSigner) -> None:
    observation = await signer.sign_observation(DOMAIN, 42, 1_700_000_000)

    assert recover_signer(DOMAIN, observation) == signer.address


async def test_a_signature_under_another_domain_recovers_someone_else(
    signer: LocalSigner,
) -> None:
    observation = await signer.sign_observation(DOMAIN, 42, 1_700_000_000)

    assert recover_signer(Domain(1, DOMAIN.verifying_contract), observation) != signer.address


async def test_compact_form_packs_the_recovery_bit_into_vs(signer: LocalSigner) -> None:
    observation = await signer.sign_observation(DOMAIN, 42, 1_700_000_000)
    r, vs = observation.compact()
    packed = int.from_bytes(vs, "big")

    assert r == observation.signature[:32]
    assert packed >> 255 == observation.signature[64] - 27
    assert packed & (2**255 - 1) == int.from_bytes(observation.signature[32:64], "big")


async def test_the_high_s_twin_of_a_valid_signature_is_refused_as_the_contract_refuses_it(
    signer: LocalSigner,
) -> None:
    observation = await signer.sign_observation(DOMAIN, 42, 1_700_000_000)
    s = int.from_bytes(observation.signature[32:64], "big")
    twin_signature = (
        observation.signature[:32]
        + (SECP256K1_N - s).to_bytes(32, "big")
        + bytes([55 - observation.signature[64]])  # 27 <-> 28
    )
    twin = SignedObservation(42, 1_700_000_000, signer.address, twin_signature)

    # Plain ECDSA recovers the same signer from the twin (malleability); the contract refuses it.
    with pytest.raises(ValueError, match="high-s"):
        twin.compact()
    with pytest.raises(ValueError, match="high-s"):
        recover_signer(DOMAIN, twin)
