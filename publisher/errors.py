"""The publisher's exceptions: one root, each subclass says who acts.

web3 and RPC errors are translated into these at the chain boundary (`feed_contract`), so the
node never has to know web3's exception zoo. Only `ChainUnavailableError` and `ReceiptTimeoutError` are
worth an automatic retry; the others need a different input or an operator.
"""

from __future__ import annotations


class PublishError(Exception):
    """Root of everything the publisher raises on purpose."""


class ChainUnavailableError(PublishError):
    """The RPC endpoint did not answer or answered garbage. Retry with backoff, or fail over
    to another RPC endpoint; ignore if it is related to temporary network issues."""


class ReceiptTimeoutError(PublishError):
    """The transaction was sent but no receipt arrived in time. It may still be mined: keep
    watching `tx_hash`, or replace it with the same nonce and a higher fee."""

    def __init__(self, tx_hash: str, timeout_s: float) -> None:
        super().__init__(f"no receipt for {tx_hash} after {timeout_s:g} s")
        self.tx_hash = tx_hash
        self.timeout_s = timeout_s


class TransactionRevertedError(PublishError):
    """The contract refused the call. `error_name` is the decoded custom error (e.g.
    `StaleObservation`), `Error` for a revert string, `Panic`, or `unknown`. Do not retry the
    same input: fix the observations (or the signer set) first."""

    def __init__(
        self, error_name: str, args: tuple[object, ...] = (), tx_hash: str | None = None
    ) -> None:
        where = f" in {tx_hash}" if tx_hash else ""
        super().__init__(f"contract reverted with {error_name}{args!r}{where}")
        self.error_name = error_name
        self.error_args = args
        self.tx_hash = tx_hash


class InvalidReportError(PublishError):
    """The observations cannot be packed into a report the contract accepts (a value or
    timestamp out of the Solidity types' range, a signature that is not 65 bytes with v 27/28
    and low s). Nothing was sent: fix or drop the offending observation."""


class InsufficientFundsError(PublishError):
    """The sender cannot pay for gas. The operator funds the sender account."""


class NonceConflictError(PublishError):
    """The nonce was already used or a pending transaction holds it. Resync the nonce from
    the chain (pending state) and rebuild the transaction."""


class NonceTooLowError(NonceConflictError):
    """The node has already mined a transaction with this nonce: the local nonce is behind.
    The transaction manager resyncs from the chain and, for a replacement, looks for the
    receipt of the transaction that took the nonce."""


class ReplacementUnderpricedError(PublishError):
    """A same-nonce replacement did not raise the fees enough for the RPC node's pool. The
    transaction manager bumps again on its next turn; nothing to do unless the fee cap stops it."""


class FeeCapError(PublishError):
    """The fee needed is above what this transaction may pay (the node's configured cap, or
    the RPC node's own limit). The transaction is held; the operator raises the cap or waits
    for the base fee to fall."""


class RemoteSignerError(PublishError):
    """The remote signer refused, was unreachable, or returned a signature that does not
    recover to the configured address. The operator checks the signer service."""


class KeystoreError(PublishError):
    """A keystore or passphrase file is missing, malformed or does not match. The operator
    fixes the file; the message names the file, never a secret."""
