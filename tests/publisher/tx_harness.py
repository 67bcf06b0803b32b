"""Helpers for the transaction-manager tests on anvil: raw anvil controls, an event recorder,
a loopback JSON-RPC proxy that can be killed, and a one-signer feed to publish to."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from aiohttp import web
from eth_account import Account
from web3 import AsyncWeb3

from publisher.anvil import Anvil
from publisher.eip712 import SignedObservation
from publisher.feed_contract import FeedContract
from publisher.keys import LocalSigner


async def anvil_rpc(w3: AsyncWeb3[Any], method: str, *params: Any) -> Any:
    """Call an anvil control method; raise if anvil answers an error."""
    reply = await w3.provider.make_request(method, list(params))  # type: ignore[arg-type]
    if "error" in reply:
        raise RuntimeError(f"{method} failed: {reply['error']}")
    return reply.get("result")


async def mine(w3: AsyncWeb3[Any], blocks: int = 1) -> None:
    await anvil_rpc(w3, "anvil_mine", hex(blocks))


@dataclass
class Events:
    """Records the transaction manager's events; `wait_for` blocks until one of a kind."""

    seen: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    changed: asyncio.Event = field(default_factory=asyncio.Event)

    def __call__(self, kind: str, detail: dict[str, Any]) -> None:
        self.seen.append((kind, detail))
        self.changed.set()

    def of(self, kind: str) -> list[dict[str, Any]]:
        return [d for k, d in self.seen if k == kind]

    async def wait_for(self, kind: str, count: int = 1, timeout_s: float = 10.0) -> dict[str, Any]:
        async with asyncio.timeout(timeout_s):
            while len(self.of(kind)) < count:
                self.changed.clear()
                await self.changed.wait()
        return self.of(kind)[count - 1]


@dataclass
class OneSignerFeed:
    feed: FeedContract
    signer: LocalSigner

    async def observation(self, w3: AsyncWeb3[Any], value: int) -> list[SignedObservation]:
        now = int((await w3.eth.get_block("latest"))["timestamp"])
        return [await self.signer.sign_observation(self.feed.domain(), value, now)]


async def deploy_one_signer_feed(w3: AsyncWeb3[Any], anvil: Anvil) -> OneSignerFeed:
    signer = LocalSigner(Account.create())
    owner = Account.from_key(anvil.dev_keys[0])
    feed = await FeedContract.deploy(w3, owner, 8, "ETH / USD", [signer.address], 1)
    return OneSignerFeed(feed, signer)


@asynccontextmanager
async def rpc_proxy(upstream: str) -> AsyncIterator[tuple[str, web.AppRunner, list[str]]]:
    """A loopback JSON-RPC proxy in front of `upstream`: (url, runner to kill it, methods seen)."""
    seen: list[str] = []
    session = aiohttp.ClientSession()

    async def forward(request: web.Request) -> web.Response:
        body = await request.read()
        seen.append(str((await request.json()).get("method")))
        async with session.post(
            upstream, data=body, headers={"Content-Type": "application/json"}
        ) as reply:
            return web.Response(body=await reply.read(), content_type="application/json")

    app = web.Application()
    app.router.add_post("/", forward)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        yield f"http://127.0.0.1:{port}", runner, seen
    finally:
        await runner.cleanup()
        await session.close()
