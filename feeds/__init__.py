"""Fetching quotes from exchanges: the pipeline's only door to market data."""

from feeds.quote import FailureKind, FetchFailure, FetchResult, Quote

__all__ = ["FailureKind", "FetchFailure", "FetchResult", "Quote"]
