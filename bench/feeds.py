"""Benchmark: 20 feeds x 12 venues at 1 s rounds against the simulator, at the venues' own
rate limits (ccxt's figures), for 60 s.

    .venv/bin/python bench/feeds.py [--seconds 60] [--interval 1.0] [--deadline 0.8]

The simulator runs as its own process (`python -m simulator`) so its work does not share the
fetcher's event loop. Prints JSON lines: one per venue, then a summary.

- per venue: `requests_per_s` (counted by the simulator), `units_per_s` (ccxt cost units the
  fetcher spent) against `limit_units_per_s` (the venue's allowance: one unit per ccxt
  `rateLimit` ms), `markets`, `skipped_rounds` (rounds served from the last quotes because
  the budget did not allow a poll), `success_rate`, `p50_latency_ms`.
- summary: `rounds`, `fetch_ms_p50`, `fetch_ms_p99` (one round's `Fetcher.fetch` for every
  venue), `btc_usd_error_max` (the aggregate against the simulator's truth), and the
  baseline measured in the same run: `baseline_get_ms_p50`, one raw HTTP GET of Binance's
  all-tickers body from the same simulator (the floor any fetch stands on).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import statistics
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp

if __package__ in (None, ""):
    # Run as a script, this file's folder comes first on the path and its name shadows the
    # `feeds` package: look in the repository first.
    sys.path[0] = str(Path(__file__).resolve().parents[1])

from aggregator import AggregationParams, FeedSpec, SourceSpec, aggregate_round, evaluation_order
from feeds.fetcher import Fetcher
from feeds.venue import VenueSpec
from simulator.market import STABLE_ASSETS, VOLATILE_ASSETS

REPO = Path(__file__).resolve().parents[1]
USD_VENUES = ("kraken", "bitstamp", "coinbaseexchange", "gemini", "cryptocom")
USDT_VENUES = ("binance", "okx", "bybit", "gate", "kucoin", "htx", "mexc")
VENUES = (*USD_VENUES, *USDT_VENUES)


def feed_specs() -> list[FeedSpec]:
    """18 volatile assets in USD, plus USDT/USD and USDC/USD: 20 feeds over 12 venues."""
    params = AggregationParams(quorum=3)
    specs = [
        FeedSpec("USDT/USD", tuple(SourceSpec(v, "USDT/USD") for v in USD_VENUES), params),
        FeedSpec(
            "USDC/USD",
            tuple(SourceSpec(v, "USDC/USD") for v in USD_VENUES)
            + tuple(SourceSpec(v, "USDC/USDT") for v in USDT_VENUES),
            params,
        ),
    ]
    for asset in VOLATILE_ASSETS:
        sources = tuple(SourceSpec(v, f"{asset}/USD") for v in USD_VENUES) + tuple(
            SourceSpec(v, f"{asset}/USDT") for v in USDT_VENUES
        )
        specs.append(FeedSpec(f"{asset}/USD", sources, params))
    assert len(specs) == len(VOLATILE_ASSETS) + len(STABLE_ASSETS) == 20
    return evaluation_order(specs)


@contextlib.asynccontextmanager
async def simulator_process() -> AsyncIterator[str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "simulator", "--port", "0", "--seed", "4",
        cwd=REPO, stdout=asyncio.subprocess.PIPE,
    )  # fmt: skip
    try:
        assert process.stdout is not None
        line = (await asyncio.wait_for(process.stdout.readline(), timeout=30)).decode()
        yield line.split()[-1]
    finally:
        process.terminate()
        await process.wait()


def wall_ms() -> int:
    return time.time_ns() // 1_000_000


async def baseline_get_ms(session: aiohttp.ClientSession, base_url: str, n: int = 30) -> float:
    times = []
    for _ in range(n):
        started = time.perf_counter()
        async with session.get(f"{base_url}/binance/api/v3/ticker/24hr") as response:
            await response.read()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


async def venue_requests(session: aiohttp.ClientSession, base_url: str) -> dict[str, int]:
    async with session.get(f"{base_url}/_sim/venues") as response:
        body = await response.json()
    return {venue: int(state["requests"]) for venue, state in body.items()}


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def run(seconds: float, interval_s: float, deadline_s: float) -> None:
    specs = feed_specs()
    wanted: dict[str, list[str]] = {}
    for spec in specs:
        for source in spec.sources:
            wanted.setdefault(source.venue, []).append(source.symbol)
    async with simulator_process() as base_url, aiohttp.ClientSession() as session:
        venues = {v: VenueSpec(v, f"{base_url}/{v}") for v in VENUES}
        async with Fetcher(venues, wall_ms) as fetcher:
            await fetcher.prepare(wanted, timeout_s=60.0)
            baseline = await baseline_get_ms(session, base_url)
            before = await venue_requests(session, base_url)
            units_before = {v: h.request_units for v, h in fetcher.health().items()}
            durations: list[float] = []
            errors: list[float] = []
            started = time.monotonic()
            next_round = started
            while time.monotonic() - started < seconds:
                round_started = time.perf_counter()
                results = await fetcher.fetch(wanted, deadline_s)
                durations.append((time.perf_counter() - round_started) * 1000)
                round_ms = wall_ms()
                btc = aggregate_round(specs, results, round_ms)["BTC/USD"].value
                async with session.get(f"{base_url}/_sim/truth") as response:
                    truth = (await response.json())["prices"]["BTC/USD"]
                if btc is not None:
                    errors.append(abs(btc / truth - 1))
                next_round += interval_s
                await asyncio.sleep(max(0.0, next_round - time.monotonic()))
            elapsed = time.monotonic() - started
            after = await venue_requests(session, base_url)
            health = fetcher.health()
    for venue in VENUES:
        h = health[venue]
        print(
            json.dumps(
                {
                    "venue": venue,
                    "markets": len(wanted[venue]),
                    "requests_per_s": round((after[venue] - before[venue]) / elapsed, 3),
                    "units_per_s": round((h.request_units - units_before[venue]) / elapsed, 3),
                    "limit_units_per_s": None
                    if h.limit_units_per_s is None
                    else round(h.limit_units_per_s, 3),
                    "skipped_rounds": h.skipped_rounds,
                    "success_rate": None if h.success_rate is None else round(h.success_rate, 4),
                    "p50_latency_ms": None
                    if h.latency_ms_p50 is None
                    else round(h.latency_ms_p50, 1),
                }
            )
        )
    print(
        json.dumps(
            {
                "feeds": len(specs),
                "venues": len(VENUES),
                "seconds": round(elapsed, 1),
                "interval_s": interval_s,
                "deadline_s": deadline_s,
                "rounds": len(durations),
                "fetch_ms_p50": round(percentile(durations, 0.5), 1),
                "fetch_ms_p99": round(percentile(durations, 0.99), 1),
                "btc_usd_error_max": None if not errors else max(errors),
                "baseline_get_ms_p50": round(baseline, 2),
            }
        )
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--interval", type=float, default=1.0)
    parser.add_argument("--deadline", type=float, default=0.8)
    args = parser.parse_args()
    asyncio.run(run(args.seconds, args.interval, args.deadline))


if __name__ == "__main__":
    main()
