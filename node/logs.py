"""Structured logs: one JSON object per line on stderr (or a console rendering for people).

Every logger of the process goes through structlog's `ProcessorFormatter`, the project's own
`logging.getLogger(...)` calls and the libraries' alike, so every line parses as JSON. Fields:
`timestamp` (ISO 8601, UTC), `level`, `logger`, `event` (the message), and when known `feed`
and `round_id` (bound for the duration of a round with `round_context`, or passed per call as
`extra={"feed": ...}`). A line that needs an operator carries `action`: what to do.

Messages name files and addresses, never key material (the publisher's errors are built so).
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Final, Literal, TextIO

import structlog
from structlog.typing import Processor

from aggregator.types import Aggregate

LogFormat = Literal["json", "console", "auto"]

NOISY: Final = ("apscheduler", "web3", "aiohttp.access")
"""Libraries whose INFO lines are per request or per job: noise at an oracle's pace."""

_HANDLER_NAME: Final = "oracle-node"


def _shared() -> list[Processor]:
    return [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.stdlib.ExtraAdder(),
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]


class _StderrHandler(logging.StreamHandler[TextIO]):
    """Writes each record to `sys.stderr` as it is when the record is emitted, not as it was
    when logging was configured: whoever replaces stderr later (a test harness, a daemonizer)
    never leaves the node writing to a closed file."""

    def emit(self, record: logging.LogRecord) -> None:
        self.stream = sys.stderr
        super().emit(record)


def configure_logging(
    level: str = "INFO", fmt: LogFormat = "auto", stream: TextIO | None = None
) -> None:
    """Route every log record of the process to `stream` (stderr) as JSON lines.

    `fmt="auto"` renders for a console when the stream is a terminal, JSON otherwise. Calling
    it again replaces the handler it installed (and only that one).
    """
    out = stream if stream is not None else sys.stderr
    console = fmt == "console" or (fmt == "auto" and out.isatty())
    renderer: Processor = (
        structlog.dev.ConsoleRenderer(colors=False)
        if console
        else structlog.processors.JSONRenderer(sort_keys=False)
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=_shared(),
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info,
            renderer,
        ],
    )
    handler: logging.StreamHandler[TextIO] = (
        logging.StreamHandler(stream) if stream is not None else _StderrHandler(out)
    )
    handler.set_name(_HANDLER_NAME)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    for old in [h for h in root.handlers if h.get_name() == _HANDLER_NAME]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    for noisy in NOISY:
        logging.getLogger(noisy).setLevel(logging.DEBUG if level == "DEBUG" else logging.WARNING)
    structlog.configure(
        processors=[
            structlog.stdlib.filter_by_level,
            *_shared(),
            structlog.stdlib.PositionalArgumentsFormatter(),
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )


@contextmanager
def round_context(round_id: int) -> Iterator[None]:
    """Every line logged inside the block (in this task and the tasks it starts) carries
    `round_id`."""
    with structlog.contextvars.bound_contextvars(round_id=round_id):
        yield


def fields(*, feed: str | None = None, action: str | None = None, **more: Any) -> dict[str, Any]:
    """`extra=` for a stdlib log call: the structured fields of the line (None values left out)."""
    out: dict[str, Any] = {k: v for k, v in more.items() if v is not None}
    if feed is not None:
        out["feed"] = feed
    if action is not None:
        out["action"] = action
    return out


def publish_action(error: Exception, sender: str, chain_id: int | None) -> str | None:
    """What the operator does about a failed publication, or None when the node recovers alone."""
    from publisher import errors

    on_chain = "" if chain_id is None else f" on chain {chain_id}"
    if isinstance(error, errors.InsufficientFundsError):
        return f"fund {sender}{on_chain}; publication resumes by itself once funded"
    if isinstance(error, errors.FeeCapError):
        return "raise chain.max_fee_gwei, or wait for the base fee to fall"
    if isinstance(error, errors.ChainUnavailableError):
        return "check the RPC endpoints (chain.rpc_url / chain.rpc_urls)"
    if isinstance(error, errors.TransactionRevertedError):
        return (
            "compare the feed contract's signer set and quorum with this node's address and the "
            "feed's config; the revert names the failed check"
        )
    if isinstance(error, errors.RemoteSignerError):
        return "check the remote signer service (chain.remote_signer_url)"
    if isinstance(error, errors.KeystoreError):
        return "fix chain.keystore / chain.passphrase_file"
    if isinstance(error, errors.ReceiptTimeoutError):
        return "if this repeats, raise chain.max_fee_gwei or chain.receipt_timeout_s"
    return None


def breaker_action(feed: str, aggregate: Aggregate) -> str:
    """What to do when a feed's breaker opens: look at the venues the aggregate rejected, else
    at all it used (they moved together)."""
    pair = feed.replace("/", "-")
    venues = sorted({r.source for r in aggregate.rejected}) or sorted(
        {s.source for s in aggregate.used}
    )
    checked = ", ".join(venues) if venues else "the feed's venues"
    return (
        f"check venues {checked} (GET /v1/venues); if the move is real and must be followed now, "
        f"reset with POST /v1/admin/feeds/{pair}/breaker/reset"
    )
