"""The journal against the chain: every journaled publication on chain, every on-chain round journaled.

Reads each feed contract's `AnswerUpdated(int256 indexed current, uint256 indexed roundId,
uint256 updatedAt)` events. A round on chain with no journaled observation of the same answer
and timestamp means the journal lost (or someone removed) a record; a confirmed outcome whose
round is not on chain, or holds another answer, means the journal lies.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from eth_utils.crypto import keccak
from web3 import AsyncWeb3

from audit.journal import JournalRecord
from audit.reports import quorum_publications, round_senders
from audit.verify import Finding, intents

ANSWER_UPDATED = "0x" + keccak(text="AnswerUpdated(int256,uint256,uint256)").hex()


@dataclass(frozen=True, slots=True)
class OnchainRound:
    round_id: int
    answer: int
    updated_at: int
    tx_hash: str


async def onchain_rounds(w3: AsyncWeb3[Any], contract: str) -> list[OnchainRound]:
    """Every round the feed contract ever stored, from its events, in order."""
    logs = await w3.eth.get_logs(
        {
            "address": w3.to_checksum_address(contract),
            "fromBlock": 0,
            "toBlock": "latest",
            "topics": [ANSWER_UPDATED],
        }
    )
    rounds = []
    for log in logs:
        answer = int.from_bytes(log["topics"][1], "big", signed=True)
        round_id = int.from_bytes(log["topics"][2], "big")
        updated_at = int.from_bytes(bytes(log["data"])[:32], "big")
        rounds.append(
            OnchainRound(round_id, answer, updated_at, log["transactionHash"].to_0x_hex())
        )
    return sorted(rounds, key=lambda r: r.round_id)


async def verify_against_chain(
    records: Sequence[JournalRecord], w3: AsyncWeb3[Any]
) -> list[Finding]:
    """Findings from comparing the journal's publications with the contracts' events."""
    contracts: dict[str, str] = {}
    for rec in records:
        if rec.kind == "session":
            for feed, info in rec.body.get("feeds", {}).items():
                contracts[feed] = info["contract"]
    signed: set[tuple[str, int, int]] = {
        (i.feed, i.observation.value, i.observation.timestamp) for i in intents(records)
    }
    relayed, quorum_feeds, signer = quorum_publications(records)
    signed |= relayed
    findings: list[Finding] = []
    for feed, contract in sorted(contracts.items()):
        chain = {r.round_id: r for r in await onchain_rounds(w3, contract)}
        # In a quorum, only the rounds this node sent must be in its journal.
        senders = await round_senders(w3, contract) if feed in quorum_feeds else None
        for r in chain.values():
            if senders is not None and senders.get(r.round_id) != signer:
                continue
            if (feed, r.answer, r.updated_at) not in signed:
                findings.append(
                    Finding(
                        None,
                        None,
                        feed,
                        f"on-chain round {r.round_id} (answer {r.answer}, tx {r.tx_hash}) is not in the journal",
                    )
                )
        for rec in records:
            if rec.kind == "outcome" and rec.feed == feed and rec.body.get("status") == "confirmed":
                findings += _outcome_problem(rec, chain)
    return findings


def _outcome_problem(rec: JournalRecord, chain: dict[int, OnchainRound]) -> list[Finding]:
    onchain = chain.get(int(rec.body["onchain_round_id"]))
    if onchain is None:
        return [
            Finding(
                rec.seq,
                rec.round_id,
                rec.feed,
                f"journal says on-chain round {rec.body['onchain_round_id']}, the contract has none",
            )
        ]
    if str(onchain.answer) != rec.body["answer"] or onchain.updated_at != rec.body["timestamp"]:
        return [
            Finding(
                rec.seq,
                rec.round_id,
                rec.feed,
                f"on-chain round {onchain.round_id} holds {onchain.answer}@{onchain.updated_at}, journal says {rec.body['answer']}@{rec.body['timestamp']}",
            )
        ]
    return []
