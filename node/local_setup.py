"""`oracle-node setup-local`: provision a node against an anvil and a simulator already running.

What `oracle-node demo` does around its own child processes, for a stack whose parts run
elsewhere (the containers of docker/compose.yaml): a fresh node key (a V3 keystore and its
passphrase file, mode 600) funded from anvil's well-known dev account 0, which also deploys
and owns one contract per demo feed, and the node's config reading the simulator's venues.
Only for anvil: its dev accounts' keys are public. Running it again on a folder that already
holds a config does nothing, so a restarted one-shot container keeps its node.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path

from node.devstack import (
    DEMO_FEEDS,
    connect,
    deploy_feeds,
    dev_account,
    local_config_toml,
    provision_node_key,
)
from publisher.anvil import dev_private_keys

CONFIG_NAME = "node.toml"


@dataclass(frozen=True, slots=True)
class LocalSetup:
    config: Path
    node_address: str | None
    contracts: dict[str, str]
    created: bool


async def setup_local(
    folder: Path,
    rpc_url: str,
    simulator_url: str,
    *,
    http_port: int = 8080,
    round_interval_s: float = 2.0,
) -> LocalSetup:
    """Write `folder/node.toml` (and the key files under `folder/keys`) unless it exists."""
    config = folder / CONFIG_NAME
    if config.exists():
        return LocalSetup(config, None, {}, created=False)
    w3 = connect(rpc_url)
    try:
        owner = dev_account(dev_private_keys(1)[0])
        keystore, passphrase_file, address = await provision_node_key(folder / "keys", w3, owner)
        contracts = await deploy_feeds(w3, owner, DEMO_FEEDS, [address], quorum=1)
    finally:
        await w3.provider.disconnect()
    toml = local_config_toml(
        simulator_url=simulator_url.rstrip("/"),
        rpc_url=rpc_url,
        keystore=keystore,
        passphrase_file=passphrase_file,
        contracts=contracts,
        journal=folder / "journal.db",
        http_port=http_port,
        round_interval_s=round_interval_s,
    )
    staged = config.with_suffix(".toml.tmp")
    await asyncio.to_thread(staged.write_text, toml)
    staged.replace(config)  # the node never sees half a config
    return LocalSetup(config, address, contracts, created=True)
