"""Request budgets: a venue is never asked more often than its limit allows, even when the
rounds come faster; what was not polled is served as it was last seen, and ages."""

from __future__ import annotations

import asyncio
import time

import pytest
from feeds_harness import FetcherFactory, Simulator, wall_clock_ms

from feeds.fetcher import NOT_POLLED_YET
from feeds.pacing import RequestBudget
from feeds.quote import FailureKind, FetchFailure, Quote
from feeds.venue import VenueSpec

pytestmark = pytest.mark.timeout(30)


class Seconds:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_a_fresh_budget_allows_one_request_now() -> None:
    budget = RequestBudget(interval_ms=500, clock=Seconds())
    assert budget.ready()
    assert budget.wait_s() == 0


async def test_a_costly_request_delays_the_next_by_its_cost() -> None:
    clock = Seconds()
    budget = RequestBudget(interval_ms=100, clock=clock)
    await budget.spend(20)  # 20 units at 10 units/s: 1.9 s of debt beyond the unit in hand
    assert not budget.ready()
    assert budget.wait_s() == pytest.approx(1.9)
    clock.now += 1.9
    assert budget.ready()


async def test_idle_time_is_credited_up_to_one_unit_only() -> None:
    clock = Seconds()
    budget = RequestBudget(interval_ms=100, clock=clock)
    clock.now += 3600.0
    await budget.spend(1)
    await budget.spend(1)
    assert budget.wait_s() == pytest.approx(0.1)
    assert (budget.requests, budget.units) == (2, 2.0)


def test_affordable_counts_requests_that_can_start_within_a_window() -> None:
    budget = RequestBudget(interval_ms=100, clock=Seconds())
    # 6 units by then (the one in hand and 5 earned); a request starts while the balance is
    # not negative, so the 7th starts at exactly 0.
    assert budget.affordable(cost=1, within_s=0.5) == 7
    assert budget.affordable(cost=10, within_s=0.5) == 1


async def test_an_unpaced_budget_never_waits() -> None:
    budget = RequestBudget(interval_ms=0, clock=Seconds())
    for _ in range(100):
        await budget.spend(80)
    assert budget.ready()


async def request_count(simulator: Simulator, venue: str) -> int:
    async with simulator.session.get(f"{simulator.base_url}/_sim/venues") as response:
        count: int = (await response.json())[venue]["requests"]
        return count


async def test_a_venue_polled_faster_than_its_limit_is_asked_once_and_its_quote_ages(
    simulator: Simulator, make_fetcher: FetcherFactory
) -> None:
    spec = VenueSpec("kraken", f"{simulator.base_url}/kraken", rate_limit_ms=60_000)
    fetcher = make_fetcher({"kraken": spec})
    # The first round pays for the markets (one unit) and still has the ticker to ask: the
    # markets were the unit in hand, the ticker waits. A roomy deadline lets it through.
    (first,) = await fetcher.fetch({"kraken": ["BTC/USD"]}, deadline_s=0.5)
    asked = await request_count(simulator, "kraken")
    rounds = [await fetcher.fetch({"kraken": ["BTC/USD"]}, deadline_s=0.5) for _ in range(3)]
    assert await request_count(simulator, "kraken") == asked
    assert all(result == [first] for result in rounds)
    assert fetcher.health()["kraken"].skipped_rounds == 3


async def test_a_market_never_polled_says_it_waits_for_the_budget(
    simulator: Simulator, make_fetcher: FetcherFactory
) -> None:
    spec = VenueSpec("kraken", f"{simulator.base_url}/kraken", rate_limit_ms=60_000)
    fetcher = make_fetcher({"kraken": spec})
    await fetcher.fetch({"kraken": ["BTC/USD"]}, deadline_s=0.5)  # markets, ticker: in debt
    (result,) = await fetcher.fetch({"kraken": ["ETH/USD"]}, deadline_s=0.5)
    assert isinstance(result, FetchFailure)
    assert (result.kind, result.reason) == (FailureKind.TEMPORARY, NOT_POLLED_YET)


async def test_a_per_market_venue_polls_what_its_budget_allows_stalest_first(
    simulator: Simulator, make_fetcher: FetcherFactory
) -> None:
    symbols = ["BTC/USD", "ETH/USD", "SOL/USD", "XRP/USD", "LTC/USD", "DOT/USD"]
    # ccxt prices a Gemini ticker at 5 units: at 40 ms a unit, one ticker per 200 ms.
    spec = VenueSpec("gemini", f"{simulator.base_url}/gemini", rate_limit_ms=40)
    fetcher = make_fetcher({"gemini": spec})
    started = time.monotonic()
    await fetcher.prepare({"gemini": symbols}, timeout_s=3.0)
    polled: list[set[str]] = []
    for _ in range(3):
        await asyncio.sleep(0.3)
        round_ms = wall_clock_ms()
        results = await fetcher.fetch({"gemini": symbols}, deadline_s=0.8)
        polled.append(
            {r.symbol for r in results if isinstance(r, Quote) and r.received_ts_ms >= round_ms}
        )
    assert 1 <= len(polled[0]) < len(symbols)
    assert polled[1]
    assert not polled[1] & polled[0]  # the markets not yet polled come first
    health = fetcher.health()["gemini"]
    elapsed_ms = (time.monotonic() - started) * 1000
    assert health.request_units <= 1 + elapsed_ms / 40 + 5  # the pace, plus one overdraft
