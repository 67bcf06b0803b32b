"""Running the simulator: an async context manager for tests and the process entry point."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from aiohttp import web

from simulator.app import Clock, create_app
from simulator.faults import Scenario

_SHUTDOWN_TIMEOUT_S = 1.0
"""How long a stopping server waits for in-flight requests (a `timeout` fault holds one 30 s)."""


async def start_simulator(app: web.Application, host: str, port: int) -> tuple[web.AppRunner, str]:
    """Serve `app` on `host:port` (0: a free port); returns the runner and the base URL."""
    # handler_cancellation: a request held by the `timeout` fault ends when its client leaves.
    runner = web.AppRunner(
        app, handler_cancellation=True, shutdown_timeout=_SHUTDOWN_TIMEOUT_S, access_log=None
    )
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    try:
        await site.start()
    except BaseException:
        await runner.cleanup()
        raise
    bound_port = runner.addresses[0][1]
    return runner, f"http://{host}:{bound_port}"


@asynccontextmanager
async def running_simulator(
    host: str = "127.0.0.1",
    port: int = 0,
    seed: int = 1,
    tick_s: float = 1.0,
    clock: Clock = time.time,
    scenario: Scenario | None = None,
) -> AsyncIterator[str]:
    """A simulator serving on `host:port` for the duration of the block; yields its base URL.

    Venue APIs live under `{base_url}/{venue}`, e.g. `{base_url}/binance/api/v3/exchangeInfo`.
    A `scenario` sets seed and tick and schedules its faults from now.
    """
    app = create_app(seed, tick_s, clock, scenario=scenario)
    runner, base_url = await start_simulator(app, host, port)
    try:
        yield base_url
    finally:
        await runner.cleanup()
