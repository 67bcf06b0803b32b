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

START_USD: Final = {
    "BTC": 60_000.0, "ETH": 3_000.0, "SOL": 150.0, "XRP": 0.6, "DOGE": 0.15, "ADA": 0.45,
    "LTC": 80.0, "DOT": 7.0, "LINK": 15.0, "AVAX": 35.0, "BCH": 400.0, "TRX": 0.12,
    "ATOM": 9.0, "UNI": 8.0, "XLM": 0.11, "ETC": 25.0, "FIL": 5.0, "NEAR": 6.0,
}  # fmt: skip
"""The volatile assets and their starting USD prices."""
VOLATILE_ASSETS: Final = tuple(START_USD)
STABLE_ASSETS: Final = ("USDT", "USDC")
USD_ASSETS: Final = (*VOLATILE_ASSETS, *STABLE_ASSETS)
"""Assets with a USD truth; every other price is derived from these."""

_VOL_PER_TICK: Final = {"BTC": 1.0e-4, "ETH": 1.5e-4}
"""Standard deviation of one tick's log-return: about 3%/day for BTC at 1 s ticks."""
_ALT_VOL_PER_TICK: Final = 2.0e-4
"""Every other volatile asset moves a little more than ETH."""

# Stablecoins wobble around their peg as an Ornstein-Uhlenbeck process: x <- x (1 - k) + s e.
# Stationary deviation s / sqrt(2k - k^2) is about 3e-5, i.e. a few tenths of a basis point.
_USDT_REVERSION: Final = 0.05
_USDT_VOL: Final = 1.0e-5

_State = tuple[float, ...]
"""Log USD prices of the volatile assets in `VOLATILE_ASSETS` order, then the stablecoins'
deviations from their peg in `STABLE_ASSETS` order."""

_CHECKPOINT_EVERY: Final = 256
"""Ticks between cached states: reaching tick n costs at most this many steps once warm."""
_RECENT_TICKS: Final = 64
"""Ticks whose prices are kept: a venue reply asks for the same few ticks many times."""

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
    """USD prices of every asset in `USD_ASSETS` as a deterministic function of `(seed, tick)`.

    Tick 0 is the starting price; a negative tick is clamped to 0. States are cached every
    `_CHECKPOINT_EVERY` ticks (and the last few ticks asked for), so the object is a memo of a
    pure function, not hidden state. BTC, ETH and USDT draw first from each tick's generator,
    so adding assets after them leaves their paths unchanged.
    """

    def __init__(self, seed: int) -> None:
        self.seed = seed
        start = [math.log(START_USD[asset]) for asset in VOLATILE_ASSETS]
        self._checkpoints: list[_State] = [(*start, *(0.0 for _ in STABLE_ASSETS))]
        self._recent: dict[int, dict[str, float]] = {}
        self._last: tuple[int, _State] = (0, self._checkpoints[0])

    def _step(self, state: _State, tick: int) -> _State:
        rng = _rng("walk", self.seed, tick)
        n = len(VOLATILE_ASSETS)
        log_btc, log_eth, *alts = state[:n]
        usdt_dev, *other_stables = state[n:]
        # The draw order (BTC, ETH, USDT, then the rest) keeps the original three paths.
        btc = log_btc + rng.gauss(0.0, _VOL_PER_TICK["BTC"])
        eth = log_eth + rng.gauss(0.0, _VOL_PER_TICK["ETH"])
        usdt = usdt_dev * (1.0 - _USDT_REVERSION) + rng.gauss(0.0, _USDT_VOL)
        moved = [log + rng.gauss(0.0, _ALT_VOL_PER_TICK) for log in alts]
        stables = [d * (1.0 - _USDT_REVERSION) + rng.gauss(0.0, _USDT_VOL) for d in other_stables]
        return (btc, eth, *moved, usdt, *stables)

    def _state(self, tick: int) -> _State:
        tick = max(tick, 0)
        wanted_checkpoint = tick // _CHECKPOINT_EVERY
        while len(self._checkpoints) <= wanted_checkpoint:
            state = self._checkpoints[-1]
            first = (len(self._checkpoints) - 1) * _CHECKPOINT_EVERY
            for n in range(first + 1, first + _CHECKPOINT_EVERY + 1):
                state = self._step(state, n)
            self._checkpoints.append(state)
        first, state = wanted_checkpoint * _CHECKPOINT_EVERY, self._checkpoints[wanted_checkpoint]
        last_tick, last_state = self._last
        if first <= last_tick <= tick:
            # Live use asks for ever later ticks: step on from the last one.
            first, state = last_tick, last_state
        for n in range(first + 1, tick + 1):
            state = self._step(state, n)
        self._last = (tick, state)
        return state

    def usd_prices(self, tick: int) -> dict[str, float]:
        """`{"BTC": ..., "ETH": ..., "USDT": ..., ...}`: every asset's USD price at `tick`."""
        tick = max(tick, 0)
        cached = self._recent.get(tick)
        if cached is not None:
            return dict(cached)
        state = self._state(tick)
        n = len(VOLATILE_ASSETS)
        prices = {
            asset: math.exp(log) for asset, log in zip(VOLATILE_ASSETS, state[:n], strict=True)
        }
        prices.update({a: 1.0 + d for a, d in zip(STABLE_ASSETS, state[n:], strict=True)})
        if len(self._recent) >= _RECENT_TICKS:
            self._recent.pop(next(iter(self._recent)))
        self._recent[tick] = prices
        return dict(prices)

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
