"""FeedContract against a real node (anvil): transactions, reverts and RPC failures as an
operator meets them."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from eth_account import Account
from feed_helpers import make_signers, sign_all
from web3 import AsyncHTTPProvider, AsyncWeb3

from publisher.anvil import Anvil
from publisher.errors import (
    ChainUnavailableError,
    InsufficientFundsError,
    TransactionRevertedError,
)
from publisher.feed_contract import FeedContract

pytestmark = pytest.mark.integration


@pytest.fixture
async def w3(anvil: Anvil) -> AsyncIterator[AsyncWeb3[Any]]:
    client = AsyncWeb3(AsyncHTTPProvider(anvil.rpc_url))
    yield client
    await client.provider.disconnect()


async def latest_timestamp(w3: AsyncWeb3[Any]) -> int:
    return int((await w3.eth.get_block("latest"))["timestamp"])


async def test_deploy_submit_and_read_back_on_anvil(anvil: Anvil, w3: AsyncWeb3[Any]) -> None:
    sender = Account.from_key(anvil.dev_keys[0])
    signers = make_signers(3)
    feed = await FeedContract.deploy(w3, sender, 8, "ETH / USD", [s.address for s in signers], 2)
    now = await latest_timestamp(w3)

    outcome = await feed.submit(
        await sign_all(feed.domain(), signers, [300, 100, 200], now), sender
    )

    assert (outcome.status, outcome.round_id) == (1, 1)
    assert outcome.gas_used > 0
    latest = await feed.latest_round_data()
    assert (latest.round_id, latest.answer, latest.updated_at) == (1, 200, now)
    assert feed.domain().chain_id == anvil.chain_id


async def test_refused_batch_is_decoded_from_the_node_and_costs_no_gas(
    anvil: Anvil, w3: AsyncWeb3[Any]
) -> None:
    sender = Account.from_key(anvil.dev_keys[0])
    signers = make_signers(1)
    feed = await FeedContract.deploy(w3, sender, 8, "ETH / USD", [signers[0].address], 1)
    batch = await sign_all(feed.domain(), signers, [1], await latest_timestamp(w3))
    await feed.submit(batch, sender)
    nonce_before = await w3.eth.get_transaction_count(sender.address)

    with pytest.raises(TransactionRevertedError) as raised:
        await feed.submit(batch, sender)

    assert raised.value.error_name == "StaleObservation"
    assert await w3.eth.get_transaction_count(sender.address) == nonce_before


async def test_unfunded_sender_gets_insufficient_funds(anvil: Anvil, w3: AsyncWeb3[Any]) -> None:
    owner = Account.from_key(anvil.dev_keys[0])
    signers = make_signers(1)
    feed = await FeedContract.deploy(w3, owner, 8, "ETH / USD", [signers[0].address], 1)
    batch = await sign_all(feed.domain(), signers, [1], await latest_timestamp(w3))

    with pytest.raises(InsufficientFundsError):
        await feed.submit(batch, Account.create())


async def test_unreachable_rpc_is_chain_unavailable() -> None:
    w3 = AsyncWeb3(AsyncHTTPProvider("http://127.0.0.1:9"))  # discard port: nothing listens
    try:
        with pytest.raises(ChainUnavailableError):
            await FeedContract.at(w3, "0x" + "00" * 20)
    finally:
        await w3.provider.disconnect()
