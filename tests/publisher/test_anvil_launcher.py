"""running_anvil starts a real dev node on a free loopback port and always stops it."""

from __future__ import annotations

import os

import pytest
from web3 import AsyncHTTPProvider, AsyncWeb3

from publisher.anvil import DEV_CHAIN_ID, Anvil, AnvilNotFoundError, find_anvil, running_anvil


async def test_anvil_answers_rpc_with_its_chain_id(anvil: Anvil) -> None:
    w3 = AsyncWeb3(AsyncHTTPProvider(anvil.rpc_url))
    try:
        assert await w3.eth.chain_id == anvil.chain_id == DEV_CHAIN_ID
    finally:
        await w3.provider.disconnect()


async def test_dev_keys_are_the_funded_accounts_anvil_reports(anvil: Anvil) -> None:
    w3 = AsyncWeb3(AsyncHTTPProvider(anvil.rpc_url))
    try:
        assert list(anvil.dev_addresses) == await w3.eth.accounts
        assert await w3.eth.get_balance(anvil.dev_addresses[0]) > 0
    finally:
        await w3.provider.disconnect()


def process_is_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


async def test_process_is_gone_after_the_block_exits() -> None:
    try:
        find_anvil()
    except AnvilNotFoundError as exc:
        pytest.skip(str(exc))
    async with running_anvil() as handle:
        pid = handle.pid
        assert process_is_alive(pid)

    assert not process_is_alive(pid)


async def test_process_is_gone_when_the_block_raises() -> None:
    try:
        find_anvil()
    except AnvilNotFoundError as exc:
        pytest.skip(str(exc))
    pids: list[int] = []

    async def use_and_fail() -> None:
        async with running_anvil() as handle:
            pids.append(handle.pid)
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        await use_and_fail()

    assert len(pids) == 1
    assert not process_is_alive(pids[0])


def test_env_variable_overrides_the_anvil_binary(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ORACLE_NODE_ANVIL", "/opt/foundry/bin/anvil")

    assert str(find_anvil()) == "/opt/foundry/bin/anvil"
