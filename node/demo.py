"""`oracle-node demo`: the whole oracle on one machine, with no network.

Starts the exchange simulator and anvil as child processes, creates and funds a node key,
deploys one feed contract per feed, writes the node's config next to its journal, runs the
node, and serves until Ctrl-C, then stops every child process it started.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from node.app import running_node, stop_on_signals
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
