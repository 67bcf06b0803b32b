"""Scenario files: faults scheduled per venue, read from TOML or JSON, served on time."""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from simulator.faults import Fault, ScenarioError, load_scenario, venue_state
from simulator.server import running_simulator

pytestmark = pytest.mark.timeout(30)

START_S = 1_700_000_000.0
REPO = Path(__file__).resolve().parents[2]

SCENARIO_TOML = """
seed = 7
tick_s = 1.0

[[faults]]
venue = "okx"
kind = "http_429"
start_s = 10
duration_s = 20

[[faults]]
venue = "kraken"
kind = "manipulation"
factor = 1.5
symbols = ["BTC/USD"]
start_s = 5

[[faults]]
venue = "binance"
kind = "stale"
lag_s = 300
start_s = 0
duration_s = 60
"""


class FakeClock:
    def __init__(self) -> None:
        self.now_s = START_S

    def __call__(self) -> float:
        return self.now_s


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_a_toml_scenario_is_read_with_its_schedule(tmp_path: Path) -> None:
    scenario = load_scenario(write(tmp_path, "s.toml", SCENARIO_TOML))
    assert (scenario.seed, scenario.tick_s) == (7, 1.0)
    assert [(f.venue, f.kind, f.start_s, f.duration_s) for f in scenario.faults] == [
        ("okx", "http_429", 10.0, 20.0),
        ("kraken", "manipulation", 5.0, None),
        ("binance", "stale", 0.0, 60.0),
    ]


def test_a_json_scenario_reads_the_same(tmp_path: Path) -> None:
    toml = load_scenario(write(tmp_path, "s.toml", SCENARIO_TOML))
    as_json = json.dumps(toml.model_dump(mode="json"))
    assert load_scenario(write(tmp_path, "s.json", as_json)) == toml


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ('[[faults]]\nvenue = "okx"\nkind = "fire"\n', "faults.0.kind"),
        ('[[faults]]\nvenue = "okx"\nkind = "flash_crash"\n', "needs duration_s"),
        ('[[faults]]\nkind = "timeout"\n', "faults.0.venue"),
        ("seed = [", "not valid toml"),
    ],
)
def test_a_bad_scenario_says_what_is_wrong_where(tmp_path: Path, text: str, problem: str) -> None:
    with pytest.raises(ScenarioError, match=problem):
        load_scenario(write(tmp_path, "s.toml", text))


def test_a_fault_is_in_force_only_within_its_window() -> None:
    fault = Fault(venue="okx", kind="timeout", start_s=10, duration_s=5)
    assert [bool(venue_state([fault], "okx", t).faults) for t in (9.9, 10, 14.9, 15)] == [
        False, True, True, False,
    ]  # fmt: skip
    assert venue_state([fault], "kraken", 12).faults == ()


def test_a_flash_crash_falls_to_its_depth_and_recovers() -> None:
    crash = Fault(venue="okx", kind="flash_crash", depth=0.2, start_s=0, duration_s=10)
    factors = [venue_state([crash], "okx", t).price_factor("BTC/USDT") for t in (0, 5, 9.999)]
    assert factors == pytest.approx([1.0, 0.8, 1.0], abs=1e-3)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
async def scheduled(
    tmp_path: Path, clock: FakeClock
) -> AsyncIterator[tuple[str, aiohttp.ClientSession]]:
    scenario = load_scenario(write(tmp_path, "s.toml", SCENARIO_TOML))
    async with (
        running_simulator(clock=clock, scenario=scenario) as base_url,
        aiohttp.ClientSession() as session,
    ):
        yield base_url, session


async def test_a_scheduled_fault_starts_and_ends_on_time(
    scheduled: tuple[str, aiohttp.ClientSession], clock: FakeClock
) -> None:
    base_url, session = scheduled
    url = f"{base_url}/okx/api/v5/market/ticker?instId=BTC-USDT"
    statuses = []
    for elapsed in (5.0, 15.0, 31.0):
        clock.now_s = START_S + elapsed
        async with session.get(url) as response:
            statuses.append(response.status)
    assert statuses == [200, 429, 200]


async def test_a_scheduled_price_fault_touches_only_its_markets(
    scheduled: tuple[str, aiohttp.ClientSession], clock: FakeClock
) -> None:
    base_url, session = scheduled
    clock.now_s = START_S + 6.0
    async with session.get(f"{base_url}/_sim/truth") as response:
        truth = (await response.json())["prices"]
    async with session.get(f"{base_url}/kraken/0/public/Ticker?pair=XXBTZUSD,XETHZUSD") as r:
        result = (await r.json())["result"]
    assert float(result["XXBTZUSD"]["b"][0]) == pytest.approx(1.5 * truth["BTC/USD"], rel=2e-3)
    assert float(result["XETHZUSD"]["b"][0]) == pytest.approx(truth["ETH/USD"], rel=2e-3)


async def test_a_stale_venue_shows_old_prices_and_old_timestamps(
    scheduled: tuple[str, aiohttp.ClientSession], clock: FakeClock
) -> None:
    base_url, session = scheduled
    clock.now_s = START_S + 30.0
    async with session.get(f"{base_url}/binance/api/v3/ticker/24hr?symbol=BTCUSDT") as r:
        body = await r.json()
    assert int(body["closeTime"]) == int((clock.now_s - 300.0) * 1000)


async def test_the_scenario_is_listed_over_http(
    scheduled: tuple[str, aiohttp.ClientSession],
) -> None:
    base_url, session = scheduled
    async with session.get(f"{base_url}/_sim/scenario") as response:
        body = await response.json()
    assert [fault["kind"] for fault in body["faults"]] == ["http_429", "manipulation", "stale"]


async def test_the_module_entry_point_refuses_a_bad_scenario(tmp_path: Path) -> None:
    path = write(tmp_path, "bad.toml", '[[faults]]\nvenue = "nowhere"\nkind = "timeout"\n')
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "simulator", "--port", "0", "--scenario", str(path),
        cwd=REPO, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    _, stderr = await asyncio.wait_for(process.communicate(), timeout=20)
    assert process.returncode == 2
    assert b"unknown venue(s) nowhere" in stderr
