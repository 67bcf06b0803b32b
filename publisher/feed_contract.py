"""`FeedContract`: one deployed OracleFeed, driven over `web3.AsyncWeb3`.

Transactions are EIP-1559, signed locally by the sender's `LocalAccount` and sent raw, so the
RPC node never holds a key. Each transaction is simulated first (eth_estimateGas): a batch the
contract would refuse raises `TransactionRevertedError` with the contract's custom error name
before any gas is spent. Every web3 / RPC error leaves this module as a `PublishError`.
"""

from __future__ import annotations

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
from web3.exceptions import ContractLogicError, TimeExhausted
from web3.types import TxParams, TxReceipt

from publisher.chain_errors import RevertDecoder, translate_errors
from publisher.compile import load_artifact
from publisher.eip712 import Domain, SignedObservation
from publisher.errors import PublishError, ReceiptTimeoutError, TransactionRevertedError

_NEW_ROUND_TOPIC = keccak(text="NewRound(uint256,address,uint256)")
_FALLBACK_TIP_WEI = 1_000_000_000
# Headroom over eth_estimateGas: the estimate is exact for the simulated state, but a
# different block (base fee, a cold slot warmed) can cost slightly more.
_GAS_HEADROOM = 1.2


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


@cache
def _artifact() -> dict[str, Any]:
    return load_artifact()


class FeedContract:
    """One OracleFeed contract on one chain. Construct with `deploy` or `at`."""

    def __init__(
        self, w3: AsyncWeb3[Any], address: str, chain_id: int, *, receipt_timeout_s: float = 60.0
    ) -> None:
        self._w3 = w3
        self._address = to_checksum_address(address)
        self._chain_id = chain_id
        self._receipt_timeout_s = receipt_timeout_s
        self._contract = w3.eth.contract(address=self._address, abi=_artifact()["abi"])
        self._decoder = RevertDecoder(_artifact()["abi"])

    @classmethod
    async def at(
        cls, w3: AsyncWeb3[Any], address: str, *, receipt_timeout_s: float = 60.0
    ) -> FeedContract:
        """Attach to an already deployed feed."""
        with translate_errors(RevertDecoder([])):
            chain_id = await w3.eth.chain_id
        return cls(w3, address, chain_id, receipt_timeout_s=receipt_timeout_s)

    @classmethod
    async def deploy(
        cls,
        w3: AsyncWeb3[Any],
        account: LocalAccount,
        decimals: int,
        description: str,
        signers: Sequence[str],
        quorum: int,
        *,
        receipt_timeout_s: float = 60.0,
    ) -> FeedContract:
        """Deploy a feed owned by `account`, with `signers` and `quorum` as its signer set."""
        artifact = _artifact()
        args = abi_encode(
            ["uint8", "string", "address[]", "uint8"],
            [decimals, description, [to_checksum_address(s) for s in signers], quorum],
        )
        data = HexBytes(artifact["bytecode"]) + args
        decoder = RevertDecoder(artifact["abi"])
        with translate_errors(decoder):
            chain_id = await w3.eth.chain_id
        receipt = await _send(w3, decoder, account, {"data": data}, chain_id, receipt_timeout_s)
        address = receipt["contractAddress"]
        if address is None:
            raise PublishError("deployment receipt has no contract address")
        return cls(w3, address, chain_id, receipt_timeout_s=receipt_timeout_s)

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
        self, observations: Sequence[SignedObservation], sender: LocalAccount
    ) -> TxOutcome:
        """Publish the median of `observations` as a new round (they are sorted here)."""
        ordered = sorted(observations, key=lambda o: o.value)
        batch = [(o.value, o.timestamp, *o.compact()) for o in ordered]
        outcome = await self._transact(sender, "submit", [batch])
        return outcome

    async def set_signers(
        self, signers: Sequence[str], quorum: int, owner: LocalAccount
    ) -> TxOutcome:
        """Replace the signer set and quorum (owner only)."""
        return await self._transact(
            owner, "setSigners", [[to_checksum_address(s) for s in signers], quorum]
        )

    async def set_quorum(self, quorum: int, owner: LocalAccount) -> TxOutcome:
        """Change the quorum (owner only)."""
        return await self._transact(owner, "setQuorum", [quorum])

    async def latest_round_data(self) -> RoundData:
        """The latest round; raises TransactionRevertedError("NoDataPresent") on an empty feed."""
        return RoundData(*await self._call("latestRoundData"))

    async def get_round_data(self, round_id: int) -> RoundData:
        """A recent round (the contract keeps ROUND_HISTORY rounds); older or unknown ids
        raise TransactionRevertedError("RoundNotAvailable")."""
        return RoundData(*await self._call("getRoundData", round_id))

    async def decimals(self) -> int:
        return cast(int, await self._call("decimals"))

    async def description(self) -> str:
        return cast(str, await self._call("description"))

    async def signers(self) -> list[str]:
        return cast(list[str], await self._call("signers"))

    async def quorum(self) -> int:
        return cast(int, await self._call("quorum"))

    async def _call(self, name: str, *args: object) -> Any:
        with translate_errors(self._decoder):
            return await self._contract.functions[name](*args).call()

    async def _transact(self, sender: LocalAccount, name: str, args: list[Any]) -> TxOutcome:
        data = HexBytes(self._contract.encode_abi(name, args=args))
        receipt = await _send(
            self._w3,
            self._decoder,
            sender,
            {"to": self._address, "data": data},
            self._chain_id,
            self._receipt_timeout_s,
        )
        return TxOutcome(
            tx_hash=receipt["transactionHash"].to_0x_hex(),
            block_number=receipt["blockNumber"],
            status=receipt["status"],
            gas_used=receipt["gasUsed"],
            round_id=self._round_id_of(receipt) if name == "submit" else None,
        )

    def _round_id_of(self, receipt: TxReceipt) -> int | None:
        for log in receipt["logs"]:
            if log["address"] == self._address and log["topics"][0] == _NEW_ROUND_TOPIC:
                return int.from_bytes(log["topics"][1], "big")
        return None


