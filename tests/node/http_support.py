"""A node with fake doors (quotes, chain) behind the real HTTP app, for the HTTP API specs."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aiohttp.test_utils import TestClient, TestServer

from audit.journal import Journal
from node.http_api import create_app
from node.service import OracleNode
from tests.node.fakes import FakeClock, FixedQuotes, RecordingChain, make_node

TOKEN = "s3cret-admin-token-0123456789"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


@dataclass
class Api:
    node: OracleNode
    clock: FakeClock
    quotes: FixedQuotes
    chain: RecordingChain
    journal: Journal
    client: TestClient[Any, Any]

    async def round(self, seconds: float = 10.0) -> None:
        """Run one round, then let `seconds` pass."""
        await self.node.run_round()
        self.clock.advance(seconds)


@asynccontextmanager
async def running_api(
    tmp_path: Path, price: float = 60_000.0, **app_options: Any
) -> AsyncIterator[Api]:
    """The real app (admin on) over a started node; closes what it opens."""
    clock = FakeClock()
    quotes = FixedQuotes(clock, price)
    journal = await Journal.open(tmp_path / "journal.db")
    chain = RecordingChain(journal)
    node = make_node(journal, clock, quotes, chain)
    await node.start()
    app_options.setdefault("admin_token", TOKEN)
    app = create_app(node, clock, 10.0, **app_options)
    client: TestClient[Any, Any] = TestClient(TestServer(app))
    await client.start_server()
    try:
        yield Api(node, clock, quotes, chain, journal, client)
    finally:
        await client.close()
        await journal.close()


def ticking(start: float = 0.0) -> tuple[Callable[[], float], Callable[[float], None]]:
    """A monotonic clock for the rate limiter and the function that moves it forward."""
    now = [start]

    def advance(seconds: float) -> None:
        now[0] += seconds

    return lambda: now[0], advance
