"""`oracle-node demo`: the whole oracle on one machine, with no network.

Starts the exchange simulator and anvil as child processes, creates and funds a node key,
deploys one feed contract per feed, writes the node's config next to its journal, runs the
node, and serves until Ctrl-C, then stops every child process it started.
"""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path

from node.app import running_node, stop_on_signals
from node.cluster import node_processes, quorum_stack
from node.config import load_config
from node.devstack import local_stack


async def run_demo(
    folder: Path, http_port: int, rpc_port: int, simulator_port: int, round_interval_s: float
) -> None:
    stop = stop_on_signals()
    run_dir = folder / f"run-{asyncio.get_running_loop().time():.0f}"
    async with local_stack(run_dir, simulator_port=simulator_port, rpc_port=rpc_port) as stack:
        config_path = run_dir / "node.toml"
        toml = stack.config_toml(
            journal=run_dir / "journal.db", http_port=http_port, round_interval_s=round_interval_s
        )
        await asyncio.to_thread(config_path.write_text, toml)
        config = load_config(config_path)
        async with running_node(config) as node:
            print(f"HTTP       {node.http_url}/v1/feeds  (e.g. {node.http_url}/v1/feeds/BTC-USD)")
            print(f"chain RPC  {stack.anvil.rpc_url}  (chain id {stack.anvil.chain_id})")
            print(f"simulator  {stack.simulator_url}/_sim/truth")
            print(f"node key   {stack.node_address}")
            for feed, address in stack.contracts.items():
                print(f"contract   {feed:<9} {address}")
            print(f"config     {config_path}")
            print(f"journal    {config.node.journal}")
            print("Ctrl-C to stop.", flush=True)
            await stop.wait()


async def run_quorum_demo(
    folder: Path,
    nodes: int,
    quorum: int,
    http_port: int,
    rpc_port: int,
    simulator_port: int,
    round_interval_s: float,
    scheme: str = "ecdsa",
) -> None:
    """`demo --nodes N [--scheme schnorr]`: N node processes with their own keys, one contract per feed that
    needs `quorum` of their signatures; each node relays in its slots. Stops every child on
    SIGINT/SIGTERM, or when a node exits by itself."""
    stop = stop_on_signals()
    run_dir = folder / f"run-{asyncio.get_running_loop().time():.0f}"
    async with (
        quorum_stack(
            run_dir,
            nodes,
            quorum,
            simulator_port=simulator_port,
            rpc_port=rpc_port,
            http_port=http_port,
            scheme=scheme,
        ) as stack,
        node_processes() as processes,
    ):
        slot_s = 3 * round_interval_s
        for member in stack.members:
            stack.write_config(member, round_interval_s=round_interval_s, slot_s=slot_s)
            await processes.start(member)
        print(f"quorum     {quorum} of {nodes} signers ({scheme}), relay slot {slot_s:g} s")
        for member in stack.members:
            print(f"node {member.index}     {member.url}/v1/feeds  signer {member.address}")
        print(f"chain RPC  {stack.anvil.rpc_url}  (chain id {stack.anvil.chain_id})")
        print(f"simulator  {stack.simulator_url}/_sim/truth")
        for feed, address in stack.contracts.items():
            print(f"contract   {feed:<9} {address}")
        print(f"folder     {run_dir}  (node*/node.toml, journal.db, node.log)")
        print("Ctrl-C to stop.", flush=True)
        while not stop.is_set():
            exited = processes.exited()
            if exited:
                print(f"node(s) exited: {exited}; see their node.log. Stopping.", flush=True)
                break
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), 1.0)
