"""Five independent `oracle-node run` processes, quorum 3, one contract per feed, on loopback.

One cluster for the module (simulator + anvil + 5 keys + 5 nodes, one of which reads its own
simulator whose BTC and ETH prices are x10); the tests run in order and each states one
behaviour: updates land; a node reporting x10 leaves the on-chain median honest; a relay killed
at its slot is taken over by the next slot's relay; with 2 nodes down updates still land; with
3 down none lands (quorum) and they resume when the nodes return; a relay's journal verifies
and replays exactly.
"""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import pytest_asyncio
from web3 import AsyncWeb3

from audit.journal import Journal
from node.cluster import Member, NodeProcesses, node_processes, quorum_stack, scale_scenario
from node.devstack import SIM_VENUES, connect, simulator_process
from node.peers import ObservationCheck, Peer, check_observation
from node.relay import relay_of, slot_of
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

NODES, QUORUM = 5, 3
ROUND_S, SLOT_S, HEARTBEAT_S = 1.0, 3.0, 4
FEED = "BTC/USD"
X10 = 4
"""The node whose simulator quotes BTC and ETH at ten times the price."""
ORACLE_NODE = Path(sys.executable).with_name("oracle-node")


@dataclass
class Cluster:
    members: tuple[Member, ...]
    processes: NodeProcesses
    contract: FeedContract
    w3: AsyncWeb3[Any]
    simulator_url: str
    rpc_url: str
    down: set[int]

    def signers(self) -> list[str]:
        return [m.address for m in self.members]

    async def latest(self) -> RoundData | None:
        return await latest_round(self.contract)

    async def round_id(self) -> int:
        latest = await self.latest()
        return 0 if latest is None else latest.round_id

    async def wait_round_after(self, round_id: int, timeout_s: float) -> RoundData:
        folder = self.members[0].folder.parent
        return await wait_round_after(self.contract, self.processes, folder, round_id, timeout_s)

    async def sender_of(self, round_id: int) -> str:
        """Who sent the transaction of on-chain `round_id` (NewRound's indexed startedBy)."""
        topic = "0x" + AsyncWeb3.keccak(
            text="NewRound(uint256,address,uint256)"
        ).hex().removeprefix("0x")
        logs = await self.w3.eth.get_logs(
            {
                "address": AsyncWeb3.to_checksum_address(self.contract.address),
                "fromBlock": 0,
                "topics": [topic, "0x" + round_id.to_bytes(32, "big").hex()],
            }
        )
        assert len(logs) == 1
        return AsyncWeb3.to_checksum_address(logs[0]["topics"][2][-20:])

    async def truth(self, at_s: int) -> float:
        return await true_price(self.simulator_url, FEED, at_s)

    def kill(self, index: int) -> None:
        self.processes.kill(index)
        self.down.add(index)

    async def restart(self, index: int) -> None:
        await self.processes.start(self.members[index])
        self.down.discard(index)


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def cluster(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Cluster]:
    folder = tmp_path_factory.mktemp("quorum")
    scenario = scale_scenario(folder / "x10.toml", 10.0, ["BTC/USD", "ETH/USD"], SIM_VENUES)
    async with (
        quorum_stack(folder, NODES, QUORUM) as stack,
        simulator_process(scenario=scenario) as x10_url,
        node_processes() as processes,
    ):
        for member in stack.members:
            x10 = member.index == X10
            stack.write_config(
                member,
                simulator_url=x10_url if x10 else None,
                round_interval_s=ROUND_S,
                slot_s=SLOT_S,
                heartbeat_s=HEARTBEAT_S,
                # Its own breaker would hold a value 10x the chain's: let it sign what it sees.
                extra_toml="[defaults.breaker]\nmax_deviation = 100\n" if x10 else "",
            )
            await processes.start(member)
        w3 = connect(stack.anvil.rpc_url)
        try:
            contract = await FeedContract.at(w3, stack.contracts[FEED])
            yield Cluster(
                stack.members,
                processes,
                contract,
                w3,
                stack.simulator_url,
                stack.anvil.rpc_url,
                set(),
            )
        finally:
            await w3.provider.disconnect()


async def test_five_nodes_with_quorum_three_land_updates_at_the_true_price(
    cluster: Cluster,
) -> None:
    first = await cluster.wait_round_after(0, timeout_s=60)
    later = await cluster.wait_round_after(first.round_id + 1, timeout_s=4 * SLOT_S)
    assert later.answer / 1e8 == pytest.approx(await cluster.truth(later.updated_at), rel=0.005)


