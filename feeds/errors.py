"""ccxt's exceptions, translated at the boundary into the pipeline's `FailureKind` and a reason.

Nothing past `feeds` sees a ccxt exception: `classify` turns whatever a venue call raised into
a `(kind, reason)` pair for a `FetchFailure`. The reason is short and human ("timeout after
3.0s", "HTTP 429 rate limited"); the kind says who acts (see `FailureKind`).
"""

from __future__ import annotations

import json
import re
from typing import Literal

import ccxt

from feeds.quote import FailureKind

_HTTP_STATUS = re.compile(r"\b(?:GET|POST|PUT|DELETE) \S+ (\d{3})\b")
"""ccxt writes HTTP failures as `<id> <METHOD> <url> <status> <reason> <body>`."""

_DETAIL_CHARS = 120


def http_status(error: BaseException) -> int | None:
    """The HTTP status ccxt reported in `error`'s message, if any."""
    match = _HTTP_STATUS.search(str(error))
    return int(match.group(1)) if match else None


def _with_status(text: str, error: BaseException) -> str:
    status = http_status(error)
    return f"HTTP {status} {text}" if status is not None else text


def _detail(error: BaseException) -> str:
    message = " ".join(str(error).split())
    return message if len(message) <= _DETAIL_CHARS else message[: _DETAIL_CHARS - 3] + "..."


def timeout_reason(deadline_s: float) -> str:
    return f"timeout after {deadline_s:.1f}s"


# (ccxt exception classes, kind, reason, what to add to the reason: ccxt's HTTP status,
# the start of ccxt's message, or nothing).
# First match wins, so subclasses come before their bases: ccxt's rate-limit and availability
# errors subclass NetworkError and BadSymbol subclasses
# ExchangeError.
_Detail = Literal["status", "message", "none"]
_TABLE: tuple[tuple[tuple[type[BaseException], ...], FailureKind, str, _Detail], ...] = (
    ((ccxt.RequestTimeout,), FailureKind.TEMPORARY, "timeout", "none"),
    (
        (ccxt.DDoSProtection, ccxt.RateLimitExceeded),
        FailureKind.RATE_LIMITED,
        "rate limited",
        "status",
    ),
    ((ccxt.OnMaintenance,), FailureKind.UNAVAILABLE, "venue in maintenance", "status"),
    ((ccxt.ExchangeNotAvailable,), FailureKind.UNAVAILABLE, "venue unavailable", "status"),
    ((ccxt.NetworkError,), FailureKind.TEMPORARY, "network error", "message"),
    ((ccxt.BadSymbol,), FailureKind.UNAVAILABLE, "symbol not listed on venue", "none"),
    ((ccxt.MarketClosed,), FailureKind.UNAVAILABLE, "market closed", "none"),
    ((ccxt.BadResponse,), FailureKind.BAD_DATA, "unparseable response", "status"),
    ((ccxt.AuthenticationError,), FailureKind.UNAVAILABLE, "venue refused access", "status"),
    ((ccxt.BaseError,), FailureKind.UNAVAILABLE, "venue error", "message"),
)
_PARSE_ERRORS = (json.JSONDecodeError, KeyError, IndexError, TypeError, ValueError, AttributeError)
_RATE_LIMIT_STATUSES = frozenset({418, 429})


def classify(error: BaseException, deadline_s: float) -> tuple[FailureKind, str]:
    """The failure kind and a short reason for an exception raised by a ccxt call.

    Anything that is neither a ccxt error nor a timeout comes from parsing a body ccxt could
    not make sense of (a `TypeError` deep in a parser, say), so it is bad data.
    """
    if isinstance(error, TimeoutError | ccxt.RequestTimeout):
        return FailureKind.TEMPORARY, timeout_reason(deadline_s)
    status = http_status(error)
    if status in _RATE_LIMIT_STATUSES:
        # The status is the venue's own word; ccxt maps okx's 429 to ExchangeNotAvailable.
        return FailureKind.RATE_LIMITED, f"HTTP {status} rate limited"
    for classes, kind, text, detail in _TABLE:
        if isinstance(error, classes):
            if detail == "message":
                return kind, f"{text}: {_detail(error)}"
            return kind, _with_status(text, error) if detail == "status" else text
    if isinstance(error, _PARSE_ERRORS):
        return FailureKind.BAD_DATA, f"unparseable response ({type(error).__name__})"
    return FailureKind.BAD_DATA, f"unexpected {type(error).__name__}: {_detail(error)}"
