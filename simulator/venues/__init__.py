"""The simulated venues, one module per wire format, keyed by ccxt id."""

from __future__ import annotations

from simulator.venues import binance, bitstamp, bybit, coinbaseexchange, kraken, okx
from simulator.venues.base import Venue

VENUES: dict[str, Venue] = {
    module.VENUE.name: module.VENUE
    for module in (binance, okx, bybit, kraken, bitstamp, coinbaseexchange)
}

__all__ = ["VENUES", "Venue"]
