"""Fetcher against the simulator on loopback: real ccxt classes, real HTTP, injected faults."""

from __future__ import annotations

import asyncio
import time

import pytest
from feeds_harness import FetcherFactory, Simulator

from feeds.quote import FailureKind, FetchFailure, Quote
from simulator.venues import VENUES

pytestmark = pytest.mark.timeout(30)

TOLERANCE = 0.002
"""A venue's quote stays within noise (5 bps) and spread of the truth; 0.2% leaves room."""
SLACK_S = 0.5
"""What `fetch` may take beyond its deadline: scheduling, closing the cancelled request."""

EVERY_SYMBOL = {venue: list(spec.symbols) for venue, spec in VENUES.items()}
NO_VOLUME = {"coinbase"}
"""Its ticker endpoint carries the last trade and the book, no 24 h volume (as recorded)."""
CONTROL = "kraken"
"""The venue left healthy while every other one is faulted."""


def quotes_only(results: list[Quote | FetchFailure]) -> list[Quote]:
    assert all(isinstance(result, Quote) for result in results), results
    return [result for result in results if isinstance(result, Quote)]


@pytest.mark.parametrize("venue", sorted(VENUES))
async def test_venue_quotes_every_listed_symbol_near_the_truth(
    simulator: Simulator, make_fetcher: FetcherFactory, venue: str
) -> None:
    fetcher = make_fetcher({venue: simulator.spec(venue)})
    quotes = quotes_only(await fetcher.fetch({venue: EVERY_SYMBOL[venue]}, deadline_s=3.0))
    assert [quote.symbol for quote in quotes] == EVERY_SYMBOL[venue]
    for quote in quotes:
        truth = (await simulator.truth(quote.received_ts_ms))[quote.symbol]
        assert quote.source == venue
        assert quote.price == pytest.approx(truth, rel=TOLERANCE)
        assert quote.bid is not None
        assert quote.ask is not None
        assert quote.bid < quote.ask
        if venue not in NO_VOLUME:
            assert quote.volume is not None
            assert quote.volume > 0


async def test_all_venues_are_fetched_in_one_call(make_fetcher: FetcherFactory) -> None:
    results = await make_fetcher().fetch(EVERY_SYMBOL, deadline_s=3.0)
    assert {(r.source, r.symbol) for r in quotes_only(results)} == {
        (venue, symbol) for venue, symbols in EVERY_SYMBOL.items() for symbol in symbols
    }


async def test_quotes_carry_the_venue_timestamp_when_it_gives_one(
    make_fetcher: FetcherFactory,
) -> None:
    results = await make_fetcher().fetch({"okx": ["BTC/USDT"], "kraken": ["BTC/USD"]}, 3.0)
    okx, kraken = quotes_only(results)
    assert okx.exchange_ts_ms is not None
    assert abs(okx.exchange_ts_ms - okx.received_ts_ms) < 5_000
    assert kraken.exchange_ts_ms is None  # Kraken's ticker has no timestamp


async def test_received_time_comes_from_the_injected_clock(
    simulator: Simulator, make_fetcher: FetcherFactory
) -> None:
    fetcher = make_fetcher({"bitstamp": simulator.spec("bitstamp")}, clock=lambda: 123_456)
    (quote,) = quotes_only(await fetcher.fetch({"bitstamp": ["BTC/USD"]}, deadline_s=3.0))
    assert quote.received_ts_ms == 123_456


@pytest.mark.parametrize(
    ("fault", "kind"),
    [
        ("down", FailureKind.UNAVAILABLE),
        ("http_500", FailureKind.UNAVAILABLE),
        ("http_429", FailureKind.RATE_LIMITED),
        ("malformed", FailureKind.BAD_DATA),
        ("timeout", FailureKind.TEMPORARY),
    ],
)
async def test_failed_venues_yield_failures_of_their_kind_while_the_others_quote(
    simulator: Simulator, make_fetcher: FetcherFactory, fault: str, kind: FailureKind
) -> None:
    fetcher = make_fetcher()
    await fetcher.fetch(EVERY_SYMBOL, deadline_s=3.0)  # markets loaded while healthy
    for venue in VENUES:
        if venue != CONTROL:
            await simulator.set_fault(venue, fault)
    deadline_s = 0.6
    started = time.monotonic()
    results = await fetcher.fetch(EVERY_SYMBOL, deadline_s=deadline_s)
    assert time.monotonic() - started < deadline_s + SLACK_S
    for venue in VENUES:
        if venue == CONTROL:
            continue
        failed = [r for r in results if r.source == venue]
        assert [r.symbol for r in failed] == EVERY_SYMBOL[venue]
        assert all(isinstance(r, FetchFailure) and r.kind is kind for r in failed), failed
    quotes_only([r for r in results if r.source == CONTROL])