async def test_every_node_serves_a_signed_observation_a_relay_accepts(cluster: Cluster) -> None:
    check = ObservationCheck(
        feed=FEED,
        domain=cluster.contract.domain(),
        signers=frozenset(cluster.signers()),
        now_s=time.time(),
        max_age_s=10,
        max_future_s=5,
        newer_than_s=0,
    )
    async with aiohttp.ClientSession() as http:
        for member in cluster.members:
            async with http.get(f"{member.url}/v1/feeds/BTC-USD/observation") as response:
                assert response.status == 200
                body = await response.json()
            accepted = check_observation(body, Peer(member.url, member.address), check)
            assert not hasattr(accepted, "reason"), accepted
            assert body["signer"] == member.address


async def test_a_node_reporting_ten_times_the_price_leaves_the_onchain_median_honest(
    cluster: Cluster,
) -> None:
    x10 = cluster.members[X10]
    url = f"{x10.url}/v1/feeds/BTC-USD/observation"
    async with aiohttp.ClientSession() as http, http.get(url) as response:
        served = float((await response.json())["value"])
    truth_now = await cluster.truth(int(time.time()))
    assert served == pytest.approx(10 * truth_now, rel=0.01)
    round_id = await cluster.round_id()
    for _ in range(3):
        latest = await cluster.wait_round_after(round_id, timeout_s=4 * SLOT_S)
        round_id = latest.round_id
        truth = await cluster.truth(latest.updated_at)
        assert latest.answer / 1e8 == pytest.approx(truth, rel=0.005)


async def test_a_relay_killed_at_its_slot_is_taken_over_by_the_next_slots_relay(
    cluster: Cluster,
) -> None:
    now = time.time()
    slot = slot_of(now, SLOT_S) + 1
    victim_address = relay_of(slot, FEED, cluster.signers())
    victim = next(m.index for m in cluster.members if m.address == victim_address)
    await asyncio.sleep(slot * SLOT_S + 0.2 - now)  # its slot has begun: kill it mid-flight
    round_at_kill = await cluster.round_id()
    cluster.kill(victim)
    killed_at = time.monotonic()
    round_id = round_at_kill
    while True:  # a report it sent before dying may still land; the take-over is what counts
        latest = await cluster.wait_round_after(round_id, timeout_s=2 * SLOT_S + 3)
        round_id = latest.round_id
        if await cluster.sender_of(round_id) != victim_address:
            break
    assert time.monotonic() - killed_at <= 2 * SLOT_S + 3


async def test_updates_still_land_with_two_nodes_down(cluster: Cluster) -> None:
    honest_up = [m.index for m in cluster.members if m.index not in cluster.down | {X10}]
    while len(cluster.down) < 2:
        cluster.kill(honest_up.pop())
    round_id = await cluster.round_id()
    for _ in range(2):
        # Slots of the dead relays pass empty: at most 2 in a row of 5.
        latest = await cluster.wait_round_after(round_id, timeout_s=4 * SLOT_S)
        round_id = latest.round_id
        assert latest.answer / 1e8 == pytest.approx(
            await cluster.truth(latest.updated_at), rel=0.005
        )


async def test_no_update_lands_with_three_nodes_down_and_updates_resume_when_they_return(
    cluster: Cluster,
) -> None:
    honest_up = [m.index for m in cluster.members if m.index not in cluster.down | {X10}]
    cluster.kill(honest_up.pop())
    assert len(cluster.down) == 3
    await asyncio.sleep(2)  # a report already on its way may still land
    frozen = await cluster.round_id()
    await asyncio.sleep(3 * SLOT_S)
    assert await cluster.round_id() == frozen
    for index in sorted(cluster.down):
        await cluster.restart(index)
    await cluster.wait_round_after(frozen, timeout_s=60)


async def test_a_relays_journal_verifies_and_replays_exactly(cluster: Cluster) -> None:
    member = cluster.members[X10]  # never stopped: it relayed in its slots all along
    await cluster.processes.stop(X10)
    cluster.down.add(X10)
    journal = await Journal.open(member.journal)
    try:
        reports = await journal.records(kind="report")
    finally:
        await journal.close()
    assert reports
    assert all(len(r.body["observations"]) >= QUORUM for r in reports)
    verified = await cli_json(
        "audit", "verify", "--journal", str(member.journal), "--rpc", cluster.rpc_url, "--json"
    )
    assert verified["findings"] == []
    replayed = await cli_json("replay", "--journal", str(member.journal), "--json")
    assert replayed["mismatches"] == []
    assert replayed["rounds"] > 10
    assert replayed["checked_on"] == "columns"  # the packed columns proved it
