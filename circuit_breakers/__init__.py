"""Pure circuit breakers: may this aggregate be published? No I/O, no clock (time is an argument).

`evaluate` runs one feed's checks (quorum, dispersion, staleness, deviation, volatility, rate)
and its state machine for one round; `circuit_breakers.vector` does the same for many feeds
at once with identical results.
"""

from circuit_breakers.checks import Measures, measure, measure_values, trips_of
from circuit_breakers.machine import evaluate, evaluate_values, reset
from circuit_breakers.params import BreakerParams, DeviationParams
from circuit_breakers.types import (
    MOVE_TRIPS,
    BreakerState,
    BreakerStatus,
    Decision,
    Trip,
    Verdict,
)

__all__ = [
    "MOVE_TRIPS",
    "BreakerParams",
    "BreakerState",
    "BreakerStatus",
    "Decision",
    "DeviationParams",
    "Measures",
    "Trip",
    "Verdict",
    "evaluate",
    "evaluate_values",
    "measure",
    "measure_values",
    "reset",
    "trips_of",
]
