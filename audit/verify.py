"""Verification of a journal on its own: the hash chain, every signature, every outcome's intent,
every round's packed columns.

What a hash chain cannot show by itself is a cut-off tail (the last records removed together):
`audit.onchain` closes that gap by checking that every round on chain is in the journal.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from eth_utils.exceptions import ValidationError

from audit.journal import JournalRecord, verify_chain
from audit.packed import PACKED_KEY, pack_round
from audit.reports import verify_reports
from audit.signatures import ObservationRecovery
from publisher.eip712 import Domain, SignedObservation


@dataclass(frozen=True, slots=True)
class Finding:
    """One problem an auditor must look at, placed by journal sequence and round id."""

    seq: int | None
    round_id: int | None
    feed: str | None
    problem: str

    def __str__(self) -> str:
        where = [f"record {self.seq}" if self.seq is not None else None]
        where.append(f"round {self.round_id}" if self.round_id is not None else None)
        where.append(self.feed)
        return f"{', '.join(w for w in where if w)}: {self.problem}"


@dataclass(frozen=True, slots=True)
class Intent:
    """A signed observation the journal says the node was about to send."""

    seq: int
    round_id: int
    feed: str
    observation: SignedObservation
    domain: Domain


def intents(records: Iterable[JournalRecord]) -> list[Intent]:
    """Every journaled signed observation, in journal order."""
    out = []
    for rec in records:
        if rec.kind != "round":
            continue
        for feed, plan in rec.body.get("feeds", {}).items():
            obs = plan.get("observation")
            if obs is None:
                continue
            out.append(
                Intent(
                    rec.seq, rec.round_id, feed, observation_from_json(obs), domain_from_json(obs)
                )
            )
    return out


def observation_from_json(obs: dict[str, Any]) -> SignedObservation:
    return SignedObservation(
        int(obs["value"]),
        int(obs["timestamp"]),
        str(obs["signer"]),
        bytes.fromhex(obs["signature"][2:]),
    )


def domain_from_json(obs: dict[str, Any]) -> Domain:
    return Domain(int(obs["domain"]["chain_id"]), str(obs["domain"]["verifying_contract"]))


def verify_records(records: Sequence[JournalRecord]) -> list[Finding]:
    """Every problem found in the journal alone; empty when it is intact and consistent."""
    findings = [Finding(None, None, None, problem) for problem in verify_chain(list(records))]
    findings += _verify_signatures(records)
    findings += _verify_outcomes(records)
    findings += _verify_packed(records)
    findings += [
        Finding(rec.seq, rec.round_id, rec.feed, problem)
        for rec, problem in verify_reports(records)
    ]
    return findings


def _verify_signatures(records: Sequence[JournalRecord]) -> list[Finding]:
    findings: list[Finding] = []
    signer: str | None = None
    recovery = ObservationRecovery()
    for rec in records:
        if rec.kind == "session":
            signer = rec.body.get("signer")
            continue
        if rec.kind != "round":
            continue
        for feed, plan in sorted(rec.body.get("feeds", {}).items()):
            obs = plan.get("observation")
            if obs is None:
                continue
            problem = _signature_problem(recovery, obs, signer, plan)
            if problem is not None:
                findings.append(Finding(rec.seq, rec.round_id, feed, problem))
    return findings


def _signature_problem(
    recovery: ObservationRecovery, obs: dict[str, Any], signer: str | None, plan: dict[str, Any]
) -> str | None:
    try:
        observation = observation_from_json(obs)
        domain = obs["domain"]
        recovered = recovery.signer(
            int(domain["chain_id"]),
            str(domain["verifying_contract"]),
            observation.value,
            observation.timestamp,
            observation.signature,
        )
    except (KeyError, ValueError, TypeError, ValidationError) as exc:
        return f"observation cannot be checked: {exc}"
    if recovered != observation.signer:
        return f"signature recovers to {recovered}, not to the recorded signer {observation.signer}"
    if signer is not None and recovered != signer:
        return f"signed by {recovered}, but the node's key is {signer}"
    if plan.get("answer") != obs["value"]:
        return f"signed value {obs['value']} differs from the round's answer {plan.get('answer')}"
    return None


def _verify_outcomes(records: Sequence[JournalRecord]) -> list[Finding]:
    signed = {(i.round_id, i.feed) for i in intents(records)}
    findings = []
    seen: set[tuple[int, str]] = set()
    for rec in records:
        if rec.kind != "outcome" or rec.feed is None:
            continue
        key = (rec.round_id, rec.feed)
        if key not in signed:
            findings.append(
                Finding(rec.seq, rec.round_id, rec.feed, "outcome with no signed observation")
            )
        elif key in seen:
            findings.append(
                Finding(rec.seq, rec.round_id, rec.feed, "second outcome for one observation")
            )
        seen.add(key)
    return findings


def _verify_packed(records: Sequence[JournalRecord]) -> list[Finding]:
    findings = []
    for rec in records:
        problem = _packed_problem(rec)
        if problem is not None:
            findings.append(Finding(rec.seq, rec.round_id, None, problem))
    return findings


def _packed_problem(rec: JournalRecord) -> str | None:
    """What is wrong with a record's packed columns: they must be stored exactly when a round's
    body names their hash, hash to it, and be `pack_round` of the body without it."""
    named = rec.body.get(PACKED_KEY) if rec.kind == "round" else None
    if named is None:
        if rec.packed is None:
            return None
        return "packed columns are stored, but the record's body does not name them"
    if rec.packed is None:
        return f"the body names packed columns ({PACKED_KEY} {named}), but none are stored"
    digest = hashlib.sha256(rec.packed).hexdigest()
    if digest != named:
        return f"packed columns hash to {digest}, but the body names {named}"
    body = {key: value for key, value in rec.body.items() if key != PACKED_KEY}
    if pack_round(body) != rec.packed:
        return "packed columns hash as named but differ from the packing of the body's values"
    return None
