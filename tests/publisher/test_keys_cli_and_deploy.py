"""`oracle-node keys new|import|address` and `oracle-node deploy`, run as an operator would."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
from eth_account import Account
from web3 import AsyncHTTPProvider, AsyncWeb3

from node.cli import main
from publisher.anvil import Anvil
from publisher.feed_contract import FeedContract


def passphrase_file(tmp_path: Path) -> Path:
    path = tmp_path / "node.pass"
    path.write_text("correct horse battery staple\n")
    return path


async def owner_keystore(anvil: Anvil, tmp_path: Path) -> tuple[Path, Path]:
    """The anvil dev account imported as the deployer's keystore: (keystore, passphrase file)."""
    keystore, secret = tmp_path / "owner.json", passphrase_file(tmp_path)
    key_file = tmp_path / "owner.key"
    key_file.write_text(anvil.dev_keys[0])
    await asyncio.to_thread(
        main,
        ["keys", "import", "--keystore", str(keystore), "--passphrase-file", str(secret),
         "--key-file", str(key_file)],
    )  # fmt: skip
    return keystore, secret


def run_cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_keys_new_writes_a_scrypt_v3_keystore_that_keys_address_reads(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    keystore, secret = tmp_path / "node.json", passphrase_file(tmp_path)

    code, out, _ = run_cli(
        capsys,
        "keys",
        "new",
        "--keystore",
        str(keystore),
        "--passphrase-file",
        str(secret),
        "--json",
    )
    created = json.loads(out)
    _, shown, _ = run_cli(
        capsys, "keys", "address", "--keystore", str(keystore), "--passphrase-file", str(secret)
    )

    stored = json.loads(keystore.read_text())
    assert code == 0
    assert (stored["version"], stored["crypto"]["kdf"]) == (3, "scrypt")
    assert keystore.stat().st_mode & 0o777 == 0o600
    assert shown.strip() == created["address"]


def test_keys_import_encrypts_a_key_from_a_file_and_never_prints_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    account = Account.create()
    key_hex = account.key.hex()
    key_file = tmp_path / "plain.key"
    key_file.write_text(key_hex + "\n")
    keystore, secret = tmp_path / "imported.json", passphrase_file(tmp_path)

    code, out, err = run_cli(
        capsys,
        "keys", "import", "--keystore", str(keystore), "--passphrase-file", str(secret),
        "--key-file", str(key_file), "--json",
    )  # fmt: skip

    assert code == 0
    assert json.loads(out)["address"] == account.address
    assert key_hex.removeprefix("0x") not in out + err + keystore.read_text()


def test_keys_import_of_a_bad_key_fails_without_echoing_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    key_file = tmp_path / "bad.key"
    key_file.write_text("not-a-key-but-maybe-a-secret\n")

    code, out, err = run_cli(
        capsys,
        "keys", "import", "--keystore", str(tmp_path / "k.json"),
        "--passphrase-file", str(passphrase_file(tmp_path)), "--key-file", str(key_file),
    )  # fmt: skip

    assert code == 1
    assert "not a valid secp256k1 private key" in err
    assert "maybe-a-secret" not in out + err


@pytest.mark.integration
async def test_deploy_prints_the_address_as_json_and_the_contract_has_the_signer_set(
    anvil: Anvil, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    keystore, secret = tmp_path / "owner.json", passphrase_file(tmp_path)
    key_file = tmp_path / "owner.key"
    key_file.write_text(anvil.dev_keys[0])
    signers = [Account.create().address for _ in range(3)]
    await asyncio.to_thread(
        main,
        ["keys", "import", "--keystore", str(keystore), "--passphrase-file", str(secret),
         "--key-file", str(key_file)],
    )  # fmt: skip
    capsys.readouterr()

    argv = ["deploy", "--rpc", anvil.rpc_url, "--keystore", str(keystore),
            "--passphrase-file", str(secret), "--feed", "BTC/USD", "--quorum", "2", "--json"]  # fmt: skip
    for signer in signers:
        argv += ["--signer", signer]
    code = await asyncio.to_thread(main, argv)
    printed: dict[str, Any] = json.loads(capsys.readouterr().out)

    assert code == 0
    assert (printed["chain_id"], printed["quorum"]) == (anvil.chain_id, 2)
    w3 = AsyncWeb3(AsyncHTTPProvider(anvil.rpc_url))
    try:
        feed = await FeedContract.at(w3, printed["address"])
        assert await feed.signers() == signers
        assert await feed.quorum() == 2
        assert await feed.description() == "BTC/USD"
    finally:
        await w3.provider.disconnect()


@pytest.mark.integration
async def test_deploy_without_new_round_makes_a_feed_that_emits_answer_updated_only(
    anvil: Anvil, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    keystore, secret = await owner_keystore(anvil, tmp_path)
    capsys.readouterr()

    code = await asyncio.to_thread(
        main,
        ["deploy", "--rpc", anvil.rpc_url, "--keystore", str(keystore), "--passphrase-file",
         str(secret), "--feed", "ETH/USD", "--signer", Account.create().address,
         "--no-new-round", "--json"],
    )  # fmt: skip
    printed: dict[str, Any] = json.loads(capsys.readouterr().out)

    assert (code, printed["new_round_event"]) == (0, False)
    w3 = AsyncWeb3(AsyncHTTPProvider(anvil.rpc_url))
    try:
        assert await (await FeedContract.at(w3, printed["address"])).emits_new_round() is False
    finally:
        await w3.provider.disconnect()


def member_keystore(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str
) -> dict[str, Any]:
    """A member's new keystore and what `keys address --json` prints of it."""
    keystore, secret = tmp_path / f"{name}.json", passphrase_file(tmp_path)
    run_cli(capsys, "keys", "new", "--keystore", str(keystore), "--passphrase-file", str(secret))
    _, out, _ = run_cli(
        capsys, "keys", "address", "--keystore", str(keystore),
        "--passphrase-file", str(secret), "--json",
    )  # fmt: skip
    shown: dict[str, Any] = json.loads(out)
    return shown


def test_keys_address_prints_a_public_key_and_a_proof_that_holds_for_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from publisher.schnorr import Key, verify_possession

    shown = member_keystore(tmp_path, capsys, "member")

    key = Key.from_hex(shown["public_key"])
    proof = bytes.fromhex(shown["possession_proof"][2:])
    assert key.address == shown["address"]
    assert verify_possession(key, (proof[:32], proof[32:]))


def test_deploy_refuses_a_signer_key_whose_proof_is_another_keys(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    first = member_keystore(tmp_path, capsys, "first")
    second = member_keystore(tmp_path, capsys, "second")

    code, _, err = run_cli(
        capsys, "deploy", "--rpc", "http://127.0.0.1:9", "--keystore", "unused.json",
        "--passphrase-file", "unused.pass", "--feed", "BTC/USD", "--scheme", "schnorr",
        "--signer-key", f"{first['public_key']}:{second['possession_proof']}",
    )  # fmt: skip

    assert code == 2
    assert f"--signer-key {first['address']}: the proof of possession does not hold" in err


async def test_deploy_schnorr_makes_an_aggregate_feed_with_the_members_keys(
    anvil: Anvil, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from publisher.schnorr import Key

    keystore, secret = await owner_keystore(anvil, tmp_path)
    members = [member_keystore(tmp_path, capsys, f"member{i}") for i in range(3)]
    capsys.readouterr()

    argv = ["deploy", "--rpc", anvil.rpc_url, "--keystore", str(keystore),
            "--passphrase-file", str(secret), "--feed", "BTC/USD", "--scheme", "schnorr",
            "--quorum", "2", "--json"]  # fmt: skip
    for member in members:
        argv += ["--signer-key", f"{member['public_key']}:{member['possession_proof']}"]
    code = await asyncio.to_thread(main, argv)
    printed: dict[str, Any] = json.loads(capsys.readouterr().out)

    assert (code, printed["contract"]) == (0, "OracleFeedAggregate")
    w3 = AsyncWeb3(AsyncHTTPProvider(anvil.rpc_url))
    try:
        feed = await FeedContract.at(w3, printed["address"], contract="OracleFeedAggregate")
        assert await feed.signer_keys() == [Key.from_hex(m["public_key"]) for m in members]
        assert await feed.signers() == [m["address"] for m in members] == printed["signers"]
        assert await feed.quorum() == 2
    finally:
        await w3.provider.disconnect()
