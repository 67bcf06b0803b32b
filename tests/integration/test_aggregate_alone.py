"""One `oracle-node run` process alone on aggregate feeds (OracleFeedAggregate, a set of one):
it signs each update under its own key and the updates land at the true price."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import aiohttp
import pytest

from node.cluster import node_processes, quorum_stack
from node.devstack import connect
from publisher.aggregate_report import AGGREGATE_REPORT_FORMAT
from publisher.errors import TransactionRevertedError
from publisher.feed_contract import FeedContract

pytestmark = [pytest.mark.integration, pytest.mark.timeout(120)]


async def test_a_node_alone_signs_its_aggregate_feed_and_lands_updates(tmp_path: Path) -> None:
    async with (
        quorum_stack(tmp_path, 1, 1, scheme="schnorr") as stack,
        node_processes() as processes,
    ):
        (member,) = stack.members
        stack.write_config(member, round_interval_s=1.0, heartbeat_s=2)
        await processes.start(member)
        w3 = connect(stack.anvil.rpc_url)
        try:
            feed = await FeedContract.at(
                w3, stack.contracts["BTC/USD"], contract="OracleFeedAggregate"
            )
            deadline = time.monotonic() + 60
            latest = None
            while time.monotonic() < deadline and (latest is None or latest.round_id < 2):
                assert not processes.exited(), member.log.read_text()[-3000:]
                try:
                    latest = await feed.latest_round_data()
                except TransactionRevertedError:  # NoDataPresent
                    latest = None
                await asyncio.sleep(0.2)
            assert latest is not None, member.log.read_text()[-3000:]
            assert latest.round_id >= 2
            assert await feed.report_format() == AGGREGATE_REPORT_FORMAT
            url = f"{stack.simulator_url}/_sim/truth?at_ms={latest.updated_at * 1000}"
            async with aiohttp.ClientSession() as http, http.get(url) as response:
                truth = (await response.json())["prices"]["BTC/USD"]
            assert latest.answer / 1e8 == pytest.approx(truth, rel=0.005)
        finally:
            await w3.provider.disconnect()
