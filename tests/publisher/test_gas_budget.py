"""What one update costs on anvil, measured through the real publishing path. The figures are
budgets that catch a regression; README ("Contract and gas") explains them against the goals
(40,000 gas with one signer: met by an ECDSA feed that emits AnswerUpdated only; 90,000 with
thirteen: met by the Schnorr feed, not by the ECDSA one, and why)."""

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


@pytest.mark.parametrize(
    ("signers", "new_round_event", "budget"),
    [(1, True, 41_000), (1, False, 40_000), (13, True, 98_300)],
)
async def test_steady_state_update_stays_within_its_gas_budget(
    w3: AsyncWeb3[Any], anvil: Anvil, signers: int, new_round_event: bool, budget: int
) -> None:
    figures = await measure_feed_gas(
        w3,
        Account.from_key(anvil.dev_keys[0]),
        signers,
        extra=3,
        new_round_event=new_round_event,
    )

    assert figures.steady <= budget
    # Overwriting a ring slot saves exactly the zero-to-nonzero premium (22,100 - 5,000).
    assert figures.first_write - figures.steady == pytest.approx(17_100, abs=200)
    # What the contract adds beyond calldata and signature recovery: two storage slots and
    # the events (13,512 with both), the dispatch and checks, about 620 per signature.
    overhead = figures.steady - figures.intrinsic - figures.ecrecover
    assert overhead <= 15_000 + 650 * signers
    assert figures.ecrecover == ECRECOVER_GAS * signers


@pytest.mark.parametrize(("signers", "budget"), [(13, 49_500), (16, 51_000)])
async def test_an_aggregate_feed_verifies_thirteen_signers_within_the_goal(
    w3: AsyncWeb3[Any], anvil: Anvil, signers: int, budget: int
) -> None:
    figures = await measure_feed_gas(
        w3, Account.from_key(anvil.dev_keys[0]), signers, extra=3, scheme="schnorr"
    )

    assert figures.steady <= budget
    # One ecrecover per report, whatever the number of signers.
    assert figures.ecrecover == ECRECOVER_GAS
    assert figures.first_write - figures.steady == pytest.approx(17_100, abs=200)
