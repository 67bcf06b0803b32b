"""Pure pieces of `feeds`: URL rebasing, ticker -> quote, ccxt error -> failure kind."""

from __future__ import annotations

import ccxt
import pytest

from feeds.errors import classify
from feeds.quote import FailureKind, FetchFailure, Quote
from feeds.tickers import quote_from_ticker
from feeds.venue import PriceField, VenueSpec, build_exchange, rebase_url, rebase_urls

pytestmark = pytest.mark.timeout(10)


def test_rebase_keeps_the_path_and_swaps_scheme_and_host() -> None:
    rebased = rebase_url("https://api.binance.com/api/v3", "http://127.0.0.1:9000/binance/")
    assert rebased == "http://127.0.0.1:9000/binance/api/v3"


def test_rebase_handles_ccxt_hostname_placeholders() -> None:
    assert rebase_url("https://api.{hostname}", "http://127.0.0.1:1/x") == "http://127.0.0.1:1/x"


def test_rebase_walks_nested_url_tables() -> None:
    table = {"public": "https://a.example/0", "v2": {"spot": "https://b.example/v2"}, "n": 3}
    assert rebase_urls(table, "http://h:1") == {
        "public": "http://h:1/0", "v2": {"spot": "http://h:1/v2"}, "n": 3,
    }  # fmt: skip


async def test_built_exchange_points_every_endpoint_at_the_api_url() -> None:
    exchange = build_exchange(VenueSpec("binance", "http://127.0.0.1:9/binance"), timeout_ms=500)
    try:
        urls = [url for url in exchange.urls["api"].values() if isinstance(url, str)]
        assert urls
        assert all(url.startswith("http://127.0.0.1:9/binance/") for url in urls)
        assert exchange.timeout == 500
        assert exchange.enableRateLimit is True
    finally:
        await exchange.close()


def test_venue_spec_rejects_an_unknown_exchange() -> None:
    with pytest.raises(ValueError, match="unknown ccxt exchange"):
        VenueSpec("notanexchange")


TICKER = {"bid": 99.0, "ask": 101.0, "last": 100.5, "baseVolume": 12.0, "timestamp": 1_000}


def test_mid_price_is_the_middle_of_bid_and_ask() -> None:
    quote = quote_from_ticker("v", "BTC/USD", TICKER, "mid", received_ts_ms=2_000)
    assert quote == Quote("v", "BTC/USD", 100.0, 2_000, 1_000, 99.0, 101.0, 12.0)


def test_last_price_is_the_last_trade() -> None:
    quote = quote_from_ticker("v", "BTC/USD", TICKER, "last", received_ts_ms=2_000)
    assert isinstance(quote, Quote)
    assert quote.price == 100.5


@pytest.mark.parametrize(("field", "price"), [("bid", 99.0), ("ask", 101.0)])
def test_a_source_may_quote_one_side_of_the_book(field: PriceField, price: float) -> None:
    quote = quote_from_ticker("v", "BTC/USD", TICKER, field, received_ts_ms=2_000)
    assert isinstance(quote, Quote)
    assert quote.price == price


def test_mid_never_falls_back_to_the_last_trade() -> None:
    ticker = {**TICKER, "bid": None}
    result = quote_from_ticker("v", "BTC/USD", ticker, "mid", received_ts_ms=2_000)
    assert isinstance(result, FetchFailure)
    assert (result.kind, result.reason) == (FailureKind.BAD_DATA, "ticker has no bid")


def test_a_crossed_book_still_gives_its_mid_for_the_aggregator_to_reject() -> None:
    ticker = {**TICKER, "bid": 102.0}
    quote = quote_from_ticker("v", "BTC/USD", ticker, "mid", received_ts_ms=2_000)
    assert isinstance(quote, Quote)
    assert (quote.bid, quote.ask, quote.price) == (102.0, 101.0, 101.5)


@pytest.mark.parametrize("book", [{"bid": None, "ask": None}, {"bid": 0, "ask": "0"}])
@pytest.mark.parametrize("field", ["mid", "bid", "ask"])
def test_an_empty_book_is_a_halted_market(book: dict[str, object], field: PriceField) -> None:
    result = quote_from_ticker("v", "BTC/USD", {**TICKER, **book}, field, received_ts_ms=2_000)
    assert isinstance(result, FetchFailure)
    assert result.kind is FailureKind.UNAVAILABLE
    assert "halted" in result.reason


def test_the_last_trade_is_read_without_a_book() -> None:
    ticker = {**TICKER, "bid": None, "ask": None}
    quote = quote_from_ticker("v", "BTC/USD", ticker, "last", received_ts_ms=2_000)
    assert isinstance(quote, Quote)
    assert quote.price == 100.5


@pytest.mark.parametrize(
    ("ticker", "field"),
    [({"last": None, "bid": 1.0}, "mid"), ({"last": "nan"}, "last"), ({}, "last"), (None, "mid")],
)
def test_a_ticker_without_a_usable_price_is_bad_data(ticker: object, field: PriceField) -> None:
    result = quote_from_ticker("v", "BTC/USD", ticker, field, received_ts_ms=2_000)
    assert isinstance(result, FetchFailure)
    assert result.kind is FailureKind.BAD_DATA


def test_a_venue_spec_picks_the_price_field_per_market() -> None:
    spec = VenueSpec("kraken", price="mid", prices={"USDT/USD": "last"})
    assert (spec.price_for("BTC/USD"), spec.price_for("USDT/USD")) == ("mid", "last")


@pytest.mark.parametrize(
    ("error", "kind"),
    [
        (ccxt.RequestTimeout("x"), FailureKind.TEMPORARY),
        (TimeoutError(), FailureKind.TEMPORARY),
        (ccxt.NetworkError("reset"), FailureKind.TEMPORARY),
        (ccxt.DDoSProtection("x"), FailureKind.RATE_LIMITED),
        (ccxt.RateLimitExceeded("x"), FailureKind.RATE_LIMITED),
        (ccxt.ExchangeNotAvailable("okx GET http://h/p 429 Too Many"), FailureKind.RATE_LIMITED),
        (ccxt.ExchangeNotAvailable("x"), FailureKind.UNAVAILABLE),
        (ccxt.OnMaintenance("x"), FailureKind.UNAVAILABLE),
        (ccxt.BadSymbol("x"), FailureKind.UNAVAILABLE),
        (ccxt.BadResponse("x"), FailureKind.BAD_DATA),
        (ccxt.NullResponse("x"), FailureKind.BAD_DATA),
        (TypeError("'NoneType' object is not subscriptable"), FailureKind.BAD_DATA),
    ],
)
def test_ccxt_errors_map_to_failure_kinds(error: BaseException, kind: FailureKind) -> None:
    assert classify(error, deadline_s=3.0)[0] is kind


def test_a_timeout_reason_names_the_deadline() -> None:
    assert classify(ccxt.RequestTimeout("x"), deadline_s=3.0)[1] == "timeout after 3.0s"


def test_a_rate_limit_reason_names_the_http_status() -> None:
    error = ccxt.RateLimitExceeded("kraken GET http://127.0.0.1/0/public/Ticker 429 Too Many")
    assert classify(error, deadline_s=3.0)[1] == "HTTP 429 rate limited"
