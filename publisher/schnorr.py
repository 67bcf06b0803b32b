"""Schnorr multi-signatures over secp256k1, exactly as OracleFeedAggregate.sol verifies them.

The scheme is MuSig2 (Nick, Ruffing, Seurin 2021) with keys aggregated by plain addition,
which is sound because every key enters a signer set with a proof of possession (an ECDSA
signature by that key, checked on chain by `setSigners`): no member can pick a key that
cancels the others' (the rogue-key attack MuSig's key coefficients otherwise prevent).

Signing one report by the members S of a set:

1. each member makes a fresh nonce pair (`new_nonce`) and hands out the public half;
2. whoever relays sums the public nonces (`aggregate_nonces`) and everyone derives the same
   `Session` from the signing key (the sum of S's keys), the summed nonces and the digest;
3. each member returns its partial signature (`partial_sign`, which consumes the nonce: a
   nonce used twice would reveal the key, so a `SecretNonce` refuses a second use);
4. the relay checks each partial (`partial_verify`, which names a faulty member) and adds
   them up (`combine`): (s, R's address) is the signature.

Verification (`verify`, and the contract): s.G + e.P = R, with
e = keccak256(Px || Pparity || digest || address(R)) mod N, as in Chronicle's LibSchnorr; the
contract evaluates s.G + e.P as one ecrecover call.

Keys are affine points (x, y). Secrets are ints in [1, N); they never leave this module's
callers' memory (no repr shows them).
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass

from coincurve import PrivateKey, PublicKey
from eth_utils.address import to_checksum_address
from eth_utils.crypto import keccak

N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
P = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEFFFFFC2F
#: What a proof of possession signs: keccak256(KEY_POSSESSION_TAG || x || y).
KEY_POSSESSION_TAG = keccak(b"OracleFeedAggregate.keyPossession")
_NONCE_BINDING_TAG = keccak(b"OracleFeedAggregate.nonceBinding")


class SchnorrError(ValueError):
    """A key, nonce or signature that cannot be used (off the curve, degenerate, reused)."""


@dataclass(frozen=True, slots=True)
class Key:
    """A public point (x, y) on secp256k1."""

    x: int
    y: int

    def __post_init__(self) -> None:
        if not (0 <= self.x < P and 0 <= self.y < P) or (self.y * self.y - self.x**3 - 7) % P:
            raise SchnorrError("point is not on secp256k1")

    @property
    def parity(self) -> int:
        return self.y & 1

    @property
    def address(self) -> str:
        return to_checksum_address(keccak(self.to_bytes())[12:])

    def to_bytes(self) -> bytes:
        """x || y, 64 bytes, as the contract takes a key."""
        return self.x.to_bytes(32, "big") + self.y.to_bytes(32, "big")

    def to_hex(self) -> str:
        return "0x" + self.to_bytes().hex()

    @classmethod
    def from_bytes(cls, raw: bytes) -> Key:
        if len(raw) != 64:
            raise SchnorrError(f"a key is 64 bytes (x || y), got {len(raw)}")
        return cls(int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big"))

    @classmethod
    def from_hex(cls, text: str) -> Key:
        return cls.from_bytes(_unhex(text, "key"))

    def _point(self) -> PublicKey:
        return PublicKey.from_point(self.x, self.y)


def _unhex(text: str, what: str) -> bytes:
    try:
        return bytes.fromhex(text.removeprefix("0x"))
    except ValueError as exc:
        raise SchnorrError(f"{what} {text[:140]!r} is not hex") from exc


def _key(point: PublicKey) -> Key:
    x, y = point.point()
    return Key(x, y)


def _scalar(value: int) -> bytes:
    if not 0 < value < N:
        raise SchnorrError("scalar out of range")
    return value.to_bytes(32, "big")


def _mul_g(scalar: int) -> PublicKey:
    return PrivateKey(_scalar(scalar)).public_key


def public_key(secret: int) -> Key:
    """The key of `secret` (1 <= secret < N)."""
    return _key(_mul_g(secret))


def add(keys: Sequence[Key]) -> Key:
    """The sum of `keys` (at least one); SchnorrError if it is the point at infinity."""
    if not keys:
        raise SchnorrError("nothing to add")
    if len(keys) == 1:
        return keys[0]
    try:
        return _key(PublicKey.combine_keys([k._point() for k in keys]))
    except ValueError as exc:
        raise SchnorrError("the keys sum to the point at infinity") from exc


def _mul(key: Key, scalar: int) -> PublicKey:
    return key._point().multiply(_scalar(scalar))


# ------------------------------------------------------------------ proofs of possession


def possession_digest(key: Key) -> bytes:
    return keccak(KEY_POSSESSION_TAG + key.to_bytes())


def prove_possession(secret: int) -> tuple[bytes, bytes]:
    """The proof that the holder of `secret` knows it: an EIP-2098 compact ECDSA signature
    (r, vs) of `possession_digest`, low s, as `setSigners` checks it."""
    signature = PrivateKey(_scalar(secret)).sign_recoverable(
        possession_digest(public_key(secret)), hasher=None
    )
    r = int.from_bytes(signature[:32], "big")
    s = int.from_bytes(signature[32:64], "big")
    v = signature[64]
    if s > N // 2:
        s, v = N - s, v ^ 1
    return r.to_bytes(32, "big"), (v << 255 | s).to_bytes(32, "big")


def verify_possession(key: Key, proof: tuple[bytes, bytes]) -> bool:
    r, vs = proof
    word = int.from_bytes(vs, "big")
    s, v = word & ((1 << 255) - 1), word >> 255
    if len(r) != 32 or not 0 < s <= N // 2:
        return False
    signature = r + s.to_bytes(32, "big") + bytes([v])
    try:
        recovered = PublicKey.from_signature_and_message(
            signature, possession_digest(key), hasher=None
        )
    except ValueError:
        return False
    return _key(recovered) == key


# ------------------------------------------------------------------ MuSig2


class SecretNonce:
    """The secret half of a nonce pair; usable for exactly one partial signature."""

    __slots__ = ("_k",)

    def __init__(self, k1: int, k2: int) -> None:
        self._k: tuple[int, int] | None = (k1, k2)

    def take(self) -> tuple[int, int]:
        """The two scalars, once; SchnorrError after that (a reused nonce leaks the key)."""
        if self._k is None:
            raise SchnorrError("nonce already used: a nonce signs once")
        k, self._k = self._k, None
        return k

    @property
    def used(self) -> bool:
        return self._k is None

    def __repr__(self) -> str:
        return f"SecretNonce(used={self.used})"


@dataclass(frozen=True, slots=True)
class PublicNonce:
    r1: Key
    r2: Key

    def to_bytes(self) -> bytes:
        return self.r1.to_bytes() + self.r2.to_bytes()

    def to_hex(self) -> str:
        return "0x" + self.to_bytes().hex()

    @classmethod
    def from_hex(cls, text: str) -> PublicNonce:
        raw = _unhex(text, "nonce")
        if len(raw) != 128:
            raise SchnorrError(f"a public nonce is 128 bytes, got {len(raw)}")
        return cls(Key.from_bytes(raw[:64]), Key.from_bytes(raw[64:]))


def new_nonce() -> tuple[SecretNonce, PublicNonce]:
    """A fresh nonce pair from the operating system's CSPRNG. Never persist the secret half:
    after a crash, a new pair is made and the old session fails, which is safe."""
    k1 = secrets.randbelow(N - 1) + 1
    k2 = secrets.randbelow(N - 1) + 1
    return SecretNonce(k1, k2), PublicNonce(public_key(k1), public_key(k2))


def aggregate_nonces(nonces: Sequence[PublicNonce]) -> PublicNonce:
    return PublicNonce(add([n.r1 for n in nonces]), add([n.r2 for n in nonces]))


def challenge(key: Key, digest: bytes, r_address: str) -> int:
    """e = keccak256(Px || Pparity || digest || R's address) mod N."""
    return (
        int.from_bytes(
            keccak(
                key.x.to_bytes(32, "big")
                + bytes([key.parity])
                + digest
                + bytes.fromhex(r_address[2:])
            ),
            "big",
        )
        % N
    )


@dataclass(frozen=True, slots=True)
class Session:
    """What every co-signer of one report derives alike from the same inputs."""

    key: Key
    digest: bytes
    nonce: PublicNonce
    b: int
    r_address: str
    e: int


def session(key: Key, nonce: PublicNonce, digest: bytes) -> Session:
    """The session for signing `digest` (32 bytes) under the signing `key` with the summed
    `nonce`: b binds the nonces to the message, R = R1 + b.R2, e the challenge."""
    if len(digest) != 32:
        raise SchnorrError("a digest is 32 bytes")
    b = (
        int.from_bytes(
            keccak(_NONCE_BINDING_TAG + key.to_bytes() + nonce.to_bytes() + digest), "big"
        )
        % N
    )
    r = add([nonce.r1, _key(_mul(nonce.r2, b))])
    return Session(key, digest, nonce, b, r.address, challenge(key, digest, r.address))


def partial_sign(secret: int, nonce: SecretNonce, signing: Session) -> int:
    """This member's share: k1 + b.k2 - e.x mod N. Consumes `nonce`."""
    k1, k2 = nonce.take()
    return (k1 + signing.b * k2 - signing.e * secret) % N


def partial_verify(member: Key, nonce: PublicNonce, signing: Session, share: int) -> bool:
    """Whether `share` is `member`'s valid share for its public `nonce`: s_i.G + e.P_i equals
    R1_i + b.R2_i."""
    try:
        left = add([_key(_mul_g(share)), _key(_mul(member, signing.e))])
        right = add([nonce.r1, _key(_mul(nonce.r2, signing.b))])
    except SchnorrError:
        return False
    return left == right


def combine(shares: Sequence[int]) -> int:
    return sum(shares) % N


def verify(key: Key, digest: bytes, s: int, r_address: str) -> bool:
    """Whether (s, R's address) is a signature by `key` of `digest`: address(s.G + e.P)."""
    if not 0 < s < N or key.x >= N:
        return False
    e = challenge(key, digest, r_address)
    try:
        point = add([_key(_mul_g(s)), _key(_mul(key, e))])
    except SchnorrError:
        return False
    return point.address == to_checksum_address(r_address)


def multi_sign(secrets_: Sequence[int], digest: bytes) -> tuple[int, str]:
    """Every step of a MuSig2 signing by the members holding `secrets_`, run in one process
    (benchmarks, tests, a set whose keys one operator holds): (s, R's address) under the sum
    of their keys."""
    keys = [public_key(x) for x in secrets_]
    nonces = [new_nonce() for _ in secrets_]
    signing = session(add(keys), aggregate_nonces([n[1] for n in nonces]), digest)
    shares = [
        partial_sign(x, secret_nonce, signing)
        for x, (secret_nonce, _) in zip(secrets_, nonces, strict=True)
    ]
    for key, (_, public_nonce), share in zip(keys, nonces, shares, strict=True):
        if not partial_verify(key, public_nonce, signing, share):
            raise SchnorrError(f"share of {key.address} does not verify")
    return combine(shares), signing.r_address


class SchnorrSigner:
    """A member's Schnorr side, holding its secret: its key, and shares for sessions.
    repr and str show the address only; it cannot be pickled."""

    __slots__ = ("_secret", "key")

    def __init__(self, private_key: bytes) -> None:
        secret = int.from_bytes(private_key, "big")
        if not 0 < secret < N:
            raise SchnorrError("not a secp256k1 private key")
        self._secret = secret
        self.key = public_key(secret)

    @property
    def address(self) -> str:
        return self.key.address

    def share(self, nonce: SecretNonce, signing: Session) -> int:
        """This member's partial signature in `signing`; consumes `nonce`."""
        return partial_sign(self._secret, nonce, signing)

    def sign_alone(self, digest: bytes) -> tuple[int, str]:
        """(s, R's address) as the only signer."""
        return multi_sign([self._secret], digest)

    def possession_proof(self) -> tuple[bytes, bytes]:
        return prove_possession(self._secret)

    def __repr__(self) -> str:
        return f"SchnorrSigner(address={self.address})"

    __str__ = __repr__

    def __reduce__(self) -> str | tuple[object, ...]:
        raise TypeError("SchnorrSigner cannot be pickled: it holds a private key")
