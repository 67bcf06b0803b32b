"""The simulator speaks the venues' recorded wire formats, and ccxt reads the recordings.

Recordings: `../shared/fixtures/exchanges/<id>.json` beside the repository (ccxt's own static
test data). For each venue: the simulator's BTC/USDT ticker body has the recorded body's
structure (keys, nesting, string vs number), and ccxt's parser turns the recorded body into the
recorded prices.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import ccxt.async_support as ccxt_async
import pytest
from feeds_harness import Simulator

from simulator.venues import VENUES

pytestmark = pytest.mark.timeout(30)

FIXTURES = Path(__file__).resolve().parents[2] / ".." / "shared" / "fixtures" / "exchanges"

# The ticker request ccxt makes for BTC/USDT on each venue, relative to the venue's API root.
TICKER_PATH = {
    "binance": "/api/v3/ticker/24hr?symbol=BTCUSDT",
    "okx": "/api/v5/market/ticker?instId=BTC-USDT",
    "bybit": "/v5/market/tickers?category=spot&symbol=BTCUSDT",
    "kraken": "/0/public/Ticker?pair=XBTUSDT",
    "bitstamp": "/api/v2/ticker/btcusdt/",
    "coinbaseexchange": "/products/BTC-USDT/ticker",
}

# The recorded bybit ticker is a linear perpetual's (category=linear); a spot ticker lacks the
# derivative fields and adds usdIndexPrice. Its retCode and time are recorded as strings there
# but as integers in the recorded fetchTickers body, which is what Bybit's API sends.
BYBIT_LINEAR_ONLY = {
    "indexPrice", "markPrice", "prevPrice1h", "openInterest", "openInterestValue", "fundingRate",
    "nextFundingTime", "predictedDeliveryPrice", "basisRate", "deliveryFeeRate", "deliveryTime",
    "basis",
}  # fmt: skip
BYBIT_SPOT_ONLY = {"usdIndexPrice": "str"}


def recording(venue: str) -> dict[str, Any]:
    path = FIXTURES / f"{venue}.json"
    if not FIXTURES.is_dir():
        pytest.skip(f"recorded exchange fixtures not found at {FIXTURES.resolve()}")
    recorded: dict[str, Any] = json.loads(path.read_text())
    return recorded


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


def ticker_entry(venue: str, body: Any) -> Any:
    """The part of a recorded ticker body that ccxt's `parse_ticker` reads."""
    if venue == "okx":
        return body["data"][0]
    if venue == "bybit":
        return body["result"]["list"][0]
    if venue == "kraken":
        return body["result"]["XBTUSDT"]
    return body


def same_keys_in_any_order(actual: Any, expected: Any) -> bool:
    return json.dumps(actual, sort_keys=True) == json.dumps(expected, sort_keys=True)


@pytest.mark.parametrize("venue", sorted(VENUES))
async def test_simulated_ticker_has_the_recorded_structure(
    simulator: Simulator, venue: str
) -> None:
    (recorded,) = recording(venue)["responses"]["fetchTicker"]
    url = f"{simulator.base_url}/{venue}{TICKER_PATH[venue]}"
    async with simulator.session.get(url) as response:
        body = json.loads(await response.text())
    assert same_keys_in_any_order(shape(body), expected_shape(venue, recorded["httpResponse"]))


@pytest.mark.parametrize("venue", sorted(VENUES))
async def test_ccxt_parses_the_recorded_ticker_into_the_recorded_prices(venue: str) -> None:
    fixture = recording(venue)
    (recorded,) = fixture["responses"]["fetchTicker"]
    symbol = recorded["input"][0]
    exchange = getattr(ccxt_async, venue)()
    try:
        exchange.set_markets(list(fixture["markets"].values()))
        parsed = exchange.parse_ticker(
            ticker_entry(venue, recorded["httpResponse"]), exchange.market(symbol)
        )
    finally:
        await exchange.close()
    expected = recorded["parsedResponse"]
    assert parsed["symbol"] == expected["symbol"]
    for field in ("last", "bid", "ask", "baseVolume", "timestamp"):
        assert parsed[field] == expected[field], field


@pytest.mark.parametrize("venue", sorted(VENUES))
def test_simulator_serves_the_ticker_path_ccxt_was_recorded_requesting(venue: str) -> None:
    requests = recording(venue)["requests"]
    requested = [
        entry["url"]
        for method in ("fetchTicker", "fetchTickers")
        for entry in requests.get(method, [])
    ]
    path = TICKER_PATH[venue].split("?")[0]
    assert any(path in url for url in requested), requested
