"""The simulated market's truth is a pure function of (seed, tick); venues stay near it."""

from __future__ import annotations

import pytest

from simulator.market import (
    HALF_SPREAD_BPS,
    MAX_NOISE_BPS,
    USD_ASSETS,
    RandomWalk,
    venue_noise,
    venue_quote,
)

pytestmark = pytest.mark.timeout(30)


def test_same_seed_gives_the_same_path() -> None:
    first, second = RandomWalk(seed=7), RandomWalk(seed=7)
    assert [first.usd_prices(n) for n in range(0, 600, 37)] == [
        second.usd_prices(n) for n in range(0, 600, 37)
    ]


def test_different_seeds_give_different_paths() -> None:
    assert RandomWalk(seed=1).price("BTC/USD", 500) != RandomWalk(seed=2).price("BTC/USD", 500)


def test_price_at_a_tick_does_not_depend_on_what_was_asked_before() -> None:
    warmed = RandomWalk(seed=3)
    for n in range(0, 2_000, 101):
        warmed.price("ETH/USD", n)
    assert RandomWalk(seed=3).usd_prices(1_234) == warmed.usd_prices(1_234)


def test_walk_starts_at_realistic_prices() -> None:
    start = RandomWalk(seed=1).usd_prices(0)
    assert start["BTC"] == pytest.approx(60_000.0)
    assert start["ETH"] == pytest.approx(3_000.0)
    assert start["USDT"] == start["USDC"] == 1.0
    assert set(start) == set(USD_ASSETS)


def test_usdt_wobbles_tightly_around_its_peg() -> None:
    walk = RandomWalk(seed=5)
    prices = [walk.usd_prices(n)["USDT"] for n in range(0, 5_000, 7)]
    assert all(abs(price - 1.0) < 5e-4 for price in prices)
    assert len(set(prices)) > 1


def test_a_usdt_cross_is_the_usd_price_over_the_usdt_price() -> None:
    walk = RandomWalk(seed=1)
    usd = walk.usd_prices(321)
    assert walk.price("BTC/USDT", 321) == pytest.approx(usd["BTC"] / usd["USDT"], rel=1e-15)


def test_a_tick_before_the_start_is_the_start() -> None:
    walk = RandomWalk(seed=1)
    assert walk.usd_prices(-50) == walk.usd_prices(0)


def test_venue_noise_stays_within_its_bound() -> None:
    noises = [venue_noise(1, "kraken", "BTC/USD", n) for n in range(3_000)]
    assert max(abs(noise) for noise in noises) <= MAX_NOISE_BPS / 10_000
    assert len(set(noises)) > 100


def test_venue_noise_differs_between_venues() -> None:
    assert venue_noise(1, "kraken", "BTC/USD", 10) != venue_noise(1, "bitstamp", "BTC/USD", 10)


def test_venue_quote_brackets_the_noisy_truth_with_bid_below_ask() -> None:
    walk = RandomWalk(seed=1)
    bound = (1 + MAX_NOISE_BPS / 10_000) * (1 + HALF_SPREAD_BPS / 10_000) - 1
    for n in range(0, 1_000, 13):
        quote = venue_quote(walk, "binance", "ETH/USDT", n)
        truth = walk.price("ETH/USDT", n)
        assert quote.bid < quote.ask
        assert quote.bid <= quote.last <= quote.ask
        assert abs(quote.bid / truth - 1) <= bound
        assert abs(quote.ask / truth - 1) <= bound


def test_price_factor_scales_a_venue_quote() -> None:
    walk = RandomWalk(seed=1)
    plain = venue_quote(walk, "okx", "BTC/USDT", 42)
    doubled = venue_quote(walk, "okx", "BTC/USDT", 42, price_factor=2.0)
    assert doubled.mid == pytest.approx(2 * plain.mid)
