"""The node's chain side: one sender key, one observation signer, one `FeedContract` per feed.

Transactions go through one `TransactionManager` (nonces, fee bumps, confirmations, reorgs)
over an `RpcPool` (several endpoints, failover). Observations are signed by the node's key, or
by a remote signer over JSON-RPC when `chain.remote_signer_url` is set.

Each feed's contract says its report format (`REPORT_FORMAT()`): an OracleFeed (ECDSA) or an
OracleFeedAggregate (one Schnorr multi-signature, made with the node's own key: a remote signer
cannot make one). Alone, the node signs an aggregate feed's report by itself; in a quorum the
relay has its members co-sign it (`node.cosign_relay`) and sends it with `submit_report`.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

from eth_utils.address import to_checksum_address

from node.config import ChainConfig, ConfigError
from node.cosign import AggregateFeed, body_of
from node.status import Receipt
from publisher.aggregate_report import (
    AGGREGATE_REPORT_FORMAT,
    encode_aggregate_report,
    report_digest,
)
from publisher.eip712 import Domain, SignedObservation
from publisher.errors import InvalidReportError, TransactionRevertedError
from publisher.feed_contract import FeedContract, TxOutcome
from publisher.keys import LocalSigner, Signer, load_account
from publisher.policy import LastPublished
from publisher.remote_signer import RemoteSigner
from publisher.rpc import RpcPool
from publisher.schnorr import SchnorrSigner
from publisher.tx_types import GWEI, TxSettings
from publisher.txmanager import TransactionManager

log = logging.getLogger("oracle.node.chain")


def tx_settings(config: ChainConfig) -> TxSettings:
    """The transaction manager's settings from the `[chain]` section."""
    return TxSettings(
        max_fee_per_gas=None if config.max_fee_gwei is None else int(config.max_fee_gwei * GWEI),
        bump_percent=config.bump_percent,
        bump_after_blocks=config.bump_after_blocks,
        confirmations=config.confirmations,
        poll_interval_s=config.poll_interval_s,
        timeout_s=config.receipt_timeout_s,
    )


