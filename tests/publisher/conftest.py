"""Fixtures for the publisher: an in-process chain (eth-tester / py-evm) per test, with
funded accounts, and a factory that deploys feeds on it."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence

import pytest
from eth_account import Account
from feed_helpers import DECIMALS, DESCRIPTION, Chain
from web3 import AsyncWeb3
from web3.providers.eth_tester import AsyncEthereumTesterProvider

from publisher.feed_contract import FeedContract
from publisher.keys import LocalSigner

DeployFeed = Callable[[Sequence[LocalSigner], int], Awaitable[FeedContract]]


@pytest.fixture
def chain() -> Chain:
    provider = AsyncEthereumTesterProvider()
    keys = provider.ethereum_tester.backend.account_keys
    return Chain(AsyncWeb3(provider), [Account.from_key(k.to_bytes()) for k in keys])


@pytest.fixture
def deploy_feed(chain: Chain) -> DeployFeed:
    """deploy_feed(signers, quorum): a feed owned by chain.owner."""

    async def deploy(signers: Sequence[LocalSigner], quorum: int) -> FeedContract:
        return await FeedContract.deploy(
            chain.w3, chain.owner, DECIMALS, DESCRIPTION, [s.address for s in signers], quorum
        )

    return deploy
