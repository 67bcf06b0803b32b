"""`FeedContract`: one deployed OracleFeed or OracleFeedAggregate, driven over `web3.AsyncWeb3`.

Transactions are EIP-1559, signed locally and sent raw through a `TransactionManager`, so the
RPC node never holds a key. Each transaction is simulated first (eth_estimateGas): a report the
contract would refuse raises `TransactionRevertedError` with the contract's custom error name
before any gas is spent. Every web3 / RPC error leaves this module as a `PublishError`.

`submit` takes the sender either as a `LocalAccount` (a one-shot manager with default
settings: scripts, tests, deployment) or as the node's long-lived `TransactionManager`.
A report is the raw calldata of the contract (see `publisher.report`). The signer set, which
reports are encoded against, is read from the contract once and re-read when the contract says
the report was built for another set (`SignerSetMismatch`).

An OracleFeedAggregate (`deploy_aggregate`, `contract="OracleFeedAggregate"`) takes reports
signed by one Schnorr multi-signature, which whoever relays builds (`publisher.aggregate_report`)
and publishes with `submit_report`; its reads are the same.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any, cast

from eth_abi.abi import encode as abi_encode
from eth_account.signers.local import LocalAccount
from eth_utils.address import to_checksum_address
from eth_utils.crypto import keccak
from hexbytes import HexBytes
from web3 import AsyncWeb3
from web3.types import TxReceipt

from publisher.chain_errors import RevertDecoder, translate_errors
from publisher.compile import load_artifact
from publisher.eip712 import Domain, SignedObservation
from publisher.errors import InvalidReportError, PublishError, TransactionRevertedError
from publisher.report import encode_report
from publisher.rpc import RpcPool
from publisher.schnorr import Key
from publisher.tx_types import Landed, TxSettings
from publisher.txmanager import TransactionManager

_ANSWER_UPDATED_TOPIC = keccak(text="AnswerUpdated(int256,uint256,uint256)")
Sender = LocalAccount | TransactionManager


@dataclass(frozen=True, slots=True)
class RoundData:
    """AggregatorV3Interface's round tuple. started_at == updated_at == the oldest
    observation timestamp of the round's batch (unix seconds)."""

    round_id: int
    answer: int
    started_at: int
    updated_at: int
    answered_in_round: int


@dataclass(frozen=True, slots=True)
class TxOutcome:
    """A mined transaction. `status` is 1 (a status-0 receipt raises instead);
    `round_id` is the round a submit created, None for other transactions."""

    tx_hash: str
    block_number: int
    status: int
    gas_used: int
    round_id: int | None
    effective_gas_price: int = 0
    """Wei per gas the transaction paid (the receipt's `effectiveGasPrice`)."""


@cache
def _artifact(name: str = "OracleFeed") -> dict[str, Any]:
    return load_artifact(name)