class ContractChain:
    """Implements the node's `Chain` protocol over deployed OracleFeed contracts."""

    def __init__(
        self,
        rpc: RpcPool,
        manager: TransactionManager,
        signer: Signer,
        contracts: Mapping[str, FeedContract],
        schnorr: SchnorrSigner | None = None,
        aggregate: Mapping[str, AggregateFeed] | None = None,
    ) -> None:
        self._rpc = rpc
        self._manager = manager
        self._signer = signer
        self._contracts = dict(contracts)
        self.schnorr = schnorr
        """The node's Schnorr side (None with a remote signer)."""
        self._aggregate = dict(aggregate or {})

    @classmethod
    async def connect(cls, config: ChainConfig, addresses: Mapping[str, str]) -> ContractChain:
        """Load the key, reach the RPC endpoints, check the chain id, attach to every feed."""
        account = load_account(config.keystore, config.passphrase_file)
        rpc = RpcPool.from_urls(
            config.endpoints(), timeout_s=config.rpc_timeout_s, cooldown_s=config.rpc_cooldown_s
        )
        try:
            chain_id = await rpc.connect(config.chain_id)
        except BaseException:
            await rpc.close()
            raise
        manager = TransactionManager(
            rpc, account, chain_id, tx_settings(config), on_event=_log_event
        )
        signer: Signer = LocalSigner(account)
        schnorr: SchnorrSigner | None = SchnorrSigner(bytes(account.key))
        if config.remote_signer_url is not None and config.remote_signer_address is not None:
            signer = RemoteSigner(config.remote_signer_url, config.remote_signer_address)
            schnorr = None
        contracts = {}
        aggregate = {}

        def attach(address: str, name: str = "OracleFeed") -> FeedContract:
            return FeedContract(
                rpc.primary,
                address,
                chain_id,
                receipt_timeout_s=config.receipt_timeout_s,
                rpc=rpc,
                contract=name,
            )

        try:
            for feed, address in addresses.items():
                contract = attach(address)
                if await contract.report_format() == AGGREGATE_REPORT_FORMAT:
                    if schnorr is None:
                        raise ConfigError(
                            f"feed {feed}: contract {address} is an OracleFeedAggregate, which "
                            "takes Schnorr multi-signatures a remote signer cannot make; sign "
                            "with the keystore (drop chain.remote_signer_url) or use an "
                            "OracleFeed"
                        )
                    contract = attach(address, "OracleFeedAggregate")
                    aggregate[feed] = await _members(contract)
                contracts[feed] = contract
        except BaseException:
            await rpc.close()
            raise
        return cls(rpc, manager, signer, contracts, schnorr, aggregate)

    def aggregate_feed(self, feed: str) -> AggregateFeed | None:
        """An aggregate feed's members, keys, quorum and domain (read at start); None for an
        ECDSA feed."""
        return self._aggregate.get(feed)

    async def close(self) -> None:
        if isinstance(self._signer, RemoteSigner):
            await self._signer.close()
        await self._rpc.close()

    @property
    def address(self) -> str:
        """The address that signs observations (the sender's, unless a remote signer signs)."""
        return self._signer.address

    @property
    def sender(self) -> str:
        return self._manager.address

    async def sender_state(self) -> tuple[int, int]:
        """The sender's balance in wei and its transactions still in the mempool (pending nonce
        minus mined nonce), for the metrics; raises the RPC pool's errors."""
        address = self._manager.address
        balance = await self._rpc.run(lambda w3: w3.eth.get_balance(address))
        mined = await self._rpc.run(lambda w3: w3.eth.get_transaction_count(address, "latest"))
        pooled = await self._rpc.run(lambda w3: w3.eth.get_transaction_count(address, "pending"))
        return int(balance), max(0, int(pooled) - int(mined))

    def domain(self, feed: str) -> Domain:
        """The EIP-712 domain observations for `feed` are signed under."""
        return self._contracts[feed].domain()

    def contract_address(self, feed: str) -> str | None:
        contract = self._contracts.get(feed)
        return None if contract is None else contract.address

    async def latest(self, feed: str) -> LastPublished | None:
        try:
            data = await self._contracts[feed].latest_round_data()
        except TransactionRevertedError as exc:
            if exc.error_name == "NoDataPresent":
                return None
            raise
        return LastPublished(data.answer, data.updated_at)

    async def signer_set(self, feed: str) -> list[str]:
        """The feed contract's authorized signers (checksum addresses)."""
        return [to_checksum_address(s) for s in await self._contracts[feed].signers()]

    async def quorum(self, feed: str) -> int:
        return await self._contracts[feed].quorum()

    async def newest_observation_s(self, feed: str) -> int:
        """The newest observation timestamp the contract accepted: a report's observations
        must all be newer."""
        return await self._contracts[feed].latest_observation_timestamp()

    async def sign(self, feed: str, answer: int, timestamp_s: int) -> SignedObservation:
        return await self._signer.sign_observation(
            self._contracts[feed].domain(), answer, timestamp_s
        )

    async def submit(
        self,
        feed: str,
        observations: Sequence[SignedObservation],
        intent_id: str | None = None,
    ) -> Receipt:
        """Publish once. `intent_id` (the journal's id for this publication) makes a retry of
        the same publication return the first transaction instead of sending another; by
        default the id is derived from the signatures, which identifies it just as well."""
        contract = self._contracts[feed]
        intent = None if intent_id is None else f"{feed}:{intent_id}"
        members = self._aggregate.get(feed)
        if members is None:
            return _receipt(await contract.submit(observations, self._manager, intent=intent))
        # An aggregate feed alone: this node's observations, under its own signature.
        if self.schnorr is None or {o.signer for o in observations} != {self.schnorr.address}:
            raise InvalidReportError(
                f"feed {feed} takes co-signed reports: only this node's own observations can "
                "be signed alone"
            )
        body = body_of(observations[:1], members)
        s, r_address = self.schnorr.sign_alone(report_digest(members.domain, body))
        report = encode_aggregate_report(body, s, r_address, members.keys)
        return _receipt(await contract.submit_report(report, self._manager, intent=intent))

    async def submit_report(
        self, feed: str, report: bytes, intent_id: str | None = None
    ) -> Receipt:
        """Publish a report already signed (an aggregate feed's co-signed report) once."""
        intent = None if intent_id is None else f"{feed}:{intent_id}"
        outcome = await self._contracts[feed].submit_report(report, self._manager, intent=intent)
        return _receipt(outcome)


async def _members(contract: FeedContract) -> AggregateFeed:
    """An aggregate feed's members, keys, quorum and domain, as its contract holds them now."""
    keys = await contract.signer_keys()
    return AggregateFeed(
        tuple(k.address for k in keys), tuple(keys), await contract.quorum(), contract.domain()
    )


def _receipt(outcome: TxOutcome) -> Receipt:
    return Receipt(
        tx_hash=outcome.tx_hash,
        block_number=outcome.block_number,
        onchain_round_id=outcome.round_id or 0,
        gas_used=outcome.gas_used,
        effective_gas_price=outcome.effective_gas_price,
    )


def _log_event(kind: str, detail: dict[str, Any]) -> None:
    if kind in ("replaced", "reorged"):
        log.warning("transaction %s: %s", kind, detail)
    else:
        log.debug("transaction %s: %s", kind, detail)
