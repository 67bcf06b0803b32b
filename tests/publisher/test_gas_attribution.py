"""Where an update's gas goes: opcode steps of debug_traceTransaction, attributed by kind."""

from __future__ import annotations

from dataclasses import astuple

import pytest
from eth_account import Account
from web3 import AsyncHTTPProvider, AsyncWeb3

from publisher.anvil import running_anvil
from publisher.gas import attribute_gas, trace_steady_update


def test_a_call_costs_what_it_took_from_its_frame_not_the_gas_it_offered() -> None:
    steps = [
        {"op": "PUSH1", "gas": 50_000, "gasCost": 3},
        {"op": "STATICCALL", "gas": 49_997, "gasCost": 49_000},
        {"op": "POP", "gas": 46_897, "gasCost": 2},
    ]

    assert attribute_gas(steps)["recovery"] == 3_100


def test_steps_are_attributed_by_kind() -> None:
    steps = [
        {"op": "SLOAD", "gas": 0, "gasCost": 2_100},
        {"op": "SSTORE", "gas": 0, "gasCost": 2_900},
        {"op": "KECCAK256", "gas": 0, "gasCost": 42},
        {"op": "LOG3", "gas": 0, "gasCost": 1_756},
        {"op": "MSTORE", "gas": 0, "gasCost": 6},
        {"op": "STOP", "gas": 0, "gasCost": 0},
    ]

    assert attribute_gas(steps) == {
        "recovery": 0,
        "storage": 5_000,
        "events": 1_756,
        "hashing": 42,
        "other": 6,
    }


@pytest.mark.integration
async def test_the_parts_of_a_steady_update_add_up_to_its_receipt() -> None:
    async with running_anvil(steps_tracing=True) as anvil:
        w3 = AsyncWeb3(AsyncHTTPProvider(anvil.rpc_url))
        try:
            breakdown = await trace_steady_update(w3, Account.from_key(anvil.dev_keys[0]), 2)
        finally:
            await w3.provider.disconnect()

    _, gas_used, *parts = astuple(breakdown)
    assert sum(parts) == gas_used
    assert (breakdown.recovery, breakdown.storage, breakdown.events) == (6_200, 10_000, 3_512)
