"""The transaction manager on anvil with faults injected for real: a dropped transaction, a
base-fee spike, a reorg, a killed RPC endpoint, an unfunded sender, a key used elsewhere."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
from eth_account import Account
from eth_account.signers.local import LocalAccount
from tx_harness import Events, OneSignerFeed, anvil_rpc, deploy_one_signer_feed, mine, rpc_proxy
from web3 import AsyncHTTPProvider, AsyncWeb3

from publisher.anvil import Anvil
from publisher.errors import InsufficientFundsError, ReceiptTimeoutError, TransactionRevertedError
from publisher.rpc import RpcPool
from publisher.tx_types import GWEI, TxSettings
from publisher.txmanager import TransactionManager

pytestmark = pytest.mark.integration

FAST = {"poll_interval_s": 0.02, "timeout_s": 30.0}


@pytest.fixture
async def w3(anvil: Anvil) -> AsyncIterator[AsyncWeb3[Any]]:
    client = AsyncWeb3(AsyncHTTPProvider(anvil.rpc_url))
    yield client
    await client.provider.disconnect()


@pytest.fixture
async def setup(w3: AsyncWeb3[Any], anvil: Anvil) -> OneSignerFeed:
    return await deploy_one_signer_feed(w3, anvil)


def sender_of(anvil: Anvil) -> LocalAccount:
    account: LocalAccount = Account.from_key(anvil.dev_keys[1])
    return account


def manager_for(
    w3: AsyncWeb3[Any],
    anvil: Anvil,
    events: Events,
    sender: LocalAccount | None = None,
    **settings: Any,
) -> TransactionManager:
    return TransactionManager(
        RpcPool([w3]),
        sender or sender_of(anvil),
        anvil.chain_id,
        TxSettings(**{**FAST, **settings}),
        on_event=events,
    )


async def test_a_dropped_transaction_is_replaced_with_higher_fees_and_lands(
    w3: AsyncWeb3[Any], anvil: Anvil, setup: OneSignerFeed
) -> None:
    events = Events()
    manager = manager_for(w3, anvil, events, bump_after_blocks=3)
    await anvil_rpc(w3, "evm_setAutomine", False)
    publishing = asyncio.create_task(setup.feed.submit(await setup.observation(w3, 100), manager))
    first = await events.wait_for("sent")

    await anvil_rpc(w3, "anvil_dropTransaction", first["tx"])
    await mine(w3, 3)
    replacement = await events.wait_for("replaced")
    await mine(w3, 1)
    outcome = await asyncio.wait_for(publishing, 10)

    assert outcome.tx_hash == replacement["tx"] != first["tx"]
    assert replacement["max_fee"] >= first["max_fee"] * 1.2
    assert (await setup.feed.latest_round_data()).answer == 100


async def test_a_base_fee_spike_is_outbid_within_the_cap(
    w3: AsyncWeb3[Any], anvil: Anvil, setup: OneSignerFeed
) -> None:
    events = Events()
    manager = manager_for(w3, anvil, events, max_fee_per_gas=1_000 * GWEI)
    await anvil_rpc(w3, "evm_setAutomine", False)
    publishing = asyncio.create_task(setup.feed.submit(await setup.observation(w3, 100), manager))
    first = await events.wait_for("sent")
    base = int((await w3.eth.get_block("latest"))["baseFeePerGas"])

    await anvil_rpc(w3, "anvil_setNextBlockBaseFeePerGas", hex(base * 100))
    await mine(w3, 3)  # the spiked block and two more: the transaction cannot pay any of them
    replacement = await events.wait_for("replaced")
    await mine(w3, 1)
    outcome = await asyncio.wait_for(publishing, 10)

    landed = await w3.eth.get_transaction(outcome.tx_hash)  # type: ignore[arg-type]
    assert outcome.tx_hash == replacement["tx"]
    assert first["max_fee"] < 100 * base < landed["maxFeePerGas"] <= 1_000 * GWEI
    assert events.of("held_at_cap") == []


async def test_at_the_fee_cap_the_transaction_is_held_with_an_alert_until_fees_fall(
    w3: AsyncWeb3[Any], anvil: Anvil, setup: OneSignerFeed
) -> None:
    events = Events()
    base = int((await w3.eth.get_block("latest"))["baseFeePerGas"])
    cap = 2 * base + 2 * GWEI
    manager = manager_for(w3, anvil, events, max_fee_per_gas=cap)
    await anvil_rpc(w3, "evm_setAutomine", False)
    publishing = asyncio.create_task(setup.feed.submit(await setup.observation(w3, 100), manager))
    await events.wait_for("sent")

    await anvil_rpc(w3, "anvil_setNextBlockBaseFeePerGas", hex(base * 100))
    await mine(w3, 3)
    alert = await events.wait_for("held_at_cap")
    assert alert["cap"] == cap
    assert alert["market_fee"] > cap
    assert not publishing.done()

    # The chain goes on with empty blocks: the base fee falls 12.5% per block, under the cap.
    for _ in range(120):
        if publishing.done():
            break
        await mine(w3, 1)
        await asyncio.sleep(0.03)
    outcome = await asyncio.wait_for(publishing, 10)
    landed = await w3.eth.get_transaction(outcome.tx_hash)  # type: ignore[arg-type]
    assert landed["maxFeePerGas"] <= cap


async def test_a_reorg_that_removes_the_transaction_resends_it_and_it_lands_once(
    w3: AsyncWeb3[Any], anvil: Anvil, setup: OneSignerFeed
) -> None:
    events = Events()
    manager = manager_for(w3, anvil, events, confirmations=4)
    await mine(w3, 5)
    await anvil_rpc(w3, "evm_setAutomine", False)
    publishing = asyncio.create_task(setup.feed.submit(await setup.observation(w3, 100), manager))
    sent = await events.wait_for("sent")
    await mine(w3, 1)
    included = await events.wait_for("included")

    await anvil_rpc(w3, "anvil_reorg", 3, [])
    await events.wait_for("reorged")
    await mine(w3, 1)
    await events.wait_for("included", count=2)
    await mine(w3, 4)
    outcome = await asyncio.wait_for(publishing, 10)

    assert outcome.tx_hash == sent["tx"]  # the same signed transaction, sent again
    assert outcome.block_number > included["block"]
    assert await setup.feed.latest_round() == 1
    assert await w3.eth.get_transaction_count(manager.address) == 1


async def test_when_the_primary_rpc_dies_the_next_update_lands_through_the_second(
    w3: AsyncWeb3[Any], anvil: Anvil, setup: OneSignerFeed
) -> None:
    async with rpc_proxy(anvil.rpc_url) as (proxy_url, proxy, seen):
        primary = AsyncWeb3(AsyncHTTPProvider(proxy_url))
        pool = RpcPool([(proxy_url, primary), (anvil.rpc_url, w3)], cooldown_s=60)
        manager = TransactionManager(pool, sender_of(anvil), anvil.chain_id, TxSettings(**FAST))
        try:
            await setup.feed.submit(await setup.observation(w3, 100), manager)
            assert "eth_sendRawTransaction" in seen

            await proxy.cleanup()  # the primary endpoint is gone
            await anvil_rpc(w3, "evm_increaseTime", hex(1))
            await mine(w3, 1)
            outcome = await setup.feed.submit(await setup.observation(w3, 200), manager)
        finally:
            await primary.provider.disconnect()

    assert outcome.round_id == 2
    assert pool.endpoints[0].failures >= 1
    assert pool.endpoints[1].failures == 0
    assert (await setup.feed.latest_round_data()).answer == 200


async def test_an_unfunded_sender_gets_a_clear_error_loses_nothing_and_resumes_once_funded(
    w3: AsyncWeb3[Any], anvil: Anvil, setup: OneSignerFeed
) -> None:
    events = Events()
    broke: LocalAccount = Account.create()
    manager = manager_for(w3, anvil, events, sender=broke)
    observations = await setup.observation(w3, 100)

    with pytest.raises(InsufficientFundsError, match="Fund the sender"):
        await setup.feed.submit(observations, manager, intent="round-7")
    assert await w3.eth.get_transaction_count(broke.address, "pending") == 0

    await anvil_rpc(w3, "anvil_setBalance", broke.address, hex(10**18))
    outcome = await setup.feed.submit(observations, manager, intent="round-7")

    assert outcome.round_id == 1
    assert await w3.eth.get_transaction_count(broke.address) == 1


async def test_the_same_intent_sent_twice_makes_one_transaction(
    w3: AsyncWeb3[Any], anvil: Anvil, setup: OneSignerFeed
) -> None:
    events = Events()
    manager = manager_for(w3, anvil, events)
    observations = await setup.observation(w3, 100)

    first, second = await asyncio.gather(
        setup.feed.submit(observations, manager), setup.feed.submit(observations, manager)
    )

    assert first.tx_hash == second.tx_hash
    assert len(events.of("sent")) == 1
    assert await w3.eth.get_transaction_count(manager.address) == 1


async def test_a_nonce_taken_by_another_process_is_resynced_from_the_chain(
    w3: AsyncWeb3[Any], anvil: Anvil, setup: OneSignerFeed
) -> None:
    events = Events()
    manager = manager_for(w3, anvil, events)
    await setup.feed.submit(await setup.observation(w3, 100), manager)
    # The same key sends a transfer behind the manager's back: its local nonce is now stale.
    sender = sender_of(anvil)
    stray = sender.sign_transaction(
        {
            "to": sender.address,
            "value": 0,
            "gas": 21_000,
            "maxFeePerGas": 10 * GWEI,
            "maxPriorityFeePerGas": GWEI,
            "nonce": 1,
            "chainId": anvil.chain_id,
            "type": 2,
        }
    )
    await w3.eth.send_raw_transaction(stray.raw_transaction)
    await anvil_rpc(w3, "evm_increaseTime", hex(1))
    await mine(w3, 1)

    outcome = await setup.feed.submit(await setup.observation(w3, 200), manager)

    assert outcome.round_id == 2
    assert [e["nonce"] for e in events.of("sent")] == [0, 2]


async def test_after_a_restart_a_transaction_left_pending_is_not_sent_twice(
    w3: AsyncWeb3[Any], anvil: Anvil, setup: OneSignerFeed
) -> None:
    observations = await setup.observation(w3, 100)
    await anvil_rpc(w3, "evm_setAutomine", False)
    before = manager_for(w3, anvil, Events(), timeout_s=0.5)
    with pytest.raises(ReceiptTimeoutError):  # the node dies with its transaction in the pool
        await setup.feed.submit(observations, before)

    events = Events()
    after = manager_for(w3, anvil, events)  # a new process: it knows nothing of the first
    resending = asyncio.create_task(setup.feed.submit(observations, after))
    await asyncio.sleep(0.2)
    assert not resending.done()  # waiting for the earlier transaction, sending nothing
    await mine(w3, 1)

    with pytest.raises(TransactionRevertedError, match="StaleObservation"):
        await asyncio.wait_for(resending, 10)
    assert events.of("sent") == []
    assert await setup.feed.latest_round() == 1
