"""What the transaction manager is told (`TxSettings`) and what it keeps about a transaction:
each signed attempt of an intent, the intent in flight, and the result once it landed."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from web3.types import TxReceipt

GWEI = 10**9


@dataclass(frozen=True, slots=True)
class TxSettings:
    """How hard the manager tries. Defaults follow Chainlink's transaction manager."""

    max_fee_per_gas: int | None = None  # wei; None: no cap
    bump_percent: int = 20
    bump_after_blocks: int = 3
    confirmations: int = 1
    poll_interval_s: float = 0.5
    timeout_s: float = 120.0
    gas_headroom: float = 1.2
    fallback_tip: int = GWEI

    def __post_init__(self) -> None:
        if self.bump_percent < 10:
            # Pools refuse a replacement that raises the fees by less than 10%.
            raise ValueError("bump_percent must be at least 10")
        if self.bump_after_blocks < 1 or self.confirmations < 1:
            raise ValueError("bump_after_blocks and confirmations must be at least 1")


@dataclass(frozen=True, slots=True)
class Landed:
    """A transaction mined and confirmed to the configured depth."""

    receipt: TxReceipt
    nonce: int
    sent: int  # distinct transactions signed for the intent (1 + replacements)
    rebroadcasts: int  # same bytes sent again (after a reorg, a drop at the cap)

    @property
    def tx_hash(self) -> str:
        return self.receipt["transactionHash"].to_0x_hex()


@dataclass(frozen=True, slots=True)
class Attempt:
    """One signed transaction of an intent (replacements share its nonce)."""

    tx_hash: str
    raw: bytes
    max_fee: int
    tip: int


@dataclass
class Pending:
    """An intent in flight: its nonce, every attempt, and where it was mined if it was."""

    intent: str
    tx: dict[str, Any]
    nonce: int
    attempts: list[Attempt]
    sent_at_block: int
    included: tuple[int, bytes] | None = None
    held: bool = False
    rebroadcasts: int = 0
    result: Landed | None = field(default=None)
