"""`RpcPool`: several JSON-RPC endpoints of one chain, with health checks and failover.

Every call goes to the first healthy endpoint in the configured order (the primary first).
An endpoint that fails at the transport level (`ChainUnavailableError`) is marked down for
`cooldown_s` and the call moves on to the next one; a down endpoint is tried again after its
cooldown (or at once when every endpoint is down, so a pool never refuses to try). An
endpoint that answers for another chain id is never used. Errors that the chain itself
reports (a revert, a nonce conflict, insufficient funds) are the same on every endpoint and
are raised at once, never retried elsewhere.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from web3 import AsyncHTTPProvider, AsyncWeb3

from publisher.chain_errors import RevertDecoder, translate_errors
from publisher.errors import ChainUnavailableError, PublishError

log = logging.getLogger("oracle.publisher.rpc")
T = TypeVar("T")
_NO_DECODER = RevertDecoder([])


@dataclass
class Endpoint:
    """One RPC URL and what the pool knows of its health."""

    url: str
    w3: AsyncWeb3[Any]
    down_until: float = 0.0
    failures: int = 0
    last_error: str | None = None
    head: int | None = field(default=None)

    @property
    def label(self) -> str:
        # The URL may carry an API key in its path or query: log the host only.
        return self.url.split("//", 1)[-1].split("/", 1)[0]


class RpcPool:
    """Endpoints of one chain, tried in order. `run(fn)` calls `fn(w3)` with failover."""

    def __init__(
        self,
        endpoints: Sequence[AsyncWeb3[Any]] | Sequence[tuple[str, AsyncWeb3[Any]]],
        *,
        cooldown_s: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if not endpoints:
            raise ValueError("an RPC pool needs at least one endpoint")
        self._endpoints = [
            Endpoint(e[0], e[1]) if isinstance(e, tuple) else Endpoint(_url_of(e), e)
            for e in endpoints
        ]
        self._cooldown_s = cooldown_s
        self._clock = clock
        self.chain_id: int | None = None

    @classmethod
    def from_urls(
        cls, urls: Sequence[str], *, timeout_s: float = 10.0, cooldown_s: float = 30.0
    ) -> RpcPool:
        return cls(
            [
                (u, AsyncWeb3(AsyncHTTPProvider(u, request_kwargs={"timeout": timeout_s})))
                for u in urls
            ],
            cooldown_s=cooldown_s,
        )

    @property
    def endpoints(self) -> tuple[Endpoint, ...]:
        return tuple(self._endpoints)

    @property
    def primary(self) -> AsyncWeb3[Any]:
        return self._endpoints[0].w3

    async def close(self) -> None:
        for endpoint in self._endpoints:
            await endpoint.w3.provider.disconnect()

    async def connect(self, expected_chain_id: int | None = None) -> int:
        """Probe every endpoint; return the chain id. Raises if none answers, or if two
        endpoints (or the config) disagree on the chain: publishing to the wrong chain is
        worse than not publishing."""
        await self.check_health()
        ids = {e.url: await self._chain_id(e) for e in self._endpoints if e.down_until == 0.0}
        if not ids:
            raise ChainUnavailableError(
                "no RPC endpoint answered: "
                + "; ".join(f"{e.label}: {e.last_error}" for e in self._endpoints)
            )
        distinct = set(ids.values())
        if len(distinct) > 1 or (expected_chain_id is not None and distinct != {expected_chain_id}):
            raise PublishError(
                f"RPC endpoints disagree on the chain id ({sorted(distinct)}; configured "
                f"{expected_chain_id}): refusing to publish"
            )
        self.chain_id = distinct.pop()
        return self.chain_id

    async def check_health(self) -> dict[str, bool]:
        """Probe each endpoint (eth_blockNumber); mark it up or down. url -> healthy."""
        health = {}
        for endpoint in self._endpoints:
            try:
                with translate_errors(_NO_DECODER):
                    endpoint.head = int(await endpoint.w3.eth.block_number)
                    if (
                        self.chain_id is not None
                        and await self._chain_id(endpoint) != self.chain_id
                    ):
                        raise ChainUnavailableError("answers for another chain id")
            except ChainUnavailableError as exc:
                self._mark_down(endpoint, exc)
            else:
                self._mark_up(endpoint)
            health[endpoint.url] = endpoint.down_until == 0.0
        return health

    async def run(
        self,
        fn: Callable[[AsyncWeb3[Any]], Awaitable[T]],
        decoder: RevertDecoder = _NO_DECODER,
        tx_hash: str | None = None,
    ) -> T:
        """`fn(w3)` on the first healthy endpoint, its errors translated (`translate_errors`);
        on `ChainUnavailableError` the next endpoint. Raises the last `ChainUnavailableError`
        when every endpoint failed, and any other `PublishError` at once."""
        last: ChainUnavailableError | None = None
        for endpoint in self._order():
            try:
                with translate_errors(decoder, tx_hash):
                    result = await fn(endpoint.w3)
            except ChainUnavailableError as exc:
                self._mark_down(endpoint, exc)
                last = exc
                continue
            if endpoint.failures:
                self._mark_up(endpoint)
            return result
        assert last is not None
        raise last

    def _order(self) -> list[Endpoint]:
        now = self._clock()
        up = [e for e in self._endpoints if e.down_until <= now]
        # When all are down, try them all anyway (primary first): an outage may have ended.
        return up or list(self._endpoints)

    def _mark_down(self, endpoint: Endpoint, exc: Exception) -> None:
        endpoint.failures += 1
        endpoint.last_error = str(exc)
        endpoint.down_until = self._clock() + self._cooldown_s
        log.warning(
            "RPC endpoint %s failed (%s); failing over for %.0f s. Check the endpoint if this "
            "repeats; ignore if it is a temporary network issue.",
            endpoint.label,
            exc,
            self._cooldown_s,
        )

    def _mark_up(self, endpoint: Endpoint) -> None:
        if endpoint.failures:
            log.info("RPC endpoint %s is healthy again", endpoint.label)
        endpoint.failures = 0
        endpoint.last_error = None
        endpoint.down_until = 0.0

    @staticmethod
    async def _chain_id(endpoint: Endpoint) -> int:
        with translate_errors(_NO_DECODER):
            chain_id: int = await endpoint.w3.eth.chain_id
        return chain_id


def _url_of(w3: AsyncWeb3[Any]) -> str:
    return str(getattr(w3.provider, "endpoint_uri", None) or type(w3.provider).__name__)
