"""Per-client rate limiting for the HTTP API: one token bucket per remote address.

Pure and clocked from outside (monotonic seconds), so the arithmetic is tested without sleeping.
Memory is bounded: at most `max_clients` buckets are kept; a bucket that has refilled is the
same as no bucket and is forgotten, and past the bound the least recently seen client is
forgotten first (which can only let that client through early, never refuse anyone wrongly).
"""

from __future__ import annotations

import math
from collections import OrderedDict
from dataclasses import dataclass


@dataclass(slots=True)
class _Bucket:
    tokens: float
    at_s: float


class RateLimiter:
    """`rate_per_s` requests per second per client, bursts of up to `burst` requests."""

    def __init__(self, rate_per_s: float, burst: int, max_clients: int = 10_000) -> None:
        if rate_per_s <= 0 or burst < 1 or max_clients < 1:
            raise ValueError("rate_per_s must be > 0, burst and max_clients >= 1")
        self.rate_per_s = rate_per_s
        self.burst = burst
        self.max_clients = max_clients
        self._buckets: OrderedDict[str, _Bucket] = OrderedDict()

    def __len__(self) -> int:
        return len(self._buckets)

    def acquire(self, client: str, now_s: float) -> float:
        """Take one token for `client`: 0.0 when allowed, else the seconds until one is due."""
        bucket = self._buckets.pop(client, None)
        if bucket is None:
            bucket = _Bucket(float(self.burst), now_s)
        else:
            elapsed = max(0.0, now_s - bucket.at_s)
            bucket.tokens = min(float(self.burst), bucket.tokens + elapsed * self.rate_per_s)
            bucket.at_s = now_s
        self._buckets[client] = bucket  # most recently seen last
        if bucket.tokens >= 1.0:
            bucket.tokens -= 1.0
            wait = 0.0
        else:
            wait = (1.0 - bucket.tokens) / self.rate_per_s
        self._evict(now_s)
        return wait

    def _evict(self, now_s: float) -> None:
        """Forget refilled buckets from the idle end, then anything past `max_clients`."""
        full_after_s = self.burst / self.rate_per_s
        while self._buckets:
            client, bucket = next(iter(self._buckets.items()))
            if len(self._buckets) > self.max_clients or now_s - bucket.at_s >= full_after_s:
                del self._buckets[client]
            else:
                break


def retry_after_s(wait_s: float) -> int:
    """The `Retry-After` header value: whole seconds, rounded up, at least 1."""
    return max(1, math.ceil(wait_s))
