"""The simulator speaks the venues' recorded wire formats, and ccxt reads the recordings.

Recordings: `../shared/fixtures/exchanges/<id>.json` beside the repository (ccxt's own static
test data). For each venue: the simulator's ticker body for the recorded market has the
recorded body's structure (keys, nesting, string vs number); ccxt's real `fetch_ticker`, fed
the recorded body over HTTP, returns the recorded prices; and the simulator serves the path
ccxt was recorded requesting.

Bitfinex is the exception the recordings force: its recorded body is a legacy v1 payload that
the current (v2) ccxt class no longer reads. Its v2 request URLs are recorded, and checked.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from feeds_harness import Simulator

from feeds.venue import VenueSpec, build_exchange
from simulator.server import start_simulator
from simulator.venues import VENUES

pytestmark = pytest.mark.timeout(30)

FIXTURES = Path(__file__).resolve().parents[2] / ".." / "shared" / "fixtures" / "exchanges"

# The ticker request ccxt makes for the recorded spot market, relative to the venue's API root.
TICKER_PATH = {
    "binance": "/api/v3/ticker/24hr?symbol=BTCUSDT",
    "bitfinex": "/v2/ticker/tBTCUST",
    "bitget": "/api/v2/spot/market/tickers?symbol=BTCUSDT",
    "bitstamp": "/api/v2/ticker/btcusdt/",
    "bybit": "/v5/market/tickers?category=spot&symbol=BTCUSDT",
    "coinbase": "/api/v3/brokerage/market/products/BTC-USDC/ticker?limit=1",
    "coinbaseexchange": "/products/BTC-USDT/ticker",
    "cryptocom": "/exchange/v1/public/get-tickers?instrument_name=BTC_USDT",
    "gate": "/api/v4/spot/tickers?currency_pair=BTC_USDT",
    "gemini": "/v1/pubticker/btcusdt",
    "htx": "/market/detail/merged?symbol=btcusdt",
    "kraken": "/0/public/Ticker?pair=XBTUSDT",
    "kucoin": "/api/v1/market/stats?symbol=BTC-USDT",
    "mexc": "/api/v3/ticker/24hr?symbol=BTCUSDT",
    "okx": "/api/v5/market/ticker?instId=BTC-USDT",
}
LEGACY_RECORDING = {"bitfinex"}
RECORDED_BODIES = sorted(set(VENUES) - LEGACY_RECORDING)

# ccxt's recorded coinbase request predates its public endpoints: the same path, without the
# `/market` segment that public (keyless) reads go through.
RECORDED_PATH_ALIAS = {"coinbase": ("/brokerage/market/", "/brokerage/")}

# The recorded bybit ticker is a linear perpetual's (category=linear); a spot ticker lacks the
# derivative fields and adds usdIndexPrice. Its retCode and time are recorded as strings there
# but as integers in the recorded fetchTickers body, which is what Bybit's API sends.
BYBIT_LINEAR_ONLY = {
    "indexPrice", "markPrice", "prevPrice1h", "openInterest", "openInterestValue", "fundingRate",
    "nextFundingTime", "predictedDeliveryPrice", "basisRate", "deliveryFeeRate", "deliveryTime",
    "basis",
}  # fmt: skip
BYBIT_SPOT_ONLY = {"usdIndexPrice": "str"}

PRICE_FIELDS = ("symbol", "last", "bid", "ask", "baseVolume", "timestamp")


def recording(venue: str) -> dict[str, Any]:
    path = FIXTURES / f"{venue}.json"
    if not FIXTURES.is_dir():
        pytest.skip(f"recorded exchange fixtures not found at {FIXTURES.resolve()}")
    recorded: dict[str, Any] = json.loads(path.read_text())
    return recorded


def spot_ticker(venue: str) -> dict[str, Any]:
    """The venue's first recorded `fetchTicker` of a spot market with no extra parameters.

    Bybit recorded only a linear perpetual's ticker: that one, then.
    """
    entries = recording(venue)["responses"]["fetchTicker"]
    spot = [e for e in entries if len(e["input"]) == 1 and ":" not in e["input"][0]]
    entry: dict[str, Any] = (spot or entries)[0]
    return entry


def shape(value: Any) -> Any:
    """The structure of a JSON value: keys and nesting kept, leaves replaced by their type."""
    if isinstance(value, dict):
        return {key: shape(item) for key, item in value.items()}
    if isinstance(value, list):
        return [shape(item) for item in value]
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return "number"
    return "null" if value is None else "str"


def expected_shape(venue: str, recorded_body: Any) -> Any:
    expected = shape(recorded_body)
    if venue == "bybit":
        expected["retCode"] = expected["time"] = "number"
        item = expected["result"]["list"][0]
        for key in BYBIT_LINEAR_ONLY:
            del item[key]
        item.update(BYBIT_SPOT_ONLY)
        expected["result"]["category"] = "str"
    return expected


def same_keys_in_any_order(actual: Any, expected: Any) -> bool:
    return json.dumps(actual, sort_keys=True) == json.dumps(expected, sort_keys=True)


@pytest.fixture
async def replay() -> AsyncIterator[tuple[str, list[Any]]]:
    """A server answering every GET with the body the test puts in the returned list."""
    body: list[Any] = []

    async def answer(request: web.Request) -> web.Response:
        return web.json_response(body[0])

    app = web.Application()
    app.router.add_get("/{tail:.*}", answer)
    runner, base_url = await start_simulator(app, "127.0.0.1", 0)
    try:
        yield base_url, body
    finally:
        await runner.cleanup()


def test_every_recorded_exchange_is_simulated() -> None:
    recorded = {path.stem for path in FIXTURES.glob("*.json")}
    if not recorded:
        pytest.skip(f"recorded exchange fixtures not found at {FIXTURES.resolve()}")
    assert recorded <= set(VENUES)
    assert len(VENUES) >= 12


@pytest.mark.parametrize("venue", RECORDED_BODIES)
async def test_simulated_ticker_has_the_recorded_structure(
    simulator: Simulator, venue: str
) -> None:
    recorded = spot_ticker(venue)
    url = f"{simulator.base_url}/{venue}{TICKER_PATH[venue]}"
    async with simulator.session.get(url) as response:
        body = json.loads(await response.text())
    assert same_keys_in_any_order(shape(body), expected_shape(venue, recorded["httpResponse"]))


@pytest.mark.parametrize("venue", RECORDED_BODIES)
async def test_ccxt_fetches_the_recorded_body_into_the_recorded_prices(
    replay: tuple[str, list[Any]], venue: str
) -> None:
    base_url, body = replay
    fixture = recording(venue)
    recorded = spot_ticker(venue)
    body.append(recorded["httpResponse"])
    exchange = build_exchange(VenueSpec(venue, base_url), timeout_ms=5_000)
    try:
        exchange.set_markets(list(fixture["markets"].values()))
        parsed = await exchange.fetch_ticker(recorded["input"][0])
    finally:
        await exchange.close()
    expected = recorded["parsedResponse"]
    assert {f: parsed[f] for f in PRICE_FIELDS} == {f: expected[f] for f in PRICE_FIELDS}


@pytest.mark.parametrize("venue", sorted(VENUES))
def test_simulator_serves_the_ticker_path_ccxt_was_recorded_requesting(venue: str) -> None:
    requests = recording(venue)["requests"]
    requested = [
        entry["url"]
        for method in ("fetchTicker", "fetchTickers")
        for entry in requests.get(method, [])
    ]
    path = TICKER_PATH[venue].split("?")[0]
    if venue in RECORDED_PATH_ALIAS:
        path = path.replace(*RECORDED_PATH_ALIAS[venue])
    path = path.replace("BTC-USDC", "BTC-USDT")  # coinbase's request was recorded for BTC/USDT
    assert any(path in url for url in requested), requested


@pytest.mark.parametrize("venue", sorted(VENUES))
async def test_simulator_answers_the_ticker_path_ccxt_requests(
    simulator: Simulator, venue: str
) -> None:
    async with simulator.session.get(f"{simulator.base_url}/{venue}{TICKER_PATH[venue]}") as r:
        assert r.status == 200
        assert await r.json() is not None
