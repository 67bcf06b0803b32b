"""`POST /v1/feeds/{BASE}-{QUOTE}/cosign[/{session}]`: co-signing an aggregate feed's report.

What a relay calls on the members it named (see `node.cosign` for what each step checks):

- `POST .../cosign` with `{"observations": [{value, timestamp, signer, signature}, ...]}`:
  200 `{"session", "nonce"}` (the member's two public nonces, 0x + 128 bytes);
- `POST .../cosign/{session}` with `{"nonce"}` (every named member's nonces summed): 200
  `{"share"}` (0x + 32 bytes). A session answers once.

A refusal is 409 `{"error", "reason", "culprit"}` (`reason` one of `node.cosign.COSIGN_REASONS`,
`culprit` the signer of the observation at fault, or null), an
unknown feed 404, an unknown or spent session 404, a body that is not the JSON asked 400.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from node.cosign import CoSigner, CosignRefusal
from node.http_keys import parse_pair

ROUTE = "/v1/feeds/{pair}/cosign"
SESSION_ROUTE = "/v1/feeds/{pair}/cosign/{session}"
MAX_BODY_BYTES = 128 * 1024
"""255 observations are about 64 KB of JSON."""


class _RefusedError(Exception):
    def __init__(self, status: int, message: str, refusal: CosignRefusal | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.body: dict[str, str | None] = {"error": message}
        if refusal is not None:
            self.body |= {"reason": refusal.reason, "culprit": refusal.culprit}


def add_cosign_routes(app: web.Application, cosigner: CoSigner) -> None:
    """Serve `cosigner` at `ROUTE` and `SESSION_ROUTE`. Every answer is JSON, errors too."""

    async def commit(request: web.Request) -> web.Response:
        try:
            feed = _feed(request, cosigner)
            body = await _json_body(request, "observations")
            result = cosigner.commit(feed, body["observations"], request.remote or "unknown")
            if isinstance(result, CosignRefusal):
                raise _RefusedError(409, result.detail, result)
        except _RefusedError as refused:
            return web.json_response(refused.body, status=refused.status)
        session_id, nonce = result
        return web.json_response({"session": session_id, "nonce": nonce.to_hex()})

    async def sign(request: web.Request) -> web.Response:
        try:
            feed = _feed(request, cosigner)
            body = await _json_body(request, "nonce")
            if not isinstance(body["nonce"], str):
                raise _RefusedError(400, "nonce must be a hex string")
            result = cosigner.sign(feed, request.match_info["session"], body["nonce"])
            if isinstance(result, CosignRefusal):
                status = 404 if result.reason == "unknown_session" else 409
                raise _RefusedError(status, result.detail, result)
        except _RefusedError as refused:
            return web.json_response(refused.body, status=refused.status)
        return web.json_response({"share": "0x" + result.to_bytes(32, "big").hex()})

    app.router.add_post(ROUTE, commit)
    app.router.add_post(SESSION_ROUTE, sign)


def _feed(request: web.Request, cosigner: CoSigner) -> str:
    try:
        feed = parse_pair(request.match_info["pair"])
    except ValueError as exc:
        raise _RefusedError(400, str(exc)) from None
    if feed not in cosigner.feeds:
        raise _RefusedError(404, f"{feed} is not an aggregate feed of this node")
    return feed


async def _json_body(request: web.Request, field: str) -> dict[str, Any]:
    if request.content_length is None or request.content_length > MAX_BODY_BYTES:
        raise _RefusedError(400, f"a JSON body with a Content-Length up to {MAX_BODY_BYTES} bytes")
    try:
        body = await request.json()
    except (ValueError, UnicodeDecodeError):
        raise _RefusedError(400, "body is not JSON") from None
    if not isinstance(body, dict) or field not in body:
        raise _RefusedError(400, f"body must be a JSON object with {field!r}")
    return body
