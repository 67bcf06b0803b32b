"""`oracle-node deploy` and `oracle-node keys`: the commands that touch keys and contracts.

`deploy --scheme ecdsa` (the default) deploys an OracleFeed with signer ADDRESSES;
`deploy --scheme schnorr` deploys an OracleFeedAggregate with signer KEYS, each with its proof
of possession, as `keys address` prints them (`public_key`, `possession_proof`): every member
runs `keys address` on its own keystore and hands the two values to the deployer.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from pathlib import Path
from typing import Any

from publisher.errors import KeystoreError


def add_commands(sub: Any) -> None:
    """Register `deploy` and `keys` on the top-level parser's subparsers."""
    deploy = sub.add_parser("deploy", help="deploy a feed contract; prints its address")
    deploy.add_argument("--rpc", required=True)
    deploy.add_argument("--keystore", required=True, type=Path, help="the deployer (owner) key")
    deploy.add_argument("--passphrase-file", required=True, type=Path)
    deploy.add_argument("--feed", required=True, help="description, e.g. BTC/USD")
    deploy.add_argument("--decimals", type=int, default=8)
    deploy.add_argument(
        "--scheme",
        choices=("ecdsa", "schnorr"),
        default="ecdsa",
        help="ecdsa: OracleFeed, a signature per observation (--signer ADDRESS); schnorr: "
        "OracleFeedAggregate, one multi-signature per report (--signer-key KEY:PROOF)",
    )
    deploy.add_argument("--signer", action="append", default=[], dest="signers")
    deploy.add_argument(
        "--signer-key",
        action="append",
        default=[],
        dest="signer_keys",
        metavar="KEY:PROOF",
        help="a member's public_key:possession_proof, as `keys address` prints them",
    )
    deploy.add_argument("--quorum", type=int, default=1)
    deploy.add_argument(
        "--no-new-round",
        action="store_true",
        help="updates emit AnswerUpdated only, not Chainlink's NewRound (1,756 gas less each); "
        "for single-node feeds: audit verify --rpc reads NewRound to tell quorum relays apart",
    )
    deploy.add_argument("--json", action="store_true")

    keys = sub.add_parser("keys", help="manage the node's V3 keystore")
    keys_sub = keys.add_subparsers(dest="keys_command", required=True)
    for name, text in (
        ("new", "create a new key"),
        ("import", "encrypt an existing key into a new keystore"),
        ("address", "print a keystore's address, public key and proof of possession"),
    ):
        k = keys_sub.add_parser(name, help=text)
        k.add_argument("--keystore", required=True, type=Path)
        k.add_argument("--passphrase-file", required=True, type=Path)
        k.add_argument("--json", action="store_true")
        if name == "import":
            # A file (or stdin): a key on the command line would sit in ps and shell history.
            k.add_argument(
                "--key-file",
                required=True,
                type=Path,
                help="file holding the hex private key, '-' for stdin",
            )


def parse_signer_key(text: str) -> tuple[Any, tuple[bytes, bytes]]:
    """KEY:PROOF (hex, 64 bytes each) -> (Key, (r, vs)); the proof must hold for the key."""
    from publisher.schnorr import Key, SchnorrError, verify_possession

    key_text, _, proof_text = text.partition(":")
    try:
        key = Key.from_hex(key_text)
        proof = bytes.fromhex(proof_text.removeprefix("0x"))
    except (SchnorrError, ValueError) as exc:
        raise ValueError(f"--signer-key {text[:20]}...: {exc}") from None
    if len(proof) != 64 or not verify_possession(key, (proof[:32], proof[32:])):
        raise ValueError(f"--signer-key {key.address}: the proof of possession does not hold")
    return key, (proof[:32], proof[32:])


def deploy_command(args: argparse.Namespace) -> int:
    from node.devstack import connect
    from publisher.feed_contract import FeedContract
    from publisher.keys import load_account

    if args.scheme == "ecdsa" and (args.signer_keys or not args.signers):
        return _usage("--scheme ecdsa takes signers as --signer ADDRESS")
    if args.scheme == "schnorr" and (args.signers or not args.signer_keys):
        return _usage("--scheme schnorr takes signers as --signer-key KEY:PROOF")
    try:
        members = [parse_signer_key(text) for text in args.signer_keys]
    except ValueError as exc:
        return _usage(str(exc))

    async def deploy() -> FeedContract:
        account = load_account(args.keystore, args.passphrase_file)
        w3 = connect(args.rpc)
        try:
            if args.scheme == "schnorr":
                return await FeedContract.deploy_aggregate(
                    w3,
                    account,
                    args.decimals,
                    args.feed,
                    [key for key, _ in members],
                    [proof for _, proof in members],
                    args.quorum,
                    new_round_event=not args.no_new_round,
                )
            return await FeedContract.deploy(
                w3,
                account,
                args.decimals,
                args.feed,
                args.signers,
                args.quorum,
                new_round_event=not args.no_new_round,
            )
        finally:
            await w3.provider.disconnect()

    contract = asyncio.run(deploy())
    result = {
        "feed": args.feed,
        "address": contract.address,
        "chain_id": contract.chain_id,
        "contract": contract.contract_name,
        "decimals": args.decimals,
        "signers": args.signers or [key.address for key, _ in members],
        "quorum": args.quorum,
        "new_round_event": not args.no_new_round,
    }
    _print(args, result, contract.address)
    return 0


def _read_key(path: Path) -> str:
    """The private key in `path` ('-': stdin), stripped; errors never echo the content."""
    try:
        text = sys.stdin.read() if str(path) == "-" else path.read_text(encoding="utf-8")
    except OSError as exc:
        raise KeystoreError(f"cannot read key file {path}: {exc.strerror}") from None
    return text.strip()


def keys_command(args: argparse.Namespace) -> int:
    from publisher.keys import create_keystore, import_keystore, load_account
    from publisher.schnorr import prove_possession, public_key

    if args.keys_command == "new":
        address = create_keystore(args.keystore, args.passphrase_file)
        _print(args, {"address": address, "keystore": str(args.keystore)}, address)
        return 0
    if args.keys_command == "import":
        address = import_keystore(_read_key(args.key_file), args.keystore, args.passphrase_file)
        _print(args, {"address": address, "keystore": str(args.keystore)}, address)
        return 0
    account = load_account(args.keystore, args.passphrase_file)
    secret = int.from_bytes(bytes(account.key), "big")
    r, vs = prove_possession(secret)
    result = {
        "address": account.address,
        "keystore": str(args.keystore),
        "public_key": public_key(secret).to_hex(),
        "possession_proof": "0x" + (r + vs).hex(),
    }
    _print(args, result, account.address)
    return 0


def _usage(message: str) -> int:
    print(f"oracle-node deploy: {message}", file=sys.stderr)
    return 2


def _print(args: argparse.Namespace, data: dict[str, Any], text: str) -> None:
    print(json.dumps(data) if args.json else text, flush=True)
