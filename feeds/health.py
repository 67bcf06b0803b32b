"""Per-venue health: what an operator reads to decide whether a venue deserves attention.

The fetcher records every poll of a venue (its latency and how each market came back), every
round it left the venue alone (request budget, rate-limit backoff) and the state of its
stream. `VenueHealth` is the snapshot the HTTP API serves (`GET /v1/venues`).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Final

from feeds.quote import FetchFailure, FetchResult, Quote

WINDOW: Final = 100
"""Polls the success rate and the latency percentiles are computed over."""


@dataclass(frozen=True, slots=True)
class VenueHealth:
    """One venue's recent record.

    - `polls`: polls since start; `success_rate`: share of the markets asked for in the last
      `WINDOW` polls that came back as quotes (None before the first poll).
    - `latency_ms_p50` / `latency_ms_max`: poll durations over the same window.
    - `last_error`, `last_error_kind`, `last_error_at_ms`: the latest failure, if any.
    - `last_quote_at_ms`: when the venue last gave a usable quote (local clock).
    - `skipped_rounds`: rounds served from the last quotes because the venue's request
      budget (its rate limit) or a rate-limit backoff did not allow a poll.
    - `requests`, `request_units`, `limit_units_per_s`: requests sent, the ccxt cost units
      they used, and the venue's allowance in units per second.
    - `stream`: `off`, `connecting`, `live` or `stalled` (falls back to REST).
    - `wait_s`: seconds requests queued for the venue's request budget since start.
    """

    venue: str
    polls: int
    success_rate: float | None
    latency_ms_p50: float | None
    latency_ms_max: float | None
    last_error: str | None
    last_error_kind: str | None
    last_error_at_ms: int | None
    last_quote_at_ms: int | None
    skipped_rounds: int
    requests: int
    request_units: float
    limit_units_per_s: float | None
    stream: str
    wait_s: float = 0.0

    @property
    def status(self) -> str:
        """`ok`, `degraded` (some markets failing) or `down` (nothing in the last polls)."""
        if self.success_rate is None:
            return "unknown"
        if self.success_rate == 0:
            return "down"
        return "ok" if self.success_rate >= 0.9 else "degraded"

    def as_json(self) -> dict[str, Any]:
        return {
            "venue": self.venue,
            "status": self.status,
            "polls": self.polls,
            "success_rate": self.success_rate,
            "latency_ms_p50": self.latency_ms_p50,
            "latency_ms_max": self.latency_ms_max,
            "last_error": None
            if self.last_error is None
            else {
                "kind": self.last_error_kind,
                "reason": self.last_error,
                "at_ms": self.last_error_at_ms,
            },
            "last_quote_at_ms": self.last_quote_at_ms,
            "skipped_rounds": self.skipped_rounds,
            "requests": self.requests,
            "request_units": round(self.request_units, 3),
            "limit_units_per_s": self.limit_units_per_s,
            "stream": self.stream,
        }


class HealthRecord:
    """The mutable record behind one venue's `VenueHealth`."""

    def __init__(self, venue: str) -> None:
        self.venue = venue
        self.polls = 0
        self.skipped_rounds = 0
        self._outcomes: deque[tuple[int, int]] = deque(maxlen=WINDOW)
        self._latencies: deque[float] = deque(maxlen=WINDOW)
        self.last_error: FetchFailure | None = None
        self.last_quote_at_ms: int | None = None
        self.stream = "off"

    def polled(self, results: Iterable[FetchResult], latency_ms: float) -> None:
        """A poll ended after `latency_ms` with `results` (one per market asked for)."""
        good = total = 0
        for result in results:
            total += 1
            if isinstance(result, Quote):
                good += 1
                self.last_quote_at_ms = max(self.last_quote_at_ms or 0, result.received_ts_ms)
            else:
                self.last_error = result
        if total == 0:
            return
        self.polls += 1
        self._outcomes.append((good, total))
        self._latencies.append(latency_ms)

    def streamed(self, quotes: Iterable[Quote]) -> None:
        """Quotes served from the venue's stream this round."""
        for quote in quotes:
            self.last_quote_at_ms = max(self.last_quote_at_ms or 0, quote.received_ts_ms)

    def skipped(self) -> None:
        self.skipped_rounds += 1

    def snapshot(
        self, requests: int, units: float, limit_units_per_s: float | None, wait_s: float = 0.0
    ) -> VenueHealth:
        good = sum(g for g, _ in self._outcomes)
        total = sum(t for _, t in self._outcomes)
        latencies = sorted(self._latencies)
        error = self.last_error
        return VenueHealth(
            venue=self.venue,
            polls=self.polls,
            success_rate=None if total == 0 else good / total,
            latency_ms_p50=latencies[len(latencies) // 2] if latencies else None,
            latency_ms_max=latencies[-1] if latencies else None,
            last_error=None if error is None else error.reason,
            last_error_kind=None if error is None else str(error.kind),
            last_error_at_ms=None if error is None else error.at_ms,
            last_quote_at_ms=self.last_quote_at_ms,
            skipped_rounds=self.skipped_rounds,
            requests=requests,
            request_units=units,
            limit_units_per_s=limit_units_per_s,
            stream=self.stream,
            wait_s=wait_s,
        )
