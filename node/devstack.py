"""A complete local stack for the demo and the integration tests: simulator, anvil, contracts.

Everything runs on loopback. The simulator runs as its own process, as a venue would; the
node's key is a fresh V3 keystore funded from anvil's well-known dev account, which also
owns the feed contracts.
"""

from __future__ import annotations

import asyncio
import secrets
import sys
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from eth_account import Account
from eth_account.signers.local import LocalAccount
from web3 import AsyncHTTPProvider, AsyncWeb3

from publisher.anvil import Anvil, running_anvil
from publisher.feed_contract import FeedContract
from publisher.keys import create_keystore
from publisher.schnorr import SchnorrSigner

SIM_VENUES = ("binance", "bitstamp", "bybit", "coinbaseexchange", "kraken", "okx")
USD_VENUES = ("bitstamp", "coinbaseexchange", "kraken")
DEMO_FEEDS = ("USDT/USD", "BTC/USD", "ETH/USD")


class StackError(RuntimeError):
    """A part of the local stack did not start; the message says which and shows its output."""


@asynccontextmanager
async def simulator_process(
    port: int = 0, seed: int = 1, scenario: Path | None = None
) -> AsyncIterator[str]:
    """Run `python -m simulator` as a child process; yields its base URL; stops it on exit."""
    extra = [] if scenario is None else ["--scenario", str(scenario)]
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "simulator", "--host", "127.0.0.1", "--port", str(port),
        "--seed", str(seed), *extra,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        start_new_session=True,  # a terminal's Ctrl-C goes to the node, which stops us in order
    )  # fmt: skip
    try:
        assert process.stdout is not None
        line = await asyncio.wait_for(process.stdout.readline(), 30)
        text = line.decode().strip()
        if "listening on " not in text:
            rest = await process.stdout.read()
            raise StackError(f"simulator did not start: {text} {rest.decode()[-500:]}")
        yield text.split("listening on ", 1)[1]
    finally:
        if process.returncode is None:
            process.terminate()
            try:
                await asyncio.wait_for(process.wait(), 10)
            except TimeoutError:
                process.kill()
                await process.wait()


def _new_key_files(folder: Path) -> tuple[Path, Path, str]:
    folder.mkdir(parents=True, exist_ok=True)
    passphrase_file = folder / "node.pass"
    passphrase_file.write_text(secrets.token_urlsafe(24) + "\n")
    passphrase_file.chmod(0o600)
    keystore = folder / "node.keystore.json"
    return keystore, passphrase_file, create_keystore(keystore, passphrase_file)


def connect(rpc_url: str) -> AsyncWeb3[Any]:
    return AsyncWeb3(AsyncHTTPProvider(rpc_url, request_kwargs={"timeout": 10}))


async def provision_node_key(
    folder: Path, w3: AsyncWeb3[Any], funder: LocalAccount, ether: int = 100
) -> tuple[Path, Path, str]:
    """A fresh encrypted node key in `folder`, funded with `ether`; (keystore, passphrase file, address)."""
    keystore, passphrase_file, address = await asyncio.to_thread(_new_key_files, folder)
    tx: dict[str, Any] = {
        "to": address,
        "value": ether * 10**18,
        "gas": 21_000,
        "maxFeePerGas": 100 * 10**9,
        "maxPriorityFeePerGas": 10**9,
        "nonce": await w3.eth.get_transaction_count(funder.address, "pending"),
        "chainId": await w3.eth.chain_id,
        "type": 2,
    }
    signed = funder.sign_transaction(tx)
    tx_hash = await w3.eth.send_raw_transaction(signed.raw_transaction)
    await w3.eth.wait_for_transaction_receipt(tx_hash, timeout=30)
    return keystore, passphrase_file, address


async def deploy_feeds(
    w3: AsyncWeb3[Any],
    owner: LocalAccount,
    feeds: Sequence[str],
    signers: Sequence[str],
    quorum: int,
    decimals: int = 8,
) -> dict[str, str]:
    """Deploy one OracleFeed per feed; feed -> contract address."""
    addresses = {}
    for feed in feeds:
        contract = await FeedContract.deploy(w3, owner, decimals, feed, signers, quorum)
        addresses[feed] = contract.address
    return addresses


