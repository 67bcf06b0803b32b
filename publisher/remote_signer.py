"""`RemoteSigner`: observations signed by a key held elsewhere, over JSON-RPC.

The signer service (Web3Signer, Clef, a KMS bridge) exposes `eth_signTypedData_v4(address,
typedData)` and returns a 65-byte signature. The node sends it the full EIP-712 message and
trusts nothing it gets back: the signature must recover to the configured address under the
feed's domain; a high-s answer is normalised to its low-s twin (the same signature, as the
contract accepts it); anything else raises `RemoteSignerError`. No key ever enters the node.
"""

from __future__ import annotations

import itertools
import json
from typing import Any

import aiohttp
from eth_utils.address import to_checksum_address

from publisher.eip712 import (
    MAX_LOW_S,
    SECP256K1_N,
    Domain,
    SignedObservation,
    observation_typed_data,
    recover_signer,
)
from publisher.errors import RemoteSignerError


class RemoteSigner:
    """Signs observations through a JSON-RPC signer at `url`, for `address`."""

    def __init__(self, url: str, address: str, *, timeout_s: float = 10.0) -> None:
        self._url = url
        self._address = to_checksum_address(address)
        self._timeout = aiohttp.ClientTimeout(total=timeout_s)
        self._session: aiohttp.ClientSession | None = None
        self._ids = itertools.count(1)

    @property
    def address(self) -> str:
        return self._address

    @property
    def url(self) -> str:
        return self._url

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def sign_observation(
        self, domain: Domain, value: int, timestamp: int
    ) -> SignedObservation:
        """Ask the remote signer; verify and normalise what it returns."""
        typed = observation_typed_data(domain, value, timestamp)
        result = await self._call("eth_signTypedData_v4", [self._address, json.dumps(typed)])
        signature = _normalise(_parse_signature(result))
        observation = SignedObservation(value, timestamp, self._address, signature)
        if recover_signer(domain, observation) != self._address:
            raise RemoteSignerError(
                f"remote signer returned a signature that does not recover to {self._address}"
            )
        return observation

    async def _call(self, method: str, params: list[Any]) -> Any:
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=self._timeout)
        body = {"jsonrpc": "2.0", "id": next(self._ids), "method": method, "params": params}
        try:
            async with self._session.post(self._url, json=body) as response:
                if response.status != 200:
                    raise RemoteSignerError(f"remote signer answered HTTP {response.status}")
                reply = await response.json(content_type=None)
        except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
            raise RemoteSignerError(f"remote signer unreachable: {type(exc).__name__}") from None
        if not isinstance(reply, dict):
            raise RemoteSignerError("remote signer answered something that is not JSON-RPC")
        if "error" in reply:
            error = reply["error"]
            message = error.get("message") if isinstance(error, dict) else error
            raise RemoteSignerError(f"remote signer refused: {message}")
        return reply.get("result")


def _parse_signature(result: object) -> bytes:
    if not isinstance(result, str) or not result.startswith("0x"):
        raise RemoteSignerError("remote signer returned no 0x-hex signature")
    try:
        raw = bytes.fromhex(result[2:])
    except ValueError:
        raise RemoteSignerError("remote signer returned a signature that is not hex") from None
    if len(raw) != 65:
        raise RemoteSignerError(f"remote signer returned {len(raw)} bytes, expected 65")
    return raw


def _normalise(signature: bytes) -> bytes:
    """v in {27, 28} (some signers answer 0/1) and low s (EIP-2)."""
    r, s, v = signature[:32], int.from_bytes(signature[32:64], "big"), signature[64]
    if v in (0, 1):
        v += 27
    if v not in (27, 28):
        raise RemoteSignerError(f"remote signer returned recovery id {v}")
    if s > MAX_LOW_S:
        s, v = SECP256K1_N - s, 55 - v  # the twin: (r, n - s) with the other recovery id
    return r + s.to_bytes(32, "big") + bytes([v])
