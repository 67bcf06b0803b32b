"""Specification of per-client rate limiting: token buckets, 429 with Retry-After, bounded memory."""

from __future__ import annotations

from pathlib import Path

import pytest

from node.config import HttpConfig
from node.http_api import rate_limiter
from node.rate_limit import SWEEP_EVERY, RateLimiter, retry_after_s
from tests.node.http_support import running_api, ticking


def test_a_client_may_burst_then_waits_for_tokens_at_the_rate() -> None:
    limiter = RateLimiter(rate_per_s=2.0, burst=3)
    assert [limiter.acquire("a", 0.0) for _ in range(3)] == [0.0, 0.0, 0.0]
    assert limiter.acquire("a", 0.0) == pytest.approx(0.5)
    assert limiter.acquire("a", 0.5) == 0.0
    assert limiter.acquire("a", 0.5) == pytest.approx(0.5)


def test_clients_have_separate_buckets() -> None:
    limiter = RateLimiter(rate_per_s=1.0, burst=1)
    assert limiter.acquire("a", 0.0) == 0.0
    assert limiter.acquire("b", 0.0) == 0.0
    assert limiter.acquire("a", 0.0) > 0


def test_a_refused_request_costs_no_token() -> None:
    limiter = RateLimiter(rate_per_s=1.0, burst=1)
    limiter.acquire("a", 0.0)
    for _ in range(5):
        limiter.acquire("a", 0.5)
    assert limiter.acquire("a", 1.0) == 0.0


def test_memory_is_bounded_by_forgetting_the_least_recently_seen_clients() -> None:
    limiter = RateLimiter(rate_per_s=1.0, burst=2, max_clients=100)
    for i in range(1000):
        limiter.acquire(f"10.0.{i // 256}.{i % 256}", i * 0.001)
    assert len(limiter) == 100


def test_refilled_buckets_are_swept_away() -> None:
    limiter = RateLimiter(rate_per_s=1.0, burst=2)
    for i in range(500):
        limiter.acquire(f"client-{i}", 0.0)
    for _ in range(SWEEP_EVERY):
        limiter.acquire("late", 10.0)  # every other bucket has refilled by now
    assert len(limiter) == 1


@pytest.mark.parametrize(("wait", "header"), [(0.01, 1), (1.0, 1), (1.2, 2), (30.0, 30)])
def test_retry_after_is_whole_seconds_rounded_up(wait: float, header: int) -> None:
    assert retry_after_s(wait) == header


def test_the_config_turns_it_off_with_zero() -> None:
    assert rate_limiter(HttpConfig(rate_limit_per_s=0)) is None
    limiter = rate_limiter(HttpConfig(rate_limit_per_s=5, rate_limit_burst=7))
    assert limiter is not None
    assert (limiter.rate_per_s, limiter.burst) == (5, 7)


async def test_over_the_limit_the_api_answers_429_with_retry_after(tmp_path: Path) -> None:
    monotonic, advance = ticking()
    limiter = RateLimiter(rate_per_s=0.5, burst=2)
    async with running_api(tmp_path, rate_limit=limiter, monotonic=monotonic) as api:
        allowed = [(await api.client.get("/v1/feeds")).status for _ in range(2)]
        refused = await api.client.get("/v1/feeds/BTC-USD")
        body = await refused.json()
        advance(2.0)
        again = await api.client.get("/health")
    assert allowed == [200, 200]
    assert refused.status == 429
    assert refused.headers["Retry-After"] == "2"
    assert "rate limit" in body["error"]
    assert again.status != 429
