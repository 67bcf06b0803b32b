"""Signing keys: Ethereum V3 keystores (scrypt) unlocked with a passphrase FILE.

A plain private key never sits in config, env or logs: it lives encrypted on disk and, once
unlocked, only inside a `LocalSigner` (or the eth_account `LocalAccount` that sends
transactions), whose repr and str show the address alone. Errors name files, never secrets.

`Signer` is the protocol the node signs through; a remote signer (KMS, HSM, clef) implements
the same two members later. Signing is async for that reason.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Protocol

from eth_account import Account
from eth_account.signers.local import LocalAccount

from publisher.eip712 import Domain, SignedObservation, signable_observation
from publisher.errors import KeystoreError

# eth_account's default (2**18) costs ~0.8 s per unlock; tests pass a small value.
DEFAULT_SCRYPT_N = 2**18


class Signer(Protocol):
    """Something that signs observations for one address."""

    @property
    def address(self) -> str: ...

    async def sign_observation(
        self, domain: Domain, value: int, timestamp: int
    ) -> SignedObservation: ...


class LocalSigner:
    """Signs with a key held in this process. repr/str show the address only."""

    __slots__ = ("_account",)

    def __init__(self, account: LocalAccount) -> None:
        self._account = account

    @property
    def address(self) -> str:
        address: str = self._account.address
        return address

    async def sign_observation(
        self, domain: Domain, value: int, timestamp: int
    ) -> SignedObservation:
        """Sign (value, timestamp) for `domain`; the signature is 65 bytes, low s."""
        signed = self._account.sign_message(signable_observation(domain, value, timestamp))
        return SignedObservation(value, timestamp, self.address, bytes(signed.signature))

    def __repr__(self) -> str:
        return f"LocalSigner(address={self.address})"

    __str__ = __repr__

    def __reduce__(self) -> Any:
        # Pickling would write the key in clear to wherever the bytes go.
        raise TypeError("LocalSigner cannot be pickled: it holds a private key")


def read_passphrase(passphrase_file: Path) -> str:
    """The passphrase in `passphrase_file`, without its trailing newline."""
    try:
        text = Path(passphrase_file).read_text(encoding="utf-8")
    except OSError as exc:
        raise KeystoreError(
            f"cannot read passphrase file {passphrase_file}: {exc.strerror}"
        ) from None
    passphrase = text.rstrip("\r\n")
    if not passphrase:
        raise KeystoreError(f"passphrase file {passphrase_file} is empty")
    return passphrase


def create_keystore(
    keystore_path: Path, passphrase_file: Path, *, scrypt_n: int = DEFAULT_SCRYPT_N
) -> str:
    """Generate a new key, write it encrypted to `keystore_path`; return its address."""
    account: LocalAccount = Account.create()
    return _write_keystore(account, keystore_path, passphrase_file, scrypt_n)


def import_keystore(
    private_key: bytes | str,
    keystore_path: Path,
    passphrase_file: Path,
    *,
    scrypt_n: int = DEFAULT_SCRYPT_N,
) -> str:
    """Encrypt an existing key into `keystore_path`; return its address."""
    try:
        account: LocalAccount = Account.from_key(private_key)
    except (ValueError, TypeError):
        raise KeystoreError("the key to import is not a valid secp256k1 private key") from None
    return _write_keystore(account, keystore_path, passphrase_file, scrypt_n)


def load_account(keystore_path: Path, passphrase_file: Path) -> LocalAccount:
    """Unlock `keystore_path`; the account can sign transactions (the sender)."""
    try:
        keystore = json.loads(Path(keystore_path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise KeystoreError(f"cannot read keystore {keystore_path}: {exc.strerror}") from None
    except json.JSONDecodeError:
        raise KeystoreError(f"keystore {keystore_path} is not JSON") from None
    passphrase = read_passphrase(passphrase_file)
    try:
        key = Account.decrypt(keystore, passphrase)
    except ValueError:
        # eth_account says "MAC mismatch" for a wrong passphrase; say it for the operator.
        raise KeystoreError(
            f"wrong passphrase for keystore {keystore_path} (passphrase file {passphrase_file})"
        ) from None
    except (KeyError, TypeError):
        raise KeystoreError(f"keystore {keystore_path} is not a valid V3 keystore") from None
    account: LocalAccount = Account.from_key(key)
    return account


def load_signer(keystore_path: Path, passphrase_file: Path) -> LocalSigner:
    """Unlock `keystore_path` as an observation signer."""
    return LocalSigner(load_account(keystore_path, passphrase_file))


def _write_keystore(
    account: LocalAccount, keystore_path: Path, passphrase_file: Path, scrypt_n: int
) -> str:
    passphrase = read_passphrase(passphrase_file)
    keystore = Account.encrypt(account.key, passphrase, kdf="scrypt", iterations=scrypt_n)
    path = Path(keystore_path)
    if path.exists():
        raise KeystoreError(f"keystore {path} already exists; refusing to overwrite a key")
    # Created 0600 from the start: no window in which another user can read it.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        json.dump(keystore, out)
    address: str = account.address
    return address