class FeedContract:
    """One OracleFeed contract on one chain. Construct with `deploy` or `at`."""

    def __init__(
        self,
        w3: AsyncWeb3[Any],
        address: str,
        chain_id: int,
        *,
        receipt_timeout_s: float = 60.0,
        rpc: RpcPool | None = None,
        contract: str = "OracleFeed",
    ) -> None:
        """`rpc`, when given, serves every read with failover (`w3` then only encodes);
        `contract` names the deployed contract (OracleFeed or OracleFeedAggregate)."""
        self._w3 = w3
        self._rpc = rpc
        self._address = to_checksum_address(address)
        self._chain_id = chain_id
        self._receipt_timeout_s = receipt_timeout_s
        self._abi = _artifact(contract)["abi"]
        self.contract_name = contract
        self._contract = w3.eth.contract(address=self._address, abi=self._abi)
        self._decoder = RevertDecoder(self._abi)
        self._signer_set: list[str] | None = None

    @classmethod
    async def at(
        cls,
        w3: AsyncWeb3[Any],
        address: str,
        *,
        receipt_timeout_s: float = 60.0,
        contract: str = "OracleFeed",
    ) -> FeedContract:
        """Attach to an already deployed feed."""
        with translate_errors(RevertDecoder([])):
            chain_id = await w3.eth.chain_id
        return cls(w3, address, chain_id, receipt_timeout_s=receipt_timeout_s, contract=contract)

    @classmethod
    async def deploy(
        cls,
        w3: AsyncWeb3[Any],
        sender: Sender,
        decimals: int,
        description: str,
        signers: Sequence[str],
        quorum: int,
        *,
        receipt_timeout_s: float = 60.0,
        new_round_event: bool = True,
    ) -> FeedContract:
        """Deploy a feed owned by the sender, with `signers` and `quorum` as its signer set.
        Without `new_round_event` updates emit AnswerUpdated only (1,756 gas less each)."""
        args = abi_encode(
            ["uint8", "string", "address[]", "uint8", "bool"],
            [
                decimals,
                description,
                [to_checksum_address(s) for s in signers],
                quorum,
                new_round_event,
            ],
        )
        return await cls._deploy(w3, sender, "OracleFeed", args, receipt_timeout_s)

    @classmethod
    async def deploy_aggregate(
        cls,
        w3: AsyncWeb3[Any],
        sender: Sender,
        decimals: int,
        description: str,
        keys: Sequence[Key],
        proofs: Sequence[tuple[bytes, bytes]],
        quorum: int,
        *,
        receipt_timeout_s: float = 60.0,
        new_round_event: bool = True,
    ) -> FeedContract:
        """Deploy an OracleFeedAggregate: the members' public keys, each with its proof of
        possession (`publisher.schnorr.prove_possession`), and the quorum."""
        args = abi_encode(
            ["uint8", "string", "uint256[2][]", "bytes32[2][]", "uint8", "bool"],
            [
                decimals,
                description,
                [[k.x, k.y] for k in keys],
                [list(p) for p in proofs],
                quorum,
                new_round_event,
            ],
        )
        return await cls._deploy(w3, sender, "OracleFeedAggregate", args, receipt_timeout_s)

    @classmethod
    async def _deploy(
        cls, w3: AsyncWeb3[Any], sender: Sender, contract: str, args: bytes, timeout_s: float
    ) -> FeedContract:
        artifact = _artifact(contract)
        with translate_errors(RevertDecoder([])):
            chain_id = await w3.eth.chain_id
        manager = _manager(w3, sender, chain_id, timeout_s)
        landed = await manager.send(
            f"deploy:{uuid.uuid4()}",
            {"data": HexBytes(artifact["bytecode"]) + args},
            RevertDecoder(artifact["abi"]),
        )
        address = landed.receipt["contractAddress"]
        if address is None:
            raise PublishError("deployment receipt has no contract address")
        return cls(w3, address, chain_id, receipt_timeout_s=timeout_s, contract=contract)

    @property
    def address(self) -> str:
        return self._address

    @property
    def chain_id(self) -> int:
        return self._chain_id

    def domain(self) -> Domain:
        """The EIP-712 domain observations for this feed must be signed under."""
        return Domain(self._chain_id, self._address)

    async def submit(
        self,
        observations: Sequence[SignedObservation],
        sender: Sender,
        *,
        intent: str | None = None,
    ) -> TxOutcome:
        """Publish the median of `observations` as a new round (they are sorted here).

        `intent` makes the publication idempotent (see `TransactionManager.send`); by default
        it is derived from the signatures, so the same observations are never sent twice."""
        intent = intent or self.intent_of(observations)
        for refreshed in (False, True):
            signer_set = await self._current_signer_set(refresh=refreshed)
            try:
                data = HexBytes(encode_report(observations, signer_set))
            except ValueError as exc:
                raise InvalidReportError(str(exc)) from exc
            try:
                return await self._transact(sender, intent, data, is_submit=True)
            except TransactionRevertedError as exc:
                if exc.error_name != "SignerSetMismatch" or refreshed:
                    raise
        raise AssertionError("unreachable")

    async def submit_report(
        self, report: bytes, sender: Sender, *, intent: str | None = None
    ) -> TxOutcome:
        """Publish a report built and signed elsewhere (an OracleFeedAggregate report, see
        `publisher.aggregate_report`); by default its intent is its own hash, so the same
        report is never sent twice."""
        intent = intent or f"report:{self._address}:{keccak(report).hex()}"
        return await self._transact(sender, intent, HexBytes(report), is_submit=True)

    def intent_of(self, observations: Sequence[SignedObservation]) -> str:
        """A stable id for publishing exactly these observations to this feed."""
        digest = keccak(b"".join(sorted(o.signature for o in observations)))
        return f"submit:{self._address}:{digest.hex()}"

    def submit_calldata(
        self, observations: Sequence[SignedObservation], signer_set: Sequence[str]
    ) -> bytes:
        """The exact calldata of `submit` for these observations under `signer_set`: the
        report itself (the contract takes it raw, with no function selector)."""
        return encode_report(observations, signer_set)

    async def set_signers(self, signers: Sequence[str], quorum: int, owner: Sender) -> TxOutcome:
        """Replace the signer set and quorum (owner only)."""
        args = [[to_checksum_address(s) for s in signers], quorum]
        self._signer_set = None
        return await self._transact(
            owner, None, HexBytes(self._contract.encode_abi("setSigners", args=args))
        )

    async def set_signer_keys(
        self,
        keys: Sequence[Key],
        proofs: Sequence[tuple[bytes, bytes]],
        quorum: int,
        owner: Sender,
    ) -> TxOutcome:
        """Replace an OracleFeedAggregate's members (keys with their proofs of possession)
        and quorum (owner only)."""
        args = [[[k.x, k.y] for k in keys], [list(p) for p in proofs], quorum]
        self._signer_set = None
        return await self._transact(
            owner, None, HexBytes(self._contract.encode_abi("setSigners", args=args))
        )

    async def set_quorum(self, quorum: int, owner: Sender) -> TxOutcome:
        """Change the quorum (owner only)."""
        return await self._transact(
            owner, None, HexBytes(self._contract.encode_abi("setQuorum", args=[quorum]))
        )

    async def latest_round_data(self) -> RoundData:
        """The latest round; raises TransactionRevertedError("NoDataPresent") on an empty feed."""
        return RoundData(*await self._call("latestRoundData"))

    async def get_round_data(self, round_id: int) -> RoundData:
        """A recent round (the contract keeps ROUND_HISTORY rounds); older or unknown ids
        raise TransactionRevertedError("RoundNotAvailable")."""
        return RoundData(*await self._call("getRoundData", round_id))

    async def latest_round(self) -> int:
        return cast(int, await self._call("latestRound"))

    async def latest_observation_timestamp(self) -> int:
        return cast(int, await self._call("latestObservationTimestamp"))

    async def decimals(self) -> int:
        return cast(int, await self._call("decimals"))

    async def description(self) -> str:
        return cast(str, await self._call("description"))

    async def signers(self) -> list[str]:
        return cast(list[str], await self._call("signers"))

    async def signer_keys(self) -> list[Key]:
        """The members' public keys (OracleFeedAggregate only)."""
        return [Key(x, y) for x, y in await self._call("signerKeys")]

    async def quorum(self) -> int:
        return cast(int, await self._call("quorum"))

    async def report_format(self) -> int:
        """0x00: an OracleFeed (ECDSA); 0x01: an OracleFeedAggregate (Schnorr)."""
        return cast(int, await self._call("REPORT_FORMAT"))

    async def emits_new_round(self) -> bool:
        """Whether updates emit Chainlink's NewRound besides AnswerUpdated (set at deploy)."""
        return cast(bool, await self._call("emitsNewRound"))

    async def _current_signer_set(self, *, refresh: bool) -> list[str]:
        if self._signer_set is None or refresh:
            self._signer_set = await self.signers()
        return self._signer_set

    async def _call(self, name: str, *args: object) -> Any:
        if self._rpc is not None:
            abi = self._abi
            return await self._rpc.run(
                lambda w3: (
                    w3.eth.contract(address=self._address, abi=abi).functions[name](*args).call()
                ),
                self._decoder,
            )
        with translate_errors(self._decoder):
            return await self._contract.functions[name](*args).call()

    async def _transact(
        self, sender: Sender, intent: str | None, data: HexBytes, *, is_submit: bool = False
    ) -> TxOutcome:
        manager = _manager(self._w3, sender, self._chain_id, self._receipt_timeout_s)
        landed = await manager.send(
            # Owner calls may legitimately repeat (set A, set B, set A again): each is new.
            intent or f"call:{self._address}:{uuid.uuid4()}",
            {"to": self._address, "data": data},
            self._decoder,
            lane=self._address,
        )
        return self._outcome(landed, is_submit)

    def _outcome(self, landed: Landed, is_submit: bool) -> TxOutcome:
        receipt = landed.receipt
        return TxOutcome(
            tx_hash=landed.tx_hash,
            block_number=receipt["blockNumber"],
            status=receipt["status"],
            gas_used=receipt["gasUsed"],
            round_id=self._round_id_of(receipt) if is_submit else None,
            effective_gas_price=int(receipt.get("effectiveGasPrice", 0)),
        )

    def _round_id_of(self, receipt: TxReceipt) -> int | None:
        for log in receipt["logs"]:
            if log["address"] == self._address and log["topics"][0] == _ANSWER_UPDATED_TOPIC:
                return int.from_bytes(log["topics"][2], "big")
        return None


def _manager(
    w3: AsyncWeb3[Any], sender: Sender, chain_id: int, timeout_s: float
) -> TransactionManager:
    if isinstance(sender, TransactionManager):
        return sender
    settings = TxSettings(timeout_s=timeout_s, poll_interval_s=0.05)
    return TransactionManager(RpcPool([w3]), sender, chain_id, settings)