async def test_a_venue_that_fails_before_its_markets_load_still_yields_failures(
    simulator: Simulator, make_fetcher: FetcherFactory
) -> None:
    await simulator.set_fault("binance", "timeout")
    started = time.monotonic()
    results = await make_fetcher().fetch({"binance": ["BTC/USDT"]}, deadline_s=0.5)
    assert time.monotonic() - started < 0.5 + SLACK_S
    (failure,) = results
    assert isinstance(failure, FetchFailure)
    assert failure.kind is FailureKind.TEMPORARY
    assert failure.reason == "timeout after 0.5s"


async def test_a_malformed_markets_reply_is_bad_data_and_is_reloaded_next_round(
    simulator: Simulator, make_fetcher: FetcherFactory
) -> None:
    fetcher = make_fetcher()
    await simulator.set_fault("bitstamp", "malformed")
    (failure,) = await fetcher.fetch({"bitstamp": ["BTC/USD"]}, deadline_s=2.0)
    assert isinstance(failure, FetchFailure)
    assert failure.kind is FailureKind.BAD_DATA
    await simulator.set_fault("bitstamp", None)
    await asyncio.sleep(1.1)  # ccxt's bitstamp reuses a markets reply for 1 s; rounds are 10 s
    quotes_only(await fetcher.fetch({"bitstamp": ["BTC/USD"]}, deadline_s=2.0))


async def test_a_symbol_the_venue_does_not_list_is_unavailable(
    make_fetcher: FetcherFactory,
) -> None:
    results = await make_fetcher().fetch({"binance": ["BTC/USDT", "BTC/USD"]}, deadline_s=3.0)
    quote, failure = results
    assert isinstance(quote, Quote)
    assert quote.symbol == "BTC/USDT"
    assert isinstance(failure, FetchFailure)
    assert (failure.symbol, failure.kind) == ("BTC/USD", FailureKind.UNAVAILABLE)


async def test_a_venue_not_configured_is_unavailable(make_fetcher: FetcherFactory) -> None:
    (failure,) = await make_fetcher().fetch({"nowhere": ["BTC/USD"]}, deadline_s=1.0)
    assert isinstance(failure, FetchFailure)
    assert (failure.source, failure.kind) == ("nowhere", FailureKind.UNAVAILABLE)


async def test_a_repeated_symbol_yields_one_result(make_fetcher: FetcherFactory) -> None:
    results = await make_fetcher().fetch({"kraken": ["BTC/USD", "BTC/USD"]}, deadline_s=3.0)
    assert len(results) == 1


async def test_a_rate_limited_venue_is_left_alone_until_its_backoff_ends(
    simulator: Simulator, make_fetcher: FetcherFactory
) -> None:
    now_ms = [1_000_000]
    fetcher = make_fetcher({"kraken": simulator.spec("kraken")}, clock=lambda: now_ms[0])
    await simulator.set_fault("kraken", "http_429")
    (first,) = await fetcher.fetch({"kraken": ["BTC/USD"]}, deadline_s=2.0)
    await simulator.set_fault("kraken", None)
    (during,) = await fetcher.fetch({"kraken": ["BTC/USD"]}, deadline_s=2.0)
    now_ms[0] += 60_000
    (after,) = await fetcher.fetch({"kraken": ["BTC/USD"]}, deadline_s=2.0)
    assert isinstance(first, FetchFailure)
    assert first.kind is FailureKind.RATE_LIMITED
    assert isinstance(during, FetchFailure)
    assert during.kind is FailureKind.RATE_LIMITED
    assert "backing off" in during.reason
    assert isinstance(after, Quote)


async def test_a_closed_fetcher_can_fetch_again(make_fetcher: FetcherFactory) -> None:
    fetcher = make_fetcher()
    await fetcher.fetch({"okx": ["BTC/USDT"]}, deadline_s=3.0)
    await fetcher.close()
    quotes_only(await fetcher.fetch({"okx": ["BTC/USDT"]}, deadline_s=3.0))
