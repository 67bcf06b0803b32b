"""`GET /v1/feeds/{BASE}-{QUOTE}/observation`: the node's latest signed observation of a feed.

What peers fetch to build a quorum report (`node.peers` checks every field it reads). 404 with
a JSON error for an unknown feed, and for a known feed with no fresh observation: before the
first signed round, while the feed's breaker holds, or without a chain.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from node.service import OracleNode
from node.status import ServedObservation
from publisher.answer import from_answer

ROUTE = "/v1/feeds/{pair}/observation"


def observation_view(served: ServedObservation) -> dict[str, Any]:
    """The JSON body: feed, value (decimal string), answer (integer string), timestamp (unix s),
    signer, signature (0x + 65 bytes r||s||v), round_id, chain_id, contract."""
    obs = served.observation
    return {
        "feed": served.feed,
        "value": str(from_answer(obs.value, served.decimals)),
        "answer": str(obs.value),
        "timestamp": obs.timestamp,
        "signer": obs.signer,
        "signature": "0x" + obs.signature.hex(),
        "round_id": served.round_id,
        "chain_id": served.domain.chain_id,
        "contract": served.domain.verifying_contract,
    }


def add_observation_route(app: web.Application, node: OracleNode) -> None:
    """Serve `node`'s observations at `ROUTE`."""

    async def get_observation(request: web.Request) -> web.Response:
        pair = request.match_info["pair"]
        base, sep, quote = pair.partition("-")
        if not sep or not (
            base.isascii() and base.isalnum() and quote.isascii() and quote.isalnum()
        ):
            return _error(400, f"feed {pair!r} must be BASE-QUOTE, e.g. BTC-USD")
        feed = f"{base.upper()}/{quote.upper()}"
        if feed not in node.status:
            return _error(404, f"no feed {feed}; GET /v1/feeds lists them")
        served = node.observations.get(feed)
        if served is None:
            return _error(
                404,
                f"no fresh signed observation of {feed}: none signed yet, the feed's breaker "
                "holds, or the node has no chain",
            )
        return web.json_response(observation_view(served))

    app.router.add_get(ROUTE, get_observation)


def _error(status: int, message: str) -> web.Response:
    return web.json_response({"error": message}, status=status)
