"""Three `oracle-node run` processes, quorum 2, feeds deployed as OracleFeedAggregate: the
relay has the nodes co-sign each update into one Schnorr multi-signature.

One cluster for the module; the tests run in order: updates land at the true price, each
verified on chain as one signature; with a node down the other two still land updates (a
report signed by two of the three keys); a relay's journal verifies against the chain and
replays exactly.
"""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from web3 import AsyncWeb3

from audit.journal import Journal
from node.cluster import Member, NodeProcesses, node_processes, quorum_stack
from node.devstack import connect
from publisher.aggregate_report import AGGREGATE_REPORT_FORMAT
from publisher.feed_contract import FeedContract, RoundData
from tests.integration.cluster_support import (
    cli_json,
    latest_round,
    true_price,
    wait_round_after,
)

pytestmark = [
    pytest.mark.integration,
    pytest.mark.asyncio(loop_scope="module"),
    pytest.mark.timeout(120),
]

NODES, QUORUM = 3, 2
ROUND_S, SLOT_S, HEARTBEAT_S = 1.0, 3.0, 4
FEED = "BTC/USD"
ORACLE_NODE = Path(sys.executable).with_name("oracle-node")


@dataclass
class Cluster:
    members: tuple[Member, ...]
    processes: NodeProcesses
    contract: FeedContract
    w3: AsyncWeb3[Any]
    simulator_url: str
    rpc_url: str

    async def latest(self) -> RoundData | None:
        return await latest_round(self.contract)

    async def wait_round_after(self, round_id: int, timeout_s: float) -> RoundData:
        folder = self.members[0].folder.parent
        return await wait_round_after(self.contract, self.processes, folder, round_id, timeout_s)

    async def report_of(self, round_id: int) -> bytes:
        """The calldata (the report) of the transaction that made on-chain `round_id`."""
        topic = "0x" + AsyncWeb3.keccak(
            text="AnswerUpdated(int256,uint256,uint256)"
        ).hex().removeprefix("0x")
        logs = await self.w3.eth.get_logs(
            {
                "address": AsyncWeb3.to_checksum_address(self.contract.address),
                "fromBlock": 0,
                "topics": [topic, None, "0x" + round_id.to_bytes(32, "big").hex()],
            }
        )
        assert len(logs) == 1
        tx = await self.w3.eth.get_transaction(logs[0]["transactionHash"])
        return bytes(tx["input"])

    async def truth(self, at_s: int) -> float:
        return await true_price(self.simulator_url, FEED, at_s)


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def cluster(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Cluster]:
    folder = tmp_path_factory.mktemp("aggregate")
    async with (
        quorum_stack(folder, NODES, QUORUM, scheme="schnorr") as stack,
        node_processes() as processes,
    ):
        for member in stack.members:
            stack.write_config(
                member, round_interval_s=ROUND_S, slot_s=SLOT_S, heartbeat_s=HEARTBEAT_S
            )
            await processes.start(member)
        w3 = connect(stack.anvil.rpc_url)
        try:
            contract = await FeedContract.at(
                w3, stack.contracts[FEED], contract="OracleFeedAggregate"
            )
            yield Cluster(
                stack.members, processes, contract, w3, stack.simulator_url, stack.anvil.rpc_url
            )
        finally:
            await w3.provider.disconnect()


async def test_co_signed_updates_land_at_the_true_price(cluster: Cluster) -> None:
    first = await cluster.wait_round_after(0, timeout_s=60)
    later = await cluster.wait_round_after(first.round_id + 1, timeout_s=4 * SLOT_S)
    report = await cluster.report_of(later.round_id)

    assert await cluster.contract.report_format() == AGGREGATE_REPORT_FORMAT
    assert report[0] == AGGREGATE_REPORT_FORMAT
    assert report[1] >= QUORUM  # observations named, all under one signature
    assert later.answer / 1e8 == pytest.approx(await cluster.truth(later.updated_at), rel=0.005)


async def test_with_a_node_down_two_members_co_sign_and_land_updates(cluster: Cluster) -> None:
    cluster.processes.kill(2)
    latest = await cluster.latest()
    start = 0 if latest is None else latest.round_id
    # A round the killed node may still have signed for can land first: wait past it.
    landed = await cluster.wait_round_after(start + 1, timeout_s=8 * SLOT_S)
    report = await cluster.report_of(landed.round_id)

    assert (report[1], report[2]) == (2, NODES)  # 2 of the 3 members named: keys in full
    assert landed.answer / 1e8 == pytest.approx(await cluster.truth(landed.updated_at), rel=0.005)


async def test_a_relays_journal_verifies_and_replays_exactly(cluster: Cluster) -> None:
    member = cluster.members[0]
    await cluster.processes.stop(0)
    journal = await Journal.open(member.journal)
    try:
        reports = await journal.records(kind="report")
    finally:
        await journal.close()
    assert reports
    assert all(r.body["scheme"] == "schnorr" for r in reports)
    verified = await cli_json(
        "audit", "verify", "--journal", str(member.journal), "--rpc", cluster.rpc_url, "--json"
    )
    assert verified["findings"] == []
    replayed = await cli_json("replay", "--journal", str(member.journal), "--json")
    assert replayed["mismatches"] == []
    assert replayed["checked_on"] == "columns"  # the packed columns proved it
