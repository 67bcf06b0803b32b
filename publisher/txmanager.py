"""`TransactionManager`: gets one sender's transactions mined, once each, at a bounded price.

What it guarantees, per sender:
- Nonces are tracked locally (first read from the chain's pending count) and resynced from the
  chain when a node says "nonce too low". A nonce is consumed only by a broadcast that the RPC
  node accepted, so a refused send (insufficient funds, a revert found by simulation, a fee
  cap) leaves no gap and loses nothing: the same intent can be sent again later.
- Each publication is an *intent* (an id the caller journals before sending). A second `send`
  of the same intent never creates a second transaction: it returns the first one's result or
  resumes watching it. Every transaction of an intent shares one nonce (same-nonce
  replacements), so at most one of them can ever be mined.
- `lane` (the feed contract) serializes intents: never two competing updates for one feed.
- EIP-1559 fees: maxFeePerGas = 2 x base fee + tip, never above the configured cap.
- A transaction not mined after `bump_after_blocks` blocks (a stuck or dropped one) is
  replaced with fees raised by `bump_percent` (at least the current market fees), up to the
  cap; at the cap it is held, re-broadcast as it is, and an alert is raised.
- A receipt counts after `confirmations` blocks and only while its block is still canonical;
  a transaction that a reorg removed is broadcast again (the same signed bytes).
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections import OrderedDict
from collections.abc import Callable
from functools import partial
from typing import Any, cast

from eth_account.signers.local import LocalAccount
from eth_typing import ChecksumAddress
from hexbytes import HexBytes
from web3 import AsyncWeb3
from web3.exceptions import (
    ContractLogicError,
    MethodUnavailable,
    TransactionNotFound,
    Web3RPCError,
)
from web3.types import TxParams, TxReceipt

from publisher.chain_errors import RevertDecoder
from publisher.errors import (
    FeeCapError,
    NonceConflictError,
    NonceTooLowError,
    ReceiptTimeoutError,
    ReplacementUnderpricedError,
    TransactionRevertedError,
)
from publisher.rpc import RpcPool
from publisher.tx_types import GWEI, Attempt, Landed, Pending, TxSettings

log = logging.getLogger("oracle.publisher.tx")
_KEEP_RESULTS = 512

TxEvent = Callable[[str, dict[str, Any]], None]


class TransactionManager:
    """One sender's transactions over an `RpcPool`. Safe for concurrent `send` calls."""

    def __init__(
        self,
        rpc: RpcPool,
        account: LocalAccount,
        chain_id: int,
        settings: TxSettings | None = None,
        *,
        on_event: TxEvent | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._rpc = rpc
        self._account = account
        self._chain_id = chain_id
        self.settings = settings or TxSettings()
        self._on_event = on_event
        self._clock = clock
        self._nonce: int | None = None
        self._nonce_lock = asyncio.Lock()
        self._lanes: dict[str, asyncio.Lock] = {}
        self._intents: OrderedDict[str, Pending] = OrderedDict()

    @property
    def address(self) -> ChecksumAddress:
        address: ChecksumAddress = self._account.address
        return address

    @property
    def rpc(self) -> RpcPool:
        return self._rpc

    async def send(
        self, intent: str, call: dict[str, Any], decoder: RevertDecoder, *, lane: str = ""
    ) -> Landed:
        """Get `call` ({"to"?, "data"}) mined once for `intent`; see the module docstring.

        Raises `TransactionRevertedError` when the chain refuses the call (found by simulation
        before anything is sent, or from a mined status-0 receipt), `InsufficientFundsError`
        or `FeeCapError` when nothing could be sent (send the same intent again later),
        `ReceiptTimeoutError` when the transaction is still unconfirmed after `timeout_s`
        (it stays tracked: sending the same intent again resumes watching it)."""
        lock = self._lanes.setdefault(lane or intent, asyncio.Lock())
        async with lock:
            pending = self._intents.get(intent)
            if pending is not None and pending.result is not None:
                return pending.result
            if pending is None:
                pending = await self._send_new(intent, call, decoder)
                self._remember(pending)
            pending.result = await self._watch(pending, decoder)
            return pending.result

    async def resync_nonce(self) -> int:
        """Forget the local nonce and read the chain's pending count."""
        async with self._nonce_lock:
            self._nonce = None
            return await self._take_nonce()

    # ------------------------------------------------------------------ sending

    async def _send_new(self, intent: str, call: dict[str, Any], decoder: RevertDecoder) -> Pending:
        tx: dict[str, Any] = {
            **call,
            "from": self.address,
            "value": 0,
            "chainId": self._chain_id,
            "type": 2,
        }
        if self._nonce is None:
            await self._settle_earlier_transactions()
        gas = await self._rpc.run(lambda w3: w3.eth.estimate_gas(cast(TxParams, tx)), decoder)
        tx["gas"] = int(gas * self.settings.gas_headroom)
        async with self._nonce_lock:
            for _ in range(2):
                nonce = await self._take_nonce()
                max_fee, tip = await self._market_fees(capped=True)
                attempt = self._sign(tx, nonce, max_fee, tip)
                try:
                    await self._broadcast(attempt, decoder)
                except NonceTooLowError:
                    self._nonce = None  # another process used the key: resync and retry once
                    continue
                self._nonce = nonce + 1
                head = await self._head()
                self._event("sent", intent=intent, nonce=nonce, tx=attempt.tx_hash, max_fee=max_fee)
                return Pending(intent, tx, nonce, [attempt], head)
        raise NonceConflictError(f"nonce for {self.address} keeps being taken: is the key shared?")

    async def _settle_earlier_transactions(self) -> None:
        """Before this manager's first send: wait until the transactions this key left pending
        (a previous run of the node, killed after a broadcast) are mined. The simulation that
        follows then sees their effect, so an observation that already went out is refused
        (`StaleObservation`) instead of being sent a second time."""
        deadline = self._clock() + self.settings.timeout_s
        while True:
            mined = await self._rpc.run(
                lambda w3: w3.eth.get_transaction_count(self.address, "latest")
            )
            pooled = await self._rpc.run(
                lambda w3: w3.eth.get_transaction_count(self.address, "pending")
            )
            if int(pooled) <= int(mined):
                return
            if self._clock() > deadline:
                raise NonceConflictError(
                    f"{int(pooled) - int(mined)} transaction(s) of {self.address} sent before "
                    "this start are still pending; they are waited for before anything new is "
                    "sent. Check the RPC node's pool or raise the fee cap."
                )
            await asyncio.sleep(self.settings.poll_interval_s)

    def _sign(self, tx: dict[str, Any], nonce: int, max_fee: int, tip: int) -> Attempt:
        signed = self._account.sign_transaction(
            {**tx, "nonce": nonce, "maxFeePerGas": max_fee, "maxPriorityFeePerGas": tip}
        )
        return Attempt(signed.hash.to_0x_hex(), bytes(signed.raw_transaction), max_fee, tip)

    async def _broadcast(self, attempt: Attempt, decoder: RevertDecoder) -> None:
        try:
            await self._rpc.run(lambda w3: w3.eth.send_raw_transaction(attempt.raw), decoder)
        except NonceConflictError as exc:
            if "already known" not in str(exc).lower():
                raise

    async def _take_nonce(self) -> int:
        if self._nonce is None:
            self._nonce = int(
                await self._rpc.run(
                    lambda w3: w3.eth.get_transaction_count(self.address, "pending")
                )
            )
        return self._nonce

    async def _market_fees(self, *, capped: bool) -> tuple[int, int]:
        """(maxFeePerGas, maxPriorityFeePerGas) for the next block, capped if asked."""
        block = await self._rpc.run(lambda w3: w3.eth.get_block("latest"))
        base = int(block.get("baseFeePerGas", 0))
        tip = await self._rpc.run(self._tip)
        # Twice the base fee survives six full blocks of base-fee growth (12.5% each).
        max_fee = 2 * base + tip
        return self._cap(max_fee, tip) if capped else (max_fee, tip)

    async def _tip(self, w3: AsyncWeb3[Any]) -> int:
        try:
            return int(await w3.eth.max_priority_fee)
        except (Web3RPCError, MethodUnavailable, NotImplementedError, ValueError):
            # Not every node implements eth_maxPriorityFeePerGas (eth-tester does not).
            return self.settings.fallback_tip

    def _cap(self, max_fee: int, tip: int) -> tuple[int, int]:
        cap = self.settings.max_fee_per_gas
        if cap is None:
            return max_fee, tip
        max_fee = min(max_fee, cap)
        return max_fee, min(tip, max_fee)

    # ------------------------------------------------------------------ watching

    async def _watch(self, pending: Pending, decoder: RevertDecoder) -> Landed:
        deadline = self._clock() + self.settings.timeout_s
        while True:
            head = await self._head()
            found = await self._find_receipt(pending)
            if found is not None:
                landed = await self._check_included(pending, found, head, decoder)
                if landed is not None:
                    return landed
            elif pending.included is not None:
                await self._after_reorg(pending, head, decoder)
            elif head - pending.sent_at_block >= self.settings.bump_after_blocks:
                await self._replace(pending, head, decoder)
            if self._clock() > deadline:
                raise ReceiptTimeoutError(pending.attempts[-1].tx_hash, self.settings.timeout_s)
            await asyncio.sleep(self.settings.poll_interval_s)

    async def _find_receipt(self, pending: Pending) -> TxReceipt | None:
        for attempt in reversed(pending.attempts):
            receipt = await self._rpc.run(partial(_receipt_or_none, tx_hash=attempt.tx_hash))
            if receipt is not None:
                return receipt
        return None

    async def _check_included(
        self, pending: Pending, receipt: TxReceipt, head: int, decoder: RevertDecoder
    ) -> Landed | None:
        where = (int(receipt["blockNumber"]), bytes(receipt["blockHash"]))
        if pending.included != where:
            pending.included = where
            self._event(
                "included",
                intent=pending.intent,
                tx=receipt["transactionHash"].to_0x_hex(),
                block=where[0],
            )
        if receipt["status"] != 1:
            name, args = await self._replay_revert(pending.tx, where[0], decoder)
            raise TransactionRevertedError(name, args, receipt["transactionHash"].to_0x_hex())
        if head - where[0] + 1 < self.settings.confirmations:
            return None
        block = await self._rpc.run(lambda w3: w3.eth.get_block(where[0]))
        if bytes(block["hash"]) != where[1]:
            return None  # reorged under us: the next turn finds the receipt (or not) again
        landed = Landed(receipt, pending.nonce, len(pending.attempts), pending.rebroadcasts)
        self._event("confirmed", intent=pending.intent, tx=landed.tx_hash, block=where[0])
        return landed

    async def _after_reorg(self, pending: Pending, head: int, decoder: RevertDecoder) -> None:
        """The receipt we saw is gone: its block left the canonical chain. Send the same
        signed bytes again (same nonce: it can land at most once)."""
        assert pending.included is not None
        log.warning(
            "transaction %s of %s was in block %d, which a reorg removed; sending it again",
            pending.attempts[-1].tx_hash,
            pending.intent,
            pending.included[0],
        )
        block = pending.included[0]
        pending.included = None
        await self._rebroadcast(pending, decoder)
        pending.sent_at_block = head
        # After the re-send: whoever reacts to the event (mines, checks the pool) finds it there.
        self._event("reorged", intent=pending.intent, block=block)

    async def _rebroadcast(self, pending: Pending, decoder: RevertDecoder) -> None:
        try:
            await self._broadcast(pending.attempts[-1], decoder)
        except (NonceTooLowError, ReplacementUnderpricedError, FeeCapError):
            # The nonce is taken (by our tx, found next turn), the tx is still pooled, or the
            # base fee is above what it pays: the next turn tries again.
            return
        pending.rebroadcasts += 1

    async def _replace(self, pending: Pending, head: int, decoder: RevertDecoder) -> None:
        """Not mined for `bump_after_blocks`: stuck or dropped. Replace it with higher fees."""
        pending.sent_at_block = head
        if await self._nonce_taken_elsewhere(pending):
            self._nonce = None
            raise NonceConflictError(
                f"nonce {pending.nonce} of {self.address} was used by a transaction this node "
                "did not send: is the key shared? The nonce is resynced; send again."
            )
        last = pending.attempts[-1]
        market_fee, market_tip = await self._market_fees(capped=False)
        factor = 100 + self.settings.bump_percent
        max_fee = max(math.ceil(last.max_fee * factor / 100), market_fee)
        tip = max(math.ceil(last.tip * factor / 100), market_tip)
        max_fee, tip = self._cap(max_fee, tip)
        if max_fee <= last.max_fee or tip <= last.tip:
            await self._hold_at_cap(pending, decoder, market_fee)
            return
        attempt = self._sign(pending.tx, pending.nonce, max_fee, tip)
        try:
            await self._broadcast(attempt, decoder)
        except NonceTooLowError:
            return  # one of our transactions was mined meanwhile; the next turn finds it
        except FeeCapError:
            # The node will not pool a transaction this cheap for the current base fee:
            # keep the one we have (it lands when fees fall) and tell the operator.
            await self._hold_at_cap(pending, decoder, market_fee)
            return
        except ReplacementUnderpricedError as exc:
            log.warning(
                "replacement of %s refused (%s); retrying in %d blocks",
                last.tx_hash,
                exc,
                self.settings.bump_after_blocks,
            )
            return
        pending.attempts.append(attempt)
        if max_fee == self.settings.max_fee_per_gas:
            self._alert_cap(pending, market_fee)
        self._event("replaced", intent=pending.intent, tx=attempt.tx_hash, max_fee=max_fee, tip=tip)

    async def _hold_at_cap(self, pending: Pending, decoder: RevertDecoder, market_fee: int) -> None:
        self._alert_cap(pending, market_fee)
        await self._rebroadcast(pending, decoder)  # in case a pool dropped it

    def _alert_cap(self, pending: Pending, market_fee: int) -> None:
        if pending.held:
            return
        pending.held = True
        cap = self.settings.max_fee_per_gas
        log.error(
            "transaction for %s held at the fee cap (%s gwei) while the market asks %.3f gwei: "
            "it lands when the base fee falls. Raise chain.max_fee_gwei to publish sooner.",
            pending.intent,
            None if cap is None else cap / GWEI,
            market_fee / GWEI,
            extra={"action": "raise chain.max_fee_gwei, or wait for the base fee to fall"},
        )
        self._event("held_at_cap", intent=pending.intent, cap=cap, market_fee=market_fee)

    async def _nonce_taken_elsewhere(self, pending: Pending) -> bool:
        mined = await self._rpc.run(lambda w3: w3.eth.get_transaction_count(self.address, "latest"))
        if int(mined) <= pending.nonce:
            return False
        # The nonce is used: by ours (a receipt we have not seen yet) or by a stranger's.
        return await self._find_receipt(pending) is None

    async def _head(self) -> int:
        return int(await self._rpc.run(lambda w3: w3.eth.block_number))

    async def _replay_revert(
        self, tx: dict[str, Any], block_number: int, decoder: RevertDecoder
    ) -> tuple[str, tuple[object, ...]]:
        """Why a mined transaction reverted: re-run it as a call on the parent block's state.
        Approximate (other transactions of the block are not replayed) but names the error."""
        call = {k: v for k, v in tx.items() if k in ("from", "to", "data", "gas", "value")}
        try:
            await self._rpc.primary.eth.call(
                cast(TxParams, call), block_identifier=max(block_number - 1, 0)
            )
        except ContractLogicError as exc:
            return decoder.decode(exc.data)
        except Exception:
            return "unknown", ()
        return "unknown", ()

    def _remember(self, pending: Pending) -> None:
        self._intents[pending.intent] = pending
        while len(self._intents) > _KEEP_RESULTS:
            oldest = next(iter(self._intents.values()))
            if oldest.result is None:
                break  # never forget an intent still in flight
            self._intents.popitem(last=False)

    def _event(self, kind: str, **detail: Any) -> None:
        log.debug("tx %s %s", kind, detail)
        if self._on_event is not None:
            self._on_event(kind, detail)


async def _receipt_or_none(w3: AsyncWeb3[Any], *, tx_hash: str) -> TxReceipt | None:
    try:
        return await w3.eth.get_transaction_receipt(HexBytes(tx_hash))
    except TransactionNotFound:
        return None
