"""Pure aggregation: quotes in, one robust value per feed out. No I/O, no clock.

The round's time is always an argument, so the live node, replay and backtest run the very
same functions on the same inputs and get the same bits out.
"""

from aggregator.combine import combine
from aggregator.graph import (
    FeedGraphError,
    FeedSpec,
    SourceSpec,
    aggregate_round,
    evaluation_order,
    plan_conversion,
)
from aggregator.params import AggregationParams, Estimator, OutlierFilter, Weighting
from aggregator.types import Aggregate, Rejection, RejectReason, SourcePrice

__all__ = [
    "Aggregate",
    "AggregationParams",
    "Estimator",
    "FeedGraphError",
    "FeedSpec",
    "OutlierFilter",
    "RejectReason",
    "Rejection",
    "SourcePrice",
    "SourceSpec",
    "Weighting",
    "aggregate_round",
    "combine",
    "evaluation_order",
    "plan_conversion",
]
