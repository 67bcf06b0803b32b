"""What the cluster tests share: reading a feed's rounds while node processes run, the
simulator's true price, and the CLI's JSON output."""

from __future__ import annotations

import asyncio
import json
import sys
import time
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from node.cluster import NodeProcesses
from publisher.errors import TransactionRevertedError
from publisher.feed_contract import FeedContract, RoundData

ORACLE_NODE = Path(sys.executable).with_name("oracle-node")


async def latest_round(contract: FeedContract) -> RoundData | None:
    """The feed's latest round, None before the first."""
    try:
        return await contract.latest_round_data()
    except TransactionRevertedError:  # NoDataPresent
        return None


async def wait_round_after(
    contract: FeedContract, processes: NodeProcesses, folder: Path, round_id: int, timeout_s: float
) -> RoundData:
    """The first on-chain round after `round_id`; fails the test when `timeout_s` passes first
    or a node exits by itself (its logs are under `folder`)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        exited = processes.exited()
        assert not exited, f"nodes exited: {exited}; see {folder}"
        latest = await latest_round(contract)
        if latest is not None and latest.round_id > round_id:
            return latest
        await asyncio.sleep(0.2)
    pytest.fail(f"no on-chain round after {round_id} within {timeout_s:.0f} s")


async def true_price(simulator_url: str, feed: str, at_s: int) -> float:
    """The simulator's true price of `feed` at `at_s` (unix seconds)."""
    url = f"{simulator_url}/_sim/truth?at_ms={at_s * 1000}"
    async with aiohttp.ClientSession() as http, http.get(url) as response:
        price: float = (await response.json())["prices"][feed]
        return price


async def cli_json(*args: str) -> Any:
    """`oracle-node ARGS`'s JSON output; fails the test on a non-zero exit."""
    process = await asyncio.create_subprocess_exec(
        str(ORACLE_NODE), *args, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    out, err = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode == 0, f"oracle-node {' '.join(args)}: {err.decode()[-2000:]}"
    return json.loads(out)