async def _send(
    w3: AsyncWeb3[Any],
    decoder: RevertDecoder,
    sender: LocalAccount,
    call: dict[str, Any],
    chain_id: int,
    receipt_timeout_s: float,
) -> TxReceipt:
    """Simulate, sign, send and wait for one transaction; a status-0 receipt raises."""
    tx: dict[str, Any] = {**call, "from": sender.address, "value": 0, "chainId": chain_id}
    with translate_errors(decoder):
        gas = await w3.eth.estimate_gas(cast(TxParams, tx))
        nonce = await w3.eth.get_transaction_count(sender.address, "pending")
        base_fee = (await w3.eth.get_block("latest")).get("baseFeePerGas", 0)
        tip = await _priority_fee(w3)
    tx.update(
        {
            "type": 2,
            "nonce": nonce,
            "gas": int(gas * _GAS_HEADROOM),
            # Twice the base fee survives six full blocks of base-fee growth (12.5% each).
            "maxFeePerGas": 2 * base_fee + tip,
            "maxPriorityFeePerGas": tip,
        }
    )
    signed = sender.sign_transaction(tx)
    with translate_errors(decoder):
        tx_hash = (await w3.eth.send_raw_transaction(signed.raw_transaction)).to_0x_hex()
    with translate_errors(decoder, tx_hash):
        try:
            receipt = await w3.eth.wait_for_transaction_receipt(
                HexBytes(tx_hash), timeout=receipt_timeout_s, poll_latency=0.05
            )
        except TimeExhausted:
            raise ReceiptTimeoutError(tx_hash, receipt_timeout_s) from None
    if receipt["status"] != 1:
        name, args = await _replay_revert(w3, decoder, tx, receipt["blockNumber"])
        raise TransactionRevertedError(name, args, tx_hash)
    return receipt


async def _priority_fee(w3: AsyncWeb3[Any]) -> int:
    try:
        return int(await w3.eth.max_priority_fee)
    except Exception:
        # Not every node implements eth_maxPriorityFeePerGas (eth-tester does not).
        return _FALLBACK_TIP_WEI


async def _replay_revert(
    w3: AsyncWeb3[Any], decoder: RevertDecoder, tx: dict[str, Any], block_number: int
) -> tuple[str, tuple[object, ...]]:
    """Why a mined transaction reverted: re-run it as a call on the parent block's state.
    Approximate (other transactions of the block are not replayed) but names the error."""
    call = {k: v for k, v in tx.items() if k in ("from", "to", "data", "gas", "value")}
    try:
        await w3.eth.call(cast(TxParams, call), block_identifier=max(block_number - 1, 0))
    except ContractLogicError as exc:
        return decoder.decode(exc.data)
    except Exception:
        return "unknown", ()
    return "unknown", ()
