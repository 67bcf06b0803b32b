"""The simulated venues, one module per wire format, keyed by ccxt id."""

from __future__ import annotations

from simulator.venues import (
    binance,
    bitfinex,
    bitget,
    bitstamp,
    bybit,
    coinbase,
    coinbaseexchange,
    cryptocom,
    gate,
    gemini,
    htx,
    kraken,
    kucoin,
    mexc,
    okx,
)
from simulator.venues.base import Venue

VENUES: dict[str, Venue] = {
    module.VENUE.name: module.VENUE
    for module in (
        binance, okx, bybit, kraken, bitstamp, coinbaseexchange, bitfinex, bitget, coinbase,
        cryptocom, gate, gemini, htx, kucoin, mexc,
    )
}  # fmt: skip

__all__ = ["VENUES", "Venue"]
