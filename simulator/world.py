"""The simulated world: the random walk, the clock, every venue's faults and request counts.

`Market.board(venue)` is a venue's view of the world at the moment of a request, with the
venue's faults applied (its clock set back when stale or frozen, its prices scaled, its books
emptied when halted). Venue modules build bodies from a board and know nothing of faults.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Final

from simulator.faults import Fault, FaultSpec, VenueState, venue_state
from simulator.market import USD_ASSETS, RandomWalk, venue_quote
from simulator.venues import VENUES
from simulator.venues.base import Book, Listing

TRUTH_SYMBOLS: Final = tuple(
    dict.fromkeys(
        [f"{asset}/USD" for asset in USD_ASSETS]
        + [symbol for venue in VENUES.values() for symbol in venue.symbols]
    )
)
"""Each asset in USD, then every other market some venue lists."""

Clock = Callable[[], float]
"""Unix time in seconds."""


@dataclass
class Market:
    """The world. `schedule` holds a scenario's faults; `manual` the one set per venue over
    HTTP (`POST /_sim/venues/{venue}`); `price_factor` a plain per-venue price scale."""

    walk: RandomWalk
    tick_s: float
    start_s: float
    clock: Clock
    schedule: tuple[Fault, ...] = ()
    manual: dict[str, Fault] = field(default_factory=dict)
    price_factor: dict[str, float] = field(default_factory=dict)
    requests: Counter[str] = field(default_factory=Counter)
    stream_messages: Counter[str] = field(default_factory=Counter)

    def tick_at(self, t_s: float) -> int:
        """The walk's tick in force at unix time `t_s` (0 before the start)."""
        return max(0, int((t_s - self.start_s) // self.tick_s))

    def truth(self, at_s: float) -> dict[str, float]:
        tick = self.tick_at(at_s)
        return {symbol: self.walk.price(symbol, tick) for symbol in TRUTH_SYMBOLS}

    def elapsed_s(self) -> float:
        return self.clock() - self.start_s

    def state(self, venue: str) -> VenueState:
        """The venue's faults in force now."""
        manual = self.manual.get(venue)
        faults = (*self.schedule, manual) if manual is not None else self.schedule
        return venue_state(faults, venue, self.elapsed_s())

    def set_manual(self, venue: str, spec: FaultSpec | None, duration_s: float | None) -> None:
        """Start `spec` on `venue` now (for `duration_s`, or until replaced); None clears it."""
        if spec is None:
            self.manual.pop(venue, None)
            return
        self.manual[venue] = Fault(
            **spec.model_dump(), venue=venue, start_s=max(0.0, self.elapsed_s()),
            duration_s=duration_s,
        )  # fmt: skip

    def board(self, venue: str, state: VenueState | None = None) -> VenueBoard:
        state = self.state(venue) if state is None else state
        return VenueBoard(self, venue, state.clock_s(self.clock(), self.start_s), state)


@dataclass(frozen=True)
class VenueBoard:
    """`Board` for one venue at one instant: frozen so a body is internally consistent."""

    market: Market
    venue: str
    now_s: float
    state: VenueState

    @property
    def now_ms(self) -> int:
        return int(self.now_s * 1000)

    def book(self, listing: Listing) -> Book:
        factor = self.market.price_factor.get(self.venue, 1.0)
        factor *= self.state.price_factor(listing.symbol)
        tick = self.market.tick_at(self.now_s)
        quote = venue_quote(self.market.walk, self.venue, listing.symbol, tick, factor)
        return Book.from_quote(quote, listing.tick, halted=self.state.halted(listing.symbol))
