"""The simulated market's ground truth: a seeded random walk per asset, and per-venue quotes.

Everything here is pure: a price at tick `n` is a function of `(seed, n)` only, and a venue's
quote is a function of `(seed, venue, symbol, n)` and the truth. Randomness comes from
`random.Random` seeded with a string (hashed with SHA-512 by the standard library), so a path
is the same on every run, platform and Python version that keeps that seeding scheme.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from typing import Final

USD_ASSETS: Final = ("BTC", "ETH", "USDT")
"""Assets with a USD truth; every other price is derived from these."""

_START_USD: Final = {"BTC": 60_000.0, "ETH": 3_000.0}
_VOL_PER_TICK: Final = {"BTC": 1.0e-4, "ETH": 1.5e-4}
"""Standard deviation of one tick's log-return: about 3%/day for BTC at 1 s ticks."""

# USDT wobbles around its peg as an Ornstein-Uhlenbeck process: x <- x (1 - k) + s e.
# Stationary deviation s / sqrt(2k - k^2) is about 3e-5, i.e. a few tenths of a basis point.
_USDT_REVERSION: Final = 0.05
_USDT_VOL: Final = 1.0e-5

_CHECKPOINT_EVERY: Final = 256
"""Ticks between cached states: reaching tick n costs at most this many steps once warm."""

MAX_NOISE_BPS: Final = 5.0
"""A venue's mid never strays further than this from the truth (before its price factor)."""
HALF_SPREAD_BPS: Final = 1.0
"""Half the bid/ask spread around a venue's mid."""


def _rng(*parts: object) -> random.Random:
    return random.Random(":".join(str(part) for part in parts))


@dataclass(frozen=True, slots=True)
class VenueQuote:
    """What one venue shows for one market at one tick, before any venue-specific rounding."""

    bid: float
    ask: float
    last: float
    open_24h: float
    base_volume: float

    @property
    def mid(self) -> float:
        return (self.bid + self.ask) / 2.0


class RandomWalk:
    """USD prices of BTC, ETH and USDT as a deterministic function of `(seed, tick)`.

    Tick 0 is the starting price; a negative tick is clamped to 0. States are cached every
    `_CHECKPOINT_EVERY` ticks, so the object is a memo of a pure function, not hidden state.
    """

    def __init__(self, seed: int) -> None:
        self.seed = seed
        self._checkpoints: list[tuple[float, float, float]] = [
            (math.log(_START_USD["BTC"]), math.log(_START_USD["ETH"]), 0.0)
        ]

    def _step(self, state: tuple[float, float, float], tick: int) -> tuple[float, float, float]:
        rng = _rng("walk", self.seed, tick)
        log_btc, log_eth, usdt_dev = state
        return (
            log_btc + rng.gauss(0.0, _VOL_PER_TICK["BTC"]),
            log_eth + rng.gauss(0.0, _VOL_PER_TICK["ETH"]),
            usdt_dev * (1.0 - _USDT_REVERSION) + rng.gauss(0.0, _USDT_VOL),
        )

    def _state(self, tick: int) -> tuple[float, float, float]:
        tick = max(tick, 0)
        wanted_checkpoint = tick // _CHECKPOINT_EVERY
        while len(self._checkpoints) <= wanted_checkpoint:
            state = self._checkpoints[-1]
            first = (len(self._checkpoints) - 1) * _CHECKPOINT_EVERY
            for n in range(first + 1, first + _CHECKPOINT_EVERY + 1):
                state = self._step(state, n)
            self._checkpoints.append(state)
        state = self._checkpoints[wanted_checkpoint]
        for n in range(wanted_checkpoint * _CHECKPOINT_EVERY + 1, tick + 1):
            state = self._step(state, n)
        return state

    def usd_prices(self, tick: int) -> dict[str, float]:
        """`{"BTC": ..., "ETH": ..., "USDT": ...}` in USD at `tick`."""
        log_btc, log_eth, usdt_dev = self._state(tick)
        return {"BTC": math.exp(log_btc), "ETH": math.exp(log_eth), "USDT": 1.0 + usdt_dev}

    def price(self, symbol: str, tick: int) -> float:
        """The true price of `symbol` (`BASE/QUOTE`, each a USD asset or USD) at `tick`.

        A cross such as `BTC/USDT` is `BTC/USD / USDT/USD` of the same tick.
        """
        base, quote = symbol.split("/")
        usd = self.usd_prices(tick)
        usd["USD"] = 1.0
        if base not in usd or quote not in usd:
            raise KeyError(f"no truth for {symbol}")
        return usd[base] / usd[quote]


def venue_noise(seed: int, venue: str, symbol: str, tick: int) -> float:
    """The venue's relative deviation from the truth at `tick`, within ±`MAX_NOISE_BPS` bps."""
    rng = _rng("noise", seed, venue, symbol, tick)
    bps = max(-MAX_NOISE_BPS, min(MAX_NOISE_BPS, rng.gauss(0.0, MAX_NOISE_BPS / 2.5)))
    return bps / 10_000.0


def venue_quote(
    walk: RandomWalk, venue: str, symbol: str, tick: int, price_factor: float = 1.0
) -> VenueQuote:
    """The venue's quote: truth x (1 + noise) x `price_factor`, a spread around it, a volume."""
    truth = walk.price(symbol, tick)
    mid = truth * (1.0 + venue_noise(walk.seed, venue, symbol, tick)) * price_factor
    half_spread = mid * HALF_SPREAD_BPS / 10_000.0
    rng = _rng("tape", walk.seed, venue, symbol, tick)
    # The last trade hit either side of the book.
    last = mid + half_spread * rng.choice((-1.0, 1.0))
    day_ago = walk.price(symbol, tick - 86_400) * price_factor
    # Volume in base units worth roughly 50-150 million USD-equivalent of quote, per venue.
    base_volume = rng.uniform(50e6, 150e6) / truth
    return VenueQuote(
        bid=mid - half_spread,
        ask=mid + half_spread,
        last=last,
        open_24h=day_ago,
        base_volume=base_volume,
    )
