"""Fixtures shared by every test package."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from publisher.anvil import Anvil, AnvilNotFoundError, find_anvil, running_anvil


@pytest.fixture
async def anvil() -> AsyncIterator[Anvil]:
    """A fresh anvil on a free loopback port, stopped (and reaped) after the test."""
    try:
        find_anvil()
    except AnvilNotFoundError as exc:
        pytest.skip(f"anvil unavailable: {exc}")
    async with running_anvil() as handle:
        yield handle
