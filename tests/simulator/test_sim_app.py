"""The simulator's HTTP surface: truth, venue controls, faults, and the process entry point."""

from __future__ import annotations

import asyncio
import json
import signal
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from simulator.market import RandomWalk
from simulator.server import running_simulator
from simulator.venues import VENUES

pytestmark = pytest.mark.timeout(30)

FROZEN_S = 1_700_000_000.0
REPO = Path(__file__).resolve().parents[2]


class FakeClock:
    """A clock the test moves by hand."""

    def __init__(self, now_s: float) -> None:
        self.now_s = now_s

    def __call__(self) -> float:
        return self.now_s


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(FROZEN_S)


@pytest.fixture
async def sim(clock: FakeClock) -> AsyncIterator[tuple[str, aiohttp.ClientSession]]:
    async with running_simulator(seed=1, clock=clock) as base_url, aiohttp.ClientSession() as s:
        yield base_url, s


async def test_truth_reports_every_feed_at_the_current_time(
    sim: tuple[str, aiohttp.ClientSession],
) -> None:
    base_url, session = sim
    async with session.get(f"{base_url}/_sim/truth") as response:
        body = await response.json()
    assert body["ts_ms"] == int(FROZEN_S * 1000)
    assert {"BTC/USD", "ETH/USD", "USDT/USD", "USDC/USD", "BTC/USDT", "ETH/BTC"} <= set(
        body["prices"]
    )
    listed = {symbol for venue in VENUES.values() for symbol in venue.symbols}
    assert listed <= set(body["prices"])
    assert body["prices"]["BTC/USD"] == RandomWalk(seed=1).price("BTC/USD", 0)


async def test_truth_at_a_past_time_is_the_walk_at_that_tick(
    sim: tuple[str, aiohttp.ClientSession], clock: FakeClock
) -> None:
    base_url, session = sim
    clock.now_s = FROZEN_S + 100.0
    async with session.get(f"{base_url}/_sim/truth", params={"at_ms": str(int(FROZEN_S * 1000) + 42_500)}) as response:  # fmt: skip
        body = await response.json()
    assert body["prices"]["ETH/USD"] == RandomWalk(seed=1).price("ETH/USD", 42)


async def test_truth_rejects_a_non_integer_time(sim: tuple[str, aiohttp.ClientSession]) -> None:
    base_url, session = sim
    async with session.get(f"{base_url}/_sim/truth", params={"at_ms": "soon"}) as response:
        assert response.status == 400
        assert "error" in await response.json()


async def test_control_rejects_an_unknown_fault(sim: tuple[str, aiohttp.ClientSession]) -> None:
    base_url, session = sim
    async with session.post(f"{base_url}/_sim/venues/kraken", json={"fault": "fire"}) as response:
        assert response.status == 400


async def test_control_rejects_an_unknown_venue(sim: tuple[str, aiohttp.ClientSession]) -> None:
    base_url, session = sim
    async with session.post(f"{base_url}/_sim/venues/nowhere", json={}) as response:
        assert response.status == 404


async def test_price_factor_scales_what_one_venue_shows(
    sim: tuple[str, aiohttp.ClientSession],
) -> None:
    base_url, session = sim
    url = f"{base_url}/bitstamp/api/v2/ticker/btcusd/"
    async with session.get(url) as response:
        before = float((await response.json())["bid"])
    await session.post(f"{base_url}/_sim/venues/bitstamp", json={"price_factor": 1.1})
    async with session.get(url) as response:
        after = float((await response.json())["bid"])
    assert after == pytest.approx(before * 1.1, rel=1e-4)


@pytest.mark.parametrize(
    ("fault", "status"), [("down", 503), ("http_429", 429), ("http_500", 500), ("malformed", 200)]
)
async def test_a_faulty_venue_answers_with_its_fault(
    sim: tuple[str, aiohttp.ClientSession], fault: str, status: int
) -> None:
    base_url, session = sim
    await session.post(f"{base_url}/_sim/venues/okx", json={"fault": fault})
    async with session.get(f"{base_url}/okx/api/v5/market/ticker?instId=BTC-USDT") as response:
        assert response.status == status
        with pytest.raises(json.JSONDecodeError):
            json.loads(await response.text())


async def test_a_hanging_venue_holds_the_request(sim: tuple[str, aiohttp.ClientSession]) -> None:
    base_url, session = sim
    await session.post(f"{base_url}/_sim/venues/binance", json={"fault": "timeout"})
    with pytest.raises(TimeoutError):
        async with asyncio.timeout(0.3):
            await session.get(f"{base_url}/binance/api/v3/ticker/24hr?symbol=BTCUSDT")


async def test_clearing_a_fault_restores_the_venue(sim: tuple[str, aiohttp.ClientSession]) -> None:
    base_url, session = sim
    await session.post(f"{base_url}/_sim/venues/okx", json={"fault": "down"})
    await session.post(f"{base_url}/_sim/venues/okx", json={"fault": None})
    async with session.get(f"{base_url}/okx/api/v5/market/ticker?instId=BTC-USDT") as response:
        assert response.status == 200
        assert (await response.json())["code"] == "0"


async def test_module_entry_point_prints_its_url_and_stops_on_sigterm() -> None:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "simulator", "--host", "127.0.0.1", "--port", "0", "--seed", "3",
        cwd=REPO, stdout=asyncio.subprocess.PIPE,
    )  # fmt: skip
    try:
        assert process.stdout is not None
        line = (await asyncio.wait_for(process.stdout.readline(), timeout=10)).decode()
        assert line.startswith("simulator listening on http://127.0.0.1:")
        async with (
            aiohttp.ClientSession() as session,
            session.get(f"{line.split()[-1]}/_sim/truth") as response,
        ):
            assert response.status == 200
        process.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(process.wait(), timeout=10) == 0
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
