"""Every feed's breaker parameters and state as arrays: what `circuit_breakers.vector` steps.

`ParamArrays` holds one array per `BreakerParams` field (NaN: check off); `BreakerArrays` one
per `BreakerState` field (NaN / `NONE` for None), and converts from and back to the states.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, fields

import numpy as np
from numpy.typing import NDArray

from circuit_breakers.params import BreakerParams
from circuit_breakers.types import BreakerState, BreakerStatus, Trip

Floats = NDArray[np.float64]
Ints = NDArray[np.int64]
Bools = NDArray[np.bool_]

STATUSES = (BreakerStatus.CLOSED, BreakerStatus.OPEN, BreakerStatus.HALF_OPEN)
CLOSED, OPEN, HALF = 0, 1, 2
TRIPS = tuple(Trip)
"""Bit i of a trip mask is `TRIPS[i]` (the fixed order of `Trip`)."""
NONE = np.iinfo(np.int64).min
"""The int sentinel for None in millisecond arrays."""


@dataclass(frozen=True)
class ParamArrays:
    """Every feed's `BreakerParams` as arrays (NaN: check off)."""

    params: tuple[BreakerParams, ...]
    max_deviation: Floats
    confirm_rounds: Ints
    confirm_band: Floats
    max_hold_ms: Ints
    cooldown_ms: Ints
    volatility_k: Floats
    volatility_floor: Floats
    volatility_window: Ints
    max_dispersion: Floats
    max_quote_age_ms: Floats
    max_rate_per_min: Floats
    alpha: Floats

    @classmethod
    def build(cls, params: Sequence[BreakerParams]) -> ParamArrays:
        def floats(name: str) -> Floats:
            return np.array([math.nan if (v := getattr(p, name)) is None else v for p in params])

        def ints(name: str) -> Ints:
            return np.array([getattr(p, name) for p in params], dtype=np.int64)

        return cls(
            tuple(params),
            floats("max_deviation"),
            ints("confirm_rounds"),
            floats("confirm_band"),
            ints("max_hold_ms"),
            ints("cooldown_ms"),
            floats("volatility_k"),
            floats("volatility_floor"),
            ints("volatility_window"),
            floats("max_dispersion"),
            floats("max_quote_age_ms"),
            floats("max_rate_per_min"),
            np.array([p.volatility_alpha for p in params]),
        )

    def tiled(self, copies: int) -> ParamArrays:
        """These feeds' parameters repeated `copies` times (rows of several rounds)."""
        arrays = (getattr(self, f.name) for f in fields(self) if f.name != "params")
        return ParamArrays(self.params * copies, *(np.tile(a, copies) for a in arrays))


@dataclass
class BreakerArrays:
    """Every feed's `BreakerState`, one array per field (NaN / `NONE` for None)."""

    status: Ints
    since_ms: Ints
    candidate: Floats
    confirmations: Ints
    trip: Ints  # index in TRIPS, -1 for None
    half_open_ms: Ints
    reference: Floats
    reference_ms: Ints
    variance: Floats
    samples: Ints
    rebase: Bools

    @classmethod
    def from_states(cls, states: Sequence[BreakerState]) -> BreakerArrays:
        def ms(v: int | None) -> int:
            return NONE if v is None else v

        def fl(v: float | None) -> float:
            return math.nan if v is None else v

        return cls(
            np.array([STATUSES.index(s.status) for s in states], dtype=np.int64),
            np.array([ms(s.since_ms) for s in states], dtype=np.int64),
            np.array([fl(s.candidate) for s in states]),
            np.array([s.confirmations for s in states], dtype=np.int64),
            np.array([-1 if s.trip is None else TRIPS.index(Trip(s.trip)) for s in states]),
            np.array([ms(s.half_open_ms) for s in states], dtype=np.int64),
            np.array([fl(s.reference) for s in states]),
            np.array([ms(s.reference_ms) for s in states], dtype=np.int64),
            np.array([s.variance for s in states], dtype=np.float64),
            np.array([s.samples for s in states], dtype=np.int64),
            np.array([s.rebase for s in states], dtype=bool),
        )

    def reset(self) -> BreakerArrays:
        """`circuit_breakers.reset` of every row: closed, the reference and volatility kept,
        the next value accepted as the new reference."""
        n = len(self.status)
        out = BreakerArrays.closed(n)
        out.reference, out.reference_ms = self.reference, self.reference_ms
        out.variance, out.samples = self.variance, self.samples
        out.rebase = np.ones(n, dtype=bool)
        return out

    @classmethod
    def closed(cls, n: int) -> BreakerArrays:
        """n closed breakers with no memory (`BreakerState()` each)."""
        return cls(
            np.zeros(n, dtype=np.int64),
            np.full(n, NONE),
            np.full(n, np.nan),
            np.zeros(n, dtype=np.int64),
            np.full(n, -1, dtype=np.int64),
            np.full(n, NONE),
            np.full(n, np.nan),
            np.full(n, NONE),
            np.zeros(n),
            np.zeros(n, dtype=np.int64),
            np.zeros(n, dtype=bool),
        )

    def state(self, i: int) -> BreakerState:
        def ms(v: np.int64) -> int | None:
            return None if v == NONE else int(v)

        def fl(v: np.float64) -> float | None:
            return None if math.isnan(v) else float(v)

        return BreakerState(
            status=STATUSES[int(self.status[i])],
            since_ms=ms(self.since_ms[i]),
            candidate=fl(self.candidate[i]),
            confirmations=int(self.confirmations[i]),
            trip=None if self.trip[i] < 0 else str(TRIPS[int(self.trip[i])]),
            half_open_ms=ms(self.half_open_ms[i]),
            reference=fl(self.reference[i]),
            reference_ms=ms(self.reference_ms[i]),
            variance=float(self.variance[i]),
            samples=int(self.samples[i]),
            rebase=bool(self.rebase[i]),
        )

    def where(
        self, mask: Bools, other: BreakerArrays | Callable[[], BreakerArrays]
    ) -> BreakerArrays:
        """Field by field: `other` where `mask`, else self.

        `other` may be a function that builds it: it is called only when some row takes it
        (most rounds, most transitions apply to no feed). A uniform mask copies nothing.
        """
        if not mask.any():
            return self
        if callable(other):
            other = other()
        if mask.all():
            return other
        return BreakerArrays(
            *(np.where(mask, getattr(other, f.name), getattr(self, f.name)) for f in fields(self))
        )
