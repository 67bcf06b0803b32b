"""The boundary where web3 / RPC exceptions become the publisher's own (`publisher.errors`).

`RevertDecoder` turns revert data into the contract's custom error name and arguments, from
the contract ABI; `translate_errors` is the one place that classifies what a node said.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from typing import Any

import aiohttp
from eth_abi.abi import decode as abi_decode
from eth_abi.exceptions import DecodingError
from eth_utils.address import to_checksum_address
from eth_utils.crypto import keccak
from web3.exceptions import (
    BadResponseFormat,
    ContractLogicError,
    ProviderConnectionError,
    TooManyRequests,
    Web3RPCError,
)

from publisher.errors import (
    ChainUnavailableError,
    FeeCapError,
    InsufficientFundsError,
    NonceConflictError,
    NonceTooLowError,
    PublishError,
    ReplacementUnderpricedError,
    TransactionRevertedError,
)

try:
    # eth-tester (the in-process test chain) raises its own exception for a revert instead
    # of an RPC error; recognising it keeps one boundary for every backend.
    from eth_tester.exceptions import TransactionFailed as _TesterRevertError
except ImportError:  # pragma: no cover - eth-tester is a dev dependency

    class _TesterRevertError(Exception):  # type: ignore[no-redef]
        """Never raised: stands in when eth-tester is not installed."""


_ERROR_STRING = ("Error", ("string",))
_PANIC = ("Panic", ("uint256",))
_NONCE_TOO_LOW = ("nonce too low", "nonce has already been used", "oldnonce")
_UNDERPRICED = (
    "replacement transaction underpriced",
    "underpriced",
    "insufficient gas price to replace",
)
_FEE_CAP = (
    "max fee per gas less than block base fee",
    "fee cap less than block base fee",
    "feecaptoolow",
    "exceeds the configured cap",
    "fee cap",
)
_NONCE_MESSAGES = ("nonce too high", "already known", "replacement transaction")
_UNAVAILABLE = ("rate limit", "too many requests", "header not found", "timeout", "timed out")


class RevertDecoder:
    """Decodes revert data for one contract ABI (plus Solidity's Error and Panic)."""

    def __init__(self, abi: Sequence[dict[str, Any]]) -> None:
        known = [_ERROR_STRING, _PANIC]
        for entry in abi:
            if entry.get("type") == "error":
                known.append((entry["name"], tuple(i["type"] for i in entry["inputs"])))
        self._by_selector = {
            keccak(text=f"{name}({','.join(types)})")[:4]: (name, types) for name, types in known
        }

    def decode(self, data: object) -> tuple[str, tuple[object, ...]]:
        """(error name, decoded args); ("unknown", ()) when the data is absent or foreign."""
        raw = _revert_bytes(data)
        if raw is None or len(raw) < 4 or raw[:4] not in self._by_selector:
            return "unknown", ()
        name, types = self._by_selector[raw[:4]]
        try:
            values = abi_decode(list(types), raw[4:])
        except DecodingError:
            return name, ()
        return name, tuple(
            to_checksum_address(v) if t == "address" else v
            for t, v in zip(types, values, strict=True)
        )


@contextmanager
def translate_errors(decoder: RevertDecoder, tx_hash: str | None = None) -> Iterator[None]:
    """Re-raise web3 / transport errors raised in the block as `PublishError` subclasses."""
    try:
        yield
    except PublishError:
        raise
    except ContractLogicError as exc:
        name, args = decoder.decode(exc.data)
        raise TransactionRevertedError(name, args, tx_hash) from exc
    except _TesterRevertError as exc:
        name, args = decoder.decode(_tester_revert_data(exc))
        raise TransactionRevertedError(name, args, tx_hash) from exc
    except Web3RPCError as exc:
        raise _classify_rpc_error(decoder, exc, tx_hash) from exc
    except (
        aiohttp.ClientError,
        OSError,
        TimeoutError,
        ProviderConnectionError,
        TooManyRequests,
        BadResponseFormat,
    ) as exc:
        raise ChainUnavailableError(f"chain RPC unavailable: {type(exc).__name__}: {exc}") from exc


def _classify_rpc_error(
    decoder: RevertDecoder, exc: Web3RPCError, tx_hash: str | None
) -> PublishError:
    message = str(exc.message if exc.message is not None else exc).lower()
    if "insufficient funds" in message:
        return InsufficientFundsError(
            f"sender cannot pay for gas: {exc.message}. Fund the sender account; the "
            "publication is kept and resumes once funded"
        )
    if any(phrase in message for phrase in _NONCE_TOO_LOW):
        return NonceTooLowError(f"nonce too low: {exc.message}")
    if any(phrase in message for phrase in _UNDERPRICED):
        return ReplacementUnderpricedError(f"replacement underpriced: {exc.message}")
    if any(phrase in message for phrase in _FEE_CAP):
        return FeeCapError(f"fee cap: {exc.message}")
    if any(phrase in message for phrase in _UNAVAILABLE):
        return ChainUnavailableError(f"chain RPC unavailable: {exc.message}")
    if any(phrase in message for phrase in _NONCE_MESSAGES):
        return NonceConflictError(f"nonce conflict: {exc.message}")
    if "revert" in message:
        error = exc.rpc_response.get("error") if exc.rpc_response else None
        data = error.get("data") if isinstance(error, dict) else None
        name, args = decoder.decode(data)
        return TransactionRevertedError(name, args, tx_hash)
    return PublishError(f"chain RPC error: {exc.message}")


def _revert_bytes(data: object) -> bytes | None:
    if isinstance(data, dict):  # some nodes nest it: {"data": "0x..."}
        data = data.get("data")
    if isinstance(data, bytes):
        return data
    if isinstance(data, str) and data.startswith("0x"):
        try:
            return bytes.fromhex(data[2:])
        except ValueError:
            return None
    return None


def _tester_revert_data(exc: BaseException) -> bytes | None:
    """eth-tester carries the revert bytes as the repr of a bytes object ("b'...'"), possibly
    behind an "execution reverted: " prefix, somewhere along the exception's context chain."""
    chain: BaseException | None = exc
    while chain is not None:
        first = chain.args[0] if chain.args else None
        if isinstance(first, bytes):
            return first
        if isinstance(first, str):
            text = first.removeprefix("execution reverted: ")
            if text[:2] in ("b'", 'b"'):
                with suppress(ValueError, SyntaxError):
                    parsed = ast.literal_eval(text)  # a literal only: never code
                    if isinstance(parsed, bytes):
                        return parsed
        chain = chain.__context__
    return None
