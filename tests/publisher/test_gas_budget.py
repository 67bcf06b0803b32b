"""What one update costs on anvil, measured through the real publishing path. The figures are
budgets that catch a regression; README ("Contract and gas") explains the remaining gap to the
goals (40,000 gas with one signer, 90,000 with thirteen)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from eth_account import Account
from web3 import AsyncHTTPProvider, AsyncWeb3

from publisher.anvil import Anvil
from publisher.gas import ECRECOVER_GAS, measure_feed_gas

pytestmark = pytest.mark.integration


@pytest.fixture
async def w3(anvil: Anvil) -> AsyncIterator[AsyncWeb3[Any]]:
    client = AsyncWeb3(AsyncHTTPProvider(anvil.rpc_url))
    yield client
    await client.provider.disconnect()


@pytest.mark.parametrize(("signers", "budget"), [(1, 42_500), (13, 108_000)])
async def test_steady_state_update_stays_within_its_gas_budget(
    w3: AsyncWeb3[Any], anvil: Anvil, signers: int, budget: int
) -> None:
    figures = await measure_feed_gas(w3, Account.from_key(anvil.dev_keys[0]), signers, extra=3)

    assert figures.steady <= budget
    # Overwriting a ring slot saves exactly the zero-to-nonzero premium (22,100 - 5,000).
    assert figures.first_write - figures.steady == pytest.approx(17_100, abs=200)
    # What the contract adds beyond calldata and signature recovery, per signer and fixed.
    overhead = figures.steady - figures.intrinsic - figures.ecrecover
    assert overhead <= 16_000 + 900 * signers
    assert figures.ecrecover == ECRECOVER_GAS * signers
