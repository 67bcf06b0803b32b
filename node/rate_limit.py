"""Per-client rate limiting for the HTTP API: one token bucket per remote address.

Pure and clocked from outside (monotonic seconds), so the arithmetic is tested without sleeping.
Memory is bounded: at most `max_clients` buckets are kept, the least recently seen client
forgotten first, and every `SWEEP_EVERY` requests the buckets that have refilled (the same as
no bucket) are forgotten. Forgetting a client can only let it through early, never refuse
anyone wrongly.
"""

from __future__ import annotations

import math
from collections import OrderedDict

SWEEP_EVERY = 1024


class RateLimiter:
    """`rate_per_s` requests per second per client, bursts of up to `burst` requests."""

    def __init__(self, rate_per_s: float, burst: int, max_clients: int = 10_000) -> None:
        if rate_per_s <= 0 or burst < 1 or max_clients < 1:
            raise ValueError("rate_per_s must be > 0, burst and max_clients >= 1")
        self.rate_per_s = rate_per_s
        self.burst = burst
        self.max_clients = max_clients
        self._full = float(burst)
        self._full_after_s = burst / rate_per_s
        # client -> [tokens, when they were counted]; least recently seen first
        self._buckets: OrderedDict[str, list[float]] = OrderedDict()
        self._until_sweep = SWEEP_EVERY

    def __len__(self) -> int:
        return len(self._buckets)

    def acquire(self, client: str, now_s: float) -> float:
        """Take one token for `client`: 0.0 when allowed, else the seconds until one is due."""
        buckets = self._buckets
        bucket = buckets.get(client)
        if bucket is None:
            bucket = buckets[client] = [self._full, now_s]
            if len(buckets) > self.max_clients:
                buckets.popitem(last=False)
        else:
            buckets.move_to_end(client)
            elapsed = now_s - bucket[1]
            if elapsed > 0:
                tokens = bucket[0] + elapsed * self.rate_per_s
                bucket[0] = tokens if tokens < self._full else self._full
                bucket[1] = now_s
        self._until_sweep -= 1
        if self._until_sweep <= 0:
            self._sweep(now_s)
        tokens = bucket[0]
        if tokens >= 1.0:
            bucket[0] = tokens - 1.0
            return 0.0
        return (1.0 - tokens) / self.rate_per_s

    def _sweep(self, now_s: float) -> None:
        """Forget the buckets that have refilled, from the least recently seen end."""
        self._until_sweep = SWEEP_EVERY
        while self._buckets:
            client, (_, at_s) = next(iter(self._buckets.items()))
            if now_s - at_s < self._full_after_s:
                break
            del self._buckets[client]


def retry_after_s(wait_s: float) -> int:
    """The `Retry-After` header value: whole seconds, rounded up, at least 1."""
    return max(1, math.ceil(wait_s))
