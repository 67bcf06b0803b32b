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
from node.devstack import (
    DEMO_FEEDS,
    connect,
    deploy_feeds,
    dev_account,
    local_config_toml,
    provision_node_key,
    simulator_process,
)
from publisher.anvil import running_anvil


async def run_demo(
    folder: Path, http_port: int, rpc_port: int, simulator_port: int, round_interval_s: float
) -> None:
    stop = stop_on_signals()
    loop = asyncio.get_running_loop()
    async with simulator_process(simulator_port) as sim_url, running_anvil(port=rpc_port) as anvil:
        w3 = connect(anvil.rpc_url)
        owner = dev_account(anvil.dev_keys[0])
        run_dir = folder / f"run-{loop.time():.0f}"
        keystore, passphrase_file, node_address = await provision_node_key(
            run_dir / "keys", w3, owner
        )
        contracts = await deploy_feeds(w3, owner, DEMO_FEEDS, [node_address], quorum=1)
        config_path = run_dir / "node.toml"
        await asyncio.to_thread(
            config_path.write_text,
            local_config_toml(
                simulator_url=sim_url,
                rpc_url=anvil.rpc_url,
                keystore=keystore,
                passphrase_file=passphrase_file,
                contracts=contracts,
                journal=run_dir / "journal.db",
                http_port=http_port,
                round_interval_s=round_interval_s,
            ),
        )
        await w3.provider.disconnect()
        config = load_config(config_path)
        async with running_node(config) as node:
            print(f"HTTP       {node.http_url}/v1/feeds  (e.g. {node.http_url}/v1/feeds/BTC-USD)")
            print(f"chain RPC  {anvil.rpc_url}  (chain id {anvil.chain_id})")
            print(f"simulator  {sim_url}/_sim/truth")
            print(f"node key   {node_address}")
            for feed, address in contracts.items():
                print(f"contract   {feed:<9} {address}")
            print(f"config     {config_path}")
            print(f"journal    {config.node.journal}")
            print("Ctrl-C to stop.", flush=True)
            await stop.wait()
