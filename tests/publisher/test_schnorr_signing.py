"""MuSig2 Schnorr multi-signatures as publisher/schnorr.py makes and checks them."""

from __future__ import annotations

import secrets

import pytest
from eth_utils.crypto import keccak

from publisher.schnorr import (
    Key,
    N,
    PublicNonce,
    SchnorrError,
    add,
    aggregate_nonces,
    combine,
    multi_sign,
    new_nonce,
    partial_sign,
    partial_verify,
    prove_possession,
    public_key,
    session,
    verify,
    verify_possession,
)

DIGEST = keccak(b"a report")


def fresh(count: int) -> list[int]:
    return [secrets.randbelow(N - 1) + 1 for _ in range(count)]


def test_a_multi_signature_verifies_under_the_sum_of_the_signers_keys() -> None:
    xs = fresh(5)

    s, r_address = multi_sign(xs, DIGEST)

    assert verify(add([public_key(x) for x in xs]), DIGEST, s, r_address)


def test_a_multi_signature_does_not_verify_under_a_subset_of_its_keys() -> None:
    xs = fresh(3)

    s, r_address = multi_sign(xs, DIGEST)

    assert not verify(add([public_key(x) for x in xs[:2]]), DIGEST, s, r_address)


def test_a_signature_does_not_verify_for_another_digest() -> None:
    xs = fresh(2)

    s, r_address = multi_sign(xs, DIGEST)

    assert not verify(add([public_key(x) for x in xs]), keccak(b"another"), s, r_address)


def test_a_nonce_signs_only_once() -> None:
    (x,) = fresh(1)
    secret_nonce, public_nonce = new_nonce()
    signing = session(public_key(x), public_nonce, DIGEST)
    partial_sign(x, secret_nonce, signing)

    with pytest.raises(SchnorrError, match="already used"):
        partial_sign(x, secret_nonce, signing)


def test_a_wrong_share_is_caught_and_attributed() -> None:
    xs = fresh(3)
    keys = [public_key(x) for x in xs]
    nonces = [new_nonce() for _ in xs]
    signing = session(add(keys), aggregate_nonces([n[1] for n in nonces]), DIGEST)
    shares = [partial_sign(x, n[0], signing) for x, n in zip(xs, nonces, strict=True)]
    shares[1] = (shares[1] + 1) % N

    verdicts = [
        partial_verify(k, n[1], signing, share)
        for k, n, share in zip(keys, nonces, shares, strict=True)
    ]

    assert verdicts == [True, False, True]
    assert not verify(add(keys), DIGEST, combine(shares), signing.r_address)


def test_a_proof_of_possession_holds_for_its_key_only() -> None:
    x, y = fresh(2)

    proof = prove_possession(x)

    assert verify_possession(public_key(x), proof)
    assert not verify_possession(public_key(y), proof)


def test_a_point_off_the_curve_is_not_a_key() -> None:
    key = public_key(fresh(1)[0])

    with pytest.raises(SchnorrError, match="not on secp256k1"):
        Key(key.x, key.y + 1)


def test_keys_and_nonces_round_trip_through_hex() -> None:
    key = public_key(fresh(1)[0])
    _, nonce = new_nonce()

    assert Key.from_hex(key.to_hex()) == key
    assert PublicNonce.from_hex(nonce.to_hex()) == nonce


def test_a_secret_nonce_shows_no_scalar() -> None:
    secret_nonce, _ = new_nonce()

    assert repr(secret_nonce) == "SecretNonce(used=False)"


def test_keys_that_cancel_out_are_refused() -> None:
    key = public_key(fresh(1)[0])

    with pytest.raises(SchnorrError, match="infinity"):
        add([key, Key(key.x, (-key.y) % (2**256 - 2**32 - 977))])
