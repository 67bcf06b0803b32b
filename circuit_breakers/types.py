"""Breaker states, trips and decisions. A decision always carries its reason.

Every breaker state is a plain frozen dataclass of primitives (str enums, ints, floats,
None), so the journal can store it as JSON and replay can rebuild it exactly.
"""

from __future__ import annotations

from dataclasses import MISSING, dataclass, fields
from enum import StrEnum
from typing import Any, TypeVar

_T = TypeVar("_T", bound=type)


def quick_init(cls: _T) -> _T:
    """Give a frozen slots dataclass an `__init__` that sets each slot through its descriptor.

    Same parameters, defaults and resulting object as the generated one (which goes through
    `object.__setattr__` field by field, about twice the cost): breaker states and decisions
    are built for every feed of every round, live and in replay. Defaults must be plain
    values (no `default_factory`).
    """
    scope: dict[str, Any] = {}
    params, body = [], []
    for i, f in enumerate(fields(cls)):
        if f.default_factory is not MISSING or not f.init:
            raise TypeError(f"{cls.__name__}.{f.name}: quick_init takes plain defaults only")
        scope[f"_set{i}"] = cls.__dict__[f.name].__set__
        if f.default is MISSING:
            params.append(f.name)
        else:
            scope[f"_default{i}"] = f.default
            params.append(f"{f.name}=_default{i}")
        body.append(f"    _set{i}(self, {f.name})")
    exec(f"def __init__(self, {', '.join(params)}):\n" + "\n".join(body), scope)
    init = scope["__init__"]
    init.__qualname__ = f"{cls.__qualname__}.__init__"
    cls.__init__ = init  # type: ignore[misc]
    return cls


class BreakerStatus(StrEnum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


class Trip(StrEnum):
    """Why a breaker opened. The first four are about the data, the last three about the move."""

    QUORUM = "quorum"
    """The aggregate has no value: too few independent venues survived."""
    DISPERSION = "dispersion"
    """The venues that survived disagree too much (dispersion above the bound)."""
    STALENESS = "staleness"
    """The quotes behind the value are old (median quote age above the bound)."""
    DEVIATION = "deviation"
    """The value moved more than a fixed bound from the last published value."""
    VOLATILITY = "volatility"
    """The value moved more than k times the recent volatility from the last published value."""
    RATE = "rate"
    """The value moves faster than the bound per minute since the last allowed value."""


MOVE_TRIPS = frozenset({Trip.DEVIATION, Trip.VOLATILITY, Trip.RATE})
"""Trips that a quorum-backed move confirmed over consecutive rounds overrides."""


class Verdict(StrEnum):
    """What the breaker did this round; with the round's numbers it makes the reason."""

    FIRST = "first"
    WITHIN = "within"
    RESET = "reset"
    COOLING = "cooling"
    COOLED = "cooled"
    CLEARED = "cleared"
    CONFIRMED = "confirmed"
    RELEASED = "released"
    TRIPPED = "tripped"
    HOLDING = "holding"


@quick_init
@dataclass(frozen=True, slots=True)
class BreakerState:
    """What a breaker remembers between rounds. The default is a closed breaker.

    - `since_ms`: when it opened (None unless open); `half_open_ms`: when it went half-open.
    - `candidate`, `confirmations`: the move being confirmed while open.
    - `trip`: the trip that opened it (a `Trip` value) while open or half-open.
    - `reference`, `reference_ms`: the last value the breaker allowed, and when.
    - `variance`, `samples`: EWMA of squared relative moves between allowed values (volatility).
    - `rebase`: an operator reset is pending; the next value becomes the reference unchecked.
    """

    status: BreakerStatus = BreakerStatus.CLOSED
    since_ms: int | None = None
    candidate: float | None = None
    confirmations: int = 0
    trip: str | None = None
    half_open_ms: int | None = None
    reference: float | None = None
    reference_ms: int | None = None
    variance: float = 0.0
    samples: int = 0
    rebase: bool = False


@quick_init
@dataclass(frozen=True, slots=True)
class Decision:
    """May this round's value be published, the breaker's status after the round, and why.

    `trips` names every check that failed this round (`Trip` values), in a fixed order;
    `verdict` is what the state machine did.
    """

    allow: bool
    status: BreakerStatus
    reason: str
    trips: tuple[str, ...] = ()
    verdict: str = ""
