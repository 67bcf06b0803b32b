"""Signing keys live in scrypt V3 keystores unlocked by a passphrase file, and never leak."""

from __future__ import annotations

import json
import logging
import pickle
import stat
from pathlib import Path

import pytest
from eth_account import Account

from publisher.eip712 import Domain, recover_signer
from publisher.errors import KeystoreError
from publisher.keys import (
    create_keystore,
    import_keystore,
    load_account,
    load_signer,
    read_passphrase,
)

FAST_SCRYPT = 2**4  # the default 2**18 costs ~1 s per operation
KEY = "0x" + "11" * 32
DOMAIN = Domain(1, "0x" + "ab" * 20)


@pytest.fixture
def passphrase_file(tmp_path: Path) -> Path:
    path = tmp_path / "passphrase"
    path.write_text("correct horse battery staple\n")
    return path


def test_created_keystore_loads_back_to_the_same_address(
    tmp_path: Path, passphrase_file: Path
) -> None:
    keystore = tmp_path / "key.json"

    address = create_keystore(keystore, passphrase_file, scrypt_n=FAST_SCRYPT)

    assert load_signer(keystore, passphrase_file).address == address


def test_keystore_uses_scrypt(tmp_path: Path, passphrase_file: Path) -> None:
    keystore = tmp_path / "key.json"
    create_keystore(keystore, passphrase_file, scrypt_n=FAST_SCRYPT)

    assert json.loads(keystore.read_text())["crypto"]["kdf"] == "scrypt"


def test_keystore_file_is_readable_by_its_owner_only(tmp_path: Path, passphrase_file: Path) -> None:
    keystore = tmp_path / "key.json"
    create_keystore(keystore, passphrase_file, scrypt_n=FAST_SCRYPT)

    assert stat.S_IMODE(keystore.stat().st_mode) == 0o600


def test_imported_key_round_trips(tmp_path: Path, passphrase_file: Path) -> None:
    keystore = tmp_path / "key.json"

    address = import_keystore(KEY, keystore, passphrase_file, scrypt_n=FAST_SCRYPT)

    assert address == Account.from_key(KEY).address
    assert load_account(keystore, passphrase_file).key == Account.from_key(KEY).key


def test_existing_keystore_is_never_overwritten(tmp_path: Path, passphrase_file: Path) -> None:
    keystore = tmp_path / "key.json"
    create_keystore(keystore, passphrase_file, scrypt_n=FAST_SCRYPT)

    with pytest.raises(KeystoreError, match="already exists"):
        create_keystore(keystore, passphrase_file, scrypt_n=FAST_SCRYPT)


def test_wrong_passphrase_is_reported_as_such(tmp_path: Path, passphrase_file: Path) -> None:
    keystore = tmp_path / "key.json"
    import_keystore(KEY, keystore, passphrase_file, scrypt_n=FAST_SCRYPT)
    wrong = tmp_path / "wrong"
    wrong.write_text("incorrect\n")

    with pytest.raises(KeystoreError, match="wrong passphrase for keystore") as raised:
        load_signer(keystore, wrong)
    assert "incorrect" not in str(raised.value)
    assert KEY[2:] not in str(raised.value)


def test_missing_passphrase_file_names_the_file(tmp_path: Path) -> None:
    with pytest.raises(KeystoreError, match=r"cannot read passphrase file .*absent"):
        read_passphrase(tmp_path / "absent")


def test_empty_passphrase_file_is_refused(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.write_text("\n")

    with pytest.raises(KeystoreError, match="is empty"):
        read_passphrase(empty)


def test_malformed_keystore_is_reported(tmp_path: Path, passphrase_file: Path) -> None:
    keystore = tmp_path / "key.json"
    keystore.write_text("{not json")

    with pytest.raises(KeystoreError, match="not JSON"):
        load_signer(keystore, passphrase_file)


async def test_private_key_never_appears_in_repr_str_logs_or_pickles(
    tmp_path: Path, passphrase_file: Path, caplog: pytest.LogCaptureFixture
) -> None:
    keystore = tmp_path / "key.json"
    import_keystore(KEY, keystore, passphrase_file, scrypt_n=FAST_SCRYPT)
    caplog.set_level(logging.DEBUG)

    signer = load_signer(keystore, passphrase_file)
    observation = await signer.sign_observation(DOMAIN, 1, 2)
    logging.getLogger("test").info("signer %s %r signed %r", signer, signer, observation)

    secret = KEY[2:]
    rendered = [repr(signer), str(signer), f"{signer}", caplog.text]
    assert all(secret not in text.lower() for text in rendered)
    assert signer.address in repr(signer)
    with pytest.raises(TypeError, match="cannot be pickled"):
        pickle.dumps(signer)


async def test_signed_observation_recovers_to_the_signer(
    tmp_path: Path, passphrase_file: Path
) -> None:
    keystore = tmp_path / "key.json"
    import_keystore(KEY, keystore, passphrase_file, scrypt_n=FAST_SCRYPT)
    signer = load_signer(keystore, passphrase_file)

    observation = await signer.sign_observation(DOMAIN, 6_412_345_000_000, 1_700_000_000)

    assert recover_signer(DOMAIN, observation) == signer.address == observation.signer