async def deploy_aggregate_feeds(
    w3: AsyncWeb3[Any],
    owner: LocalAccount,
    feeds: Sequence[str],
    members: Sequence[SchnorrSigner],
    quorum: int,
    decimals: int = 8,
) -> dict[str, str]:
    """Deploy one OracleFeedAggregate per feed with `members`' keys (and their proofs of
    possession); feed -> contract address."""
    keys = [m.key for m in members]
    proofs = [m.possession_proof() for m in members]
    addresses = {}
    for feed in feeds:
        contract = await FeedContract.deploy_aggregate(
            w3, owner, decimals, feed, keys, proofs, quorum
        )
        addresses[feed] = contract.address
    return addresses


def dev_account(key: str) -> LocalAccount:
    account: LocalAccount = Account.from_key(key)
    return account


def local_config_toml(
    *,
    simulator_url: str,
    rpc_url: str | None,
    keystore: Path | None,
    passphrase_file: Path | None,
    contracts: Mapping[str, str],
    journal: Path,
    http_port: int,
    round_interval_s: float = 2.0,
    deviation: float = 0.001,
    heartbeat_s: int = 10,
    chain_settings: Mapping[str, float] | None = None,
) -> str:
    """A node config reading every simulator venue, with BTC/USD, ETH/USD and USDT/USD feeds;
    `chain_settings` adds keys to its `[chain]` table."""
    lines = [
        "# Generated for a local stack: simulator venues, local chain.",
        "[node]",
        f"round_interval_s = {round_interval_s}",
        "venue_deadline_s = 3.0",
        f'journal = "{journal}"',
        "",
        "[http]",
        'host = "127.0.0.1"',
        f"port = {http_port}",
        "",
        "[defaults.publish]",
        f"deviation = {deviation}",
        f"heartbeat_s = {heartbeat_s}",
        "",
    ]
    if rpc_url is not None:
        lines += [
            "[chain]",
            f'rpc_url = "{rpc_url}"',
            f'keystore = "{keystore}"',
            f'passphrase_file = "{passphrase_file}"',
            *(f"{key} = {value}" for key, value in (chain_settings or {}).items()),
            "",
        ]
    for venue in SIM_VENUES:
        lines += [f"[venues.{venue}]", f'api_url = "{simulator_url}/{venue}"', ""]
    for feed in DEMO_FEEDS:
        base = feed.split("/")[0]
        if feed == "USDT/USD":
            sources = [f"{v}:USDT/USD" for v in USD_VENUES]
        else:
            sources = [f"{v}:{base}/USD" for v in USD_VENUES]
            sources += [f"{v}:{base}/USDT" for v in SIM_VENUES if v not in USD_VENUES]
        lines += ["[[feeds]]", f'id = "{feed}"', "decimals = 8"]
        if feed in contracts:
            lines.append(f'contract = "{contracts[feed]}"')
        lines += ["sources = [" + ", ".join(f'"{s}"' for s in sources) + "]", ""]
    return "\n".join(lines)


@dataclass(frozen=True, slots=True)
class LocalStack:
    """A running simulator and anvil, a funded node key, and one deployed contract per feed."""

    simulator_url: str
    anvil: Anvil
    node_address: str
    keystore: Path
    passphrase_file: Path
    contracts: dict[str, str]

    def config_toml(self, *, journal: Path, http_port: int, **settings: Any) -> str:
        """The node's config for this stack; `settings` go to `local_config_toml`."""
        return local_config_toml(
            simulator_url=self.simulator_url,
            rpc_url=self.anvil.rpc_url,
            keystore=self.keystore,
            passphrase_file=self.passphrase_file,
            contracts=self.contracts,
            journal=journal,
            http_port=http_port,
            **settings,
        )


@asynccontextmanager
async def local_stack(
    folder: Path, *, simulator_port: int = 0, rpc_port: int = 0
) -> AsyncIterator[LocalStack]:
    """Start the simulator and anvil, provision the node's key in `folder`, deploy the feeds."""
    async with simulator_process(simulator_port) as sim_url, running_anvil(port=rpc_port) as anvil:
        w3 = connect(anvil.rpc_url)
        try:
            owner = dev_account(anvil.dev_keys[0])
            keystore, passphrase_file, address = await provision_node_key(
                folder / "keys", w3, owner
            )
            contracts = await deploy_feeds(w3, owner, DEMO_FEEDS, [address], quorum=1)
        finally:
            await w3.provider.disconnect()
        yield LocalStack(sim_url, anvil, address, keystore, passphrase_file, contracts)
