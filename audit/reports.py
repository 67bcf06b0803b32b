"""Verification of the quorum reports a relay journaled (`report` records, see `node.quorum`).

Each report must stand on its own, as the contract judged it: every observation's signature
recovers, under the recorded EIP-712 domain, to the signer it names; that signer is in the
recorded signer set; no signer twice; at least the recorded quorum; and the recorded answer and
`updated_at` are the lower median and the oldest timestamp of the observations.

Against the chain, a quorum node's journal holds only the rounds it relayed: the others'
rounds are sent by other relays (`round_senders` tells them apart).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from eth_utils.address import to_checksum_address
from eth_utils.crypto import keccak
from eth_utils.exceptions import ValidationError
from web3 import AsyncWeb3

from audit.journal import JournalRecord
from publisher.eip712 import Domain, SignedObservation, recover_signer


def verify_reports(records: Sequence[JournalRecord]) -> list[tuple[JournalRecord, str]]:
    """Every problem of every `report` record, with the record it was found in."""
    problems = []
    for rec in records:
        if rec.kind == "report":
            problems += [(rec, p) for p in report_problems(rec.body)]
    return problems


def report_problems(body: dict[str, Any]) -> list[str]:
    """What is wrong with one report body; empty when it is consistent."""
    try:
        domain = Domain(int(body["domain"]["chain_id"]), str(body["domain"]["verifying_contract"]))
        signers = {int(s, 16) for s in body["signers"]}
        quorum = int(body["quorum"])
        observations = [
            SignedObservation(
                int(o["value"]),
                int(o["timestamp"]),
                str(o["signer"]),
                bytes.fromhex(o["signature"][2:]),
            )
            for o in body["observations"]
        ]
        answer, updated_at = int(body["answer"]), int(body["updated_at"])
    except (KeyError, ValueError, TypeError) as exc:
        return [f"report cannot be checked: {exc!r}"]
    problems = _signature_problems(domain, signers, observations)
    if len(observations) < quorum:
        problems.append(f"{len(observations)} observations, quorum {quorum}")
    if observations:
        values = sorted(o.value for o in observations)
        if answer != values[(len(values) - 1) // 2]:
            problems.append(f"answer {answer} is not the lower median of the observations")
        if updated_at != min(o.timestamp for o in observations):
            problems.append(f"updated_at {updated_at} is not the oldest observation timestamp")
    return problems


def _signature_problems(
    domain: Domain, signers: set[int], observations: Sequence[SignedObservation]
) -> list[str]:
    problems = []
    seen: set[int] = set()
    for obs in observations:
        try:
            recovered = recover_signer(domain, obs)
        except (ValueError, ValidationError) as exc:
            problems.append(f"observation of {obs.signer} cannot be recovered: {exc}")
            continue
        who = int(recovered, 16)
        if who != int(obs.signer, 16):
            problems.append(f"observation signed by {recovered}, recorded as {obs.signer}")
        if who not in signers:
            problems.append(f"observation signed by {recovered}, not in the signer set")
        if who in seen:
            problems.append(f"{recovered} signed twice")
        seen.add(who)
    return problems


NEW_ROUND = "0x" + keccak(text="NewRound(uint256,address,uint256)").hex()


def quorum_publications(
    records: Sequence[JournalRecord],
) -> tuple[set[tuple[str, int, int]], set[str], str | None]:
    """What a quorum node's journal says it put on chain: (feed, answer, updated_at) of every
    report it relayed; the feeds it signed in a quorum; and its signer address."""
    relayed = {
        (rec.feed, int(rec.body["answer"]), int(rec.body["updated_at"]))
        for rec in records
        if rec.kind == "report" and rec.feed is not None
    }
    feeds: set[str] = set()
    signer = None
    for rec in records:
        if rec.kind == "session" and "quorum" in rec.body:
            feeds |= set(rec.body["quorum"].get("feeds", {}))
            signer = rec.body.get("signer")
    return relayed, feeds, signer


async def round_senders(w3: AsyncWeb3[Any], contract: str) -> dict[int, str]:
    """On-chain round id -> the address that submitted it (`NewRound`'s `startedBy`)."""
    logs = await w3.eth.get_logs(
        {
            "address": w3.to_checksum_address(contract),
            "fromBlock": 0,
            "toBlock": "latest",
            "topics": [NEW_ROUND],
        }
    )
    return {
        int.from_bytes(log["topics"][1], "big"): to_checksum_address(log["topics"][2][-20:])
        for log in logs
    }
