"""A local quorum of nodes: simulator + anvil + N funded keys, feeds deployed with the N-signer
set and a quorum, one config per node naming the others as peers, and the node processes.

Used by `oracle-node demo --nodes N` and the quorum integration tests. Every node is a real
`oracle-node run` process on loopback with its own key, journal and HTTP port.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sys
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from eth_account.signers.local import LocalAccount
from web3 import AsyncWeb3

from node.devstack import (
    DEMO_FEEDS,
    connect,
    deploy_aggregate_feeds,
    deploy_feeds,
    dev_account,
    local_config_toml,
    provision_node_key,
    simulator_process,
)
from publisher.anvil import Anvil, dev_private_keys, running_anvil
from publisher.keys import load_account
from publisher.schnorr import SchnorrSigner

SCHEMES = ("ecdsa", "schnorr")
"""ecdsa: OracleFeed contracts; schnorr: OracleFeedAggregate (one co-signed signature)."""


def free_port() -> int:
    """A TCP port free on loopback now (the OS's choice)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@dataclass(frozen=True, slots=True)
class Member:
    """One node of the quorum: its key (the transaction sender and the observation signer)."""

    index: int
    address: str
    keystore: Path
    passphrase_file: Path
    http_port: int
    folder: Path
    url: str = ""
    """Where the other nodes reach this one (default http://127.0.0.1:<http_port>)."""

    def __post_init__(self) -> None:
        if not self.url:
            object.__setattr__(self, "url", f"http://127.0.0.1:{self.http_port}")

    @property
    def config(self) -> Path:
        return self.folder / "node.toml"

    @property
    def journal(self) -> Path:
        return self.folder / "journal.db"

    @property
    def log(self) -> Path:
        return self.folder / "node.log"


@dataclass(frozen=True, slots=True)
class QuorumStack:
    simulator_url: str
    anvil: Anvil
    members: tuple[Member, ...]
    quorum: int
    contracts: dict[str, str]

    def write_config(
        self,
        member: Member,
        *,
        simulator_url: str | None = None,
        round_interval_s: float = 2.0,
        slot_s: float = 6.0,
        deviation: float = 0.001,
        heartbeat_s: int = 10,
        extra_toml: str = "",
    ) -> Path:
        """Write `member`'s config (every other member a peer); `simulator_url` overrides where
        this node reads its venues, `extra_toml` is appended (top-level tables only)."""
        toml = quorum_config_toml(
            member,
            self.members,
            self.contracts,
            rpc_url=self.anvil.rpc_url,
            simulator_url=simulator_url or self.simulator_url,
            round_interval_s=round_interval_s,
            slot_s=slot_s,
            deviation=deviation,
            heartbeat_s=heartbeat_s,
        )
        member.config.write_text(toml + extra_toml)
        return member.config


def quorum_config_toml(
    member: Member,
    members: Sequence[Member],
    contracts: Mapping[str, str],
    *,
    rpc_url: str,
    simulator_url: str,
    round_interval_s: float = 2.0,
    slot_s: float = 6.0,
    deviation: float = 0.001,
    heartbeat_s: int = 10,
) -> str:
    """`member`'s node config: the local feeds and chain, `[relay]`, and every other member
    as a `[[peers]]` entry."""
    toml = local_config_toml(
        simulator_url=simulator_url,
        rpc_url=rpc_url,
        keystore=member.keystore,
        passphrase_file=member.passphrase_file,
        contracts=contracts,
        journal=member.journal,
        http_port=member.http_port,
        round_interval_s=round_interval_s,
        deviation=deviation,
        heartbeat_s=heartbeat_s,
        chain_settings={"poll_interval_s": 0.2, "receipt_timeout_s": 30.0},
    )
    lines = [
        toml,
        "[relay]",
        f"slot_s = {slot_s}",
        f"peer_timeout_s = {min(1.0, round_interval_s)}",
        f"max_age_s = {max(5.0, 3 * round_interval_s)}",
        "",
    ]
    for peer in members:
        if peer.index != member.index:
            lines += ["[[peers]]", f'url = "{peer.url}"', f'signer = "{peer.address}"', ""]
    return "\n".join(lines)


async def provision_members(
    w3: AsyncWeb3[Any],
    owner: LocalAccount,
    folder: Path,
    nodes: int,
    port: Callable[[int], int],
    url: Callable[[int], str] | None = None,
) -> list[Member]:
    """`nodes` funded keys, node i in `folder/node<i>` serving on `port(i)`, reached at `url(i)`."""
    members = []
    for i in range(nodes):
        node_folder = folder / f"node{i}"
        keystore, passphrase, address = await provision_node_key(node_folder / "keys", w3, owner)
        where = "" if url is None else url(i)
        members.append(Member(i, address, keystore, passphrase, port(i), node_folder, where))
    return members


@asynccontextmanager
async def quorum_stack(
    folder: Path,
    nodes: int,
    quorum: int,
    *,
    simulator_port: int = 0,
    rpc_port: int = 0,
    http_port: int = 0,
    scheme: str = "ecdsa",
) -> AsyncIterator[QuorumStack]:
    """Start the simulator and anvil, provision `nodes` funded keys (one folder each under
    `folder`), deploy the feeds of `scheme` with that signer set and `quorum`. Node i serves
    HTTP on `http_port + i` (0: on free ports)."""
    if not 1 <= quorum <= nodes:
        raise ValueError(f"quorum {quorum} must be between 1 and the {nodes} nodes")
    async with simulator_process(simulator_port) as sim_url, running_anvil(port=rpc_port) as anvil:
        w3 = connect(anvil.rpc_url)
        try:
            owner = dev_account(anvil.dev_keys[0])
            members = await provision_members(
                w3, owner, folder, nodes, lambda i: free_port() if http_port == 0 else http_port + i
            )
            contracts = await deploy_member_feeds(w3, owner, members, quorum, scheme)
        finally:
            await w3.provider.disconnect()
        yield QuorumStack(sim_url, anvil, tuple(members), quorum, contracts)


async def deploy_member_feeds(
    w3: AsyncWeb3[Any], owner: LocalAccount, members: Sequence[Member], quorum: int, scheme: str
) -> dict[str, str]:
    """The demo feeds with `members` as the signer set, as contracts of `scheme`."""
    if scheme not in SCHEMES:
        raise ValueError(f"scheme {scheme!r}: expected one of {', '.join(SCHEMES)}")
    if scheme == "ecdsa":
        return await deploy_feeds(w3, owner, DEMO_FEEDS, [m.address for m in members], quorum)
    keys = [SchnorrSigner(bytes(load_account(m.keystore, m.passphrase_file).key)) for m in members]
    return await deploy_aggregate_feeds(w3, owner, DEMO_FEEDS, keys, quorum)


@dataclass
class NodeProcesses:
    """`oracle-node run` processes by member index; each stopped (or killed) on exit."""

    executable: Path = field(default_factory=lambda: Path(sys.executable).with_name("oracle-node"))
    running: dict[int, asyncio.subprocess.Process] = field(default_factory=dict)

    async def start(self, member: Member, env: Mapping[str, str] | None = None) -> None:
        """Start `member`'s node (its config written beforehand); output appends to its log."""
        with member.log.open("ab") as out:
            self.running[member.index] = await asyncio.create_subprocess_exec(
                str(self.executable), "run", "--config", str(member.config),
                stdin=asyncio.subprocess.DEVNULL, stdout=out, stderr=out,
                env={**os.environ, **(env or {})},
                start_new_session=True,  # Ctrl-C reaches the parent, which stops us in order
            )  # fmt: skip

    def kill(self, index: int) -> None:
        """SIGKILL: the node dies mid-whatever, as a crash would."""
        process = self.running.pop(index)
        if process.returncode is None:
            process.send_signal(signal.SIGKILL)

    async def stop(self, index: int, timeout_s: float = 15.0) -> None:
        """SIGTERM, the node's clean shutdown; SIGKILL past `timeout_s`."""
        process = self.running.pop(index)
        if process.returncode is None:
            process.terminate()
            try:
                await asyncio.wait_for(process.wait(), timeout_s)
            except TimeoutError:
                process.kill()
        await process.wait()

    def exited(self) -> dict[int, int]:
        """Members whose node exited by itself, with the exit code."""
        return {i: p.returncode for i, p in self.running.items() if p.returncode is not None}

    async def stop_all(self) -> None:
        await asyncio.gather(*(self.stop(i) for i in list(self.running)))


@asynccontextmanager
async def node_processes() -> AsyncIterator[NodeProcesses]:
    """Node processes that are all stopped when the block exits, whatever happened."""
    processes = NodeProcesses()
    async with AsyncExitStack() as stack:
        stack.push_async_callback(processes.stop_all)
        yield processes


async def setup_quorum(
    folder: Path,
    rpc_url: str,
    simulator_url: str,
    nodes: int,
    quorum: int,
    *,
    peer_url: str = "http://node{i}:8080",
    http_port: int = 8080,
    round_interval_s: float = 2.0,
    scheme: str = "ecdsa",
) -> dict[str, Any]:
    """`oracle-node setup-quorum`: on a running anvil and simulator (docker/compose.quorum.yaml),
    fund `nodes` keys, deploy the feeds with their signer set and `quorum`, and write
    `folder/node<i>/node.toml`, peers at `peer_url` (with `{i}` the node's index). Only for
    anvil (its dev account 0 pays and owns). A folder already set up is left as it is."""
    if (folder / "node0" / "node.toml").exists():
        return {"created": False, "folder": str(folder)}
    if not 1 <= quorum <= nodes:
        raise ValueError(f"quorum {quorum} must be between 1 and the {nodes} nodes")
    w3 = connect(rpc_url)
    try:
        owner = dev_account(dev_private_keys(1)[0])
        members = await provision_members(
            w3, owner, folder, nodes, lambda _: http_port, lambda i: peer_url.format(i=i)
        )
        contracts = await deploy_member_feeds(w3, owner, members, quorum, scheme)
    finally:
        await w3.provider.disconnect()
    for member in reversed(members):  # node0's config last: its presence means all are there
        toml = quorum_config_toml(
            member,
            members,
            contracts,
            rpc_url=rpc_url,
            simulator_url=simulator_url.rstrip("/"),
            round_interval_s=round_interval_s,
            slot_s=3 * round_interval_s,
        )
        staged = member.config.with_suffix(".toml.tmp")
        await asyncio.to_thread(staged.write_text, toml)
        staged.replace(member.config)
    return {
        "created": True,
        "folder": str(folder),
        "quorum": quorum,
        "scheme": scheme,
        "nodes": [{"address": m.address, "url": m.url, "config": str(m.config)} for m in members],
        "contracts": contracts,
    }


def scale_scenario(path: Path, factor: float, feeds: Sequence[str], venues: Sequence[str]) -> Path:
    """A simulator scenario where every venue quotes the markets of `feeds` (in USD and USDT)
    times `factor` from the start: a node reading it reports prices x `factor`."""
    symbols: list[str] = []
    for feed in feeds:
        base = feed.split("/")[0]
        symbols += [f"{base}/USD", f"{base}/USDT"]
    lines = ["seed = 1", ""]
    for venue in venues:
        listed = ", ".join(f'"{s}"' for s in symbols)
        lines += [
            "[[faults]]",
            f'venue = "{venue}"',
            'kind = "manipulation"',
            f"factor = {factor}",
            f"symbols = [{listed}]",
            "",
        ]
    path.write_text("\n".join(lines))
    return path


def summary(stack: QuorumStack) -> dict[str, Any]:
    """What a caller prints: nodes (address, URL), contracts, RPC, simulator."""
    return {
        "quorum": stack.quorum,
        "nodes": [{"address": m.address, "url": m.url} for m in stack.members],
        "contracts": stack.contracts,
        "rpc": stack.anvil.rpc_url,
        "chain_id": stack.anvil.chain_id,
        "simulator": stack.simulator_url,
    }
