"""Pure circuit breakers: may this aggregate be published? No I/O, no clock (time is an argument)."""

from circuit_breakers.deviation import DeviationParams, evaluate
from circuit_breakers.types import BreakerState, BreakerStatus, Decision

__all__ = ["BreakerState", "BreakerStatus", "Decision", "DeviationParams", "evaluate"]
