"""The node's chain side: one sender/signer key and one `FeedContract` per on-chain feed."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from eth_account.signers.local import LocalAccount
from web3 import AsyncHTTPProvider, AsyncWeb3

from node.config import ChainConfig
from node.service import Receipt
from publisher.eip712 import Domain, SignedObservation
from publisher.errors import PublishError, TransactionRevertedError
from publisher.feed_contract import FeedContract
from publisher.keys import LocalSigner, load_account
from publisher.policy import LastPublished


class ContractChain:
    """Implements the node's `Chain` protocol over deployed OracleFeed contracts."""

    def __init__(
        self, w3: AsyncWeb3[Any], account: LocalAccount, contracts: Mapping[str, FeedContract]
    ) -> None:
        self._w3 = w3
        self._account = account
        self._signer = LocalSigner(account)
        self._contracts = dict(contracts)

    @classmethod
    async def connect(cls, config: ChainConfig, addresses: Mapping[str, str]) -> ContractChain:
        """Load the key, reach the RPC, check the chain id, attach to every feed contract."""
        account = load_account(config.keystore, config.passphrase_file)
        w3: AsyncWeb3[Any] = AsyncWeb3(
            AsyncHTTPProvider(config.rpc_url, request_kwargs={"timeout": 10})
        )
        contracts = {
            feed: await FeedContract.at(w3, address, receipt_timeout_s=config.receipt_timeout_s)
            for feed, address in addresses.items()
        }
        for feed, contract in contracts.items():
            if config.chain_id is not None and contract.chain_id != config.chain_id:
                raise PublishError(
                    f"RPC {config.rpc_url} is chain {contract.chain_id}, config says "
                    f"{config.chain_id}: refusing to publish {feed} there"
                )
        return cls(w3, account, contracts)

    async def close(self) -> None:
        await self._w3.provider.disconnect()

    @property
    def address(self) -> str:
        return self._signer.address

    def domain(self, feed: str) -> Domain:
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

    async def sign(self, feed: str, answer: int, timestamp_s: int) -> SignedObservation:
        return await self._signer.sign_observation(
            self._contracts[feed].domain(), answer, timestamp_s
        )

    async def submit(self, feed: str, observations: Sequence[SignedObservation]) -> Receipt:
        outcome = await self._contracts[feed].submit(observations, self._account)
        return Receipt(
            tx_hash=outcome.tx_hash,
            block_number=outcome.block_number,
            onchain_round_id=outcome.round_id or 0,
            gas_used=outcome.gas_used,
        )
