"""Measure what one `submit` costs on a real chain, as the benchmark and the gas budget test do.

Two schemes: "ecdsa" (OracleFeed, one ECDSA signature per observation) and "schnorr"
(OracleFeedAggregate, one MuSig2 multi-signature per report, made in-process here).

`measure_feed_gas` deploys a feed with `signers` fresh keys (quorum = all of them), publishes
ROUND_HISTORY + `extra` reports through the real publishing path (`FeedContract.submit` and a
`TransactionManager`) and reads gasUsed from the receipts. `first_write` is the median over the
reports that fill the ring buffer (each writes a fresh slot); `steady` the median over the
reports after it wrapped (each overwrites a slot): what an oracle pays for ever after. The
observations of one report differ in value and, as from separate nodes, in timestamp (up to
CLOCK_SPREAD_S - 1 seconds apart).

`intrinsic` is the transaction's floor before any code runs (21,000 + calldata bytes at 16/4
gas, EIP-2028), measured on a steady report, and `ecrecover` the precompile's fixed 3,000 per
call (one per signature with ECDSA, one per report with Schnorr): together the part no contract
design can remove while verifying every signature.
"""

from __future__ import annotations

import secrets
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from eth_account import Account
from eth_account.signers.local import LocalAccount
from web3 import AsyncWeb3
from web3.types import RPCEndpoint

from publisher.aggregate_report import Entry, encode_aggregate_report, report_body, report_digest
from publisher.errors import PublishError
from publisher.feed_contract import FeedContract, TxOutcome
from publisher.keys import LocalSigner
from publisher.rpc import RpcPool
from publisher.schnorr import N, multi_sign, prove_possession, public_key
from publisher.tx_types import TxSettings
from publisher.txmanager import TransactionManager

ROUND_HISTORY = 128
ECRECOVER_GAS = 3_000
TX_BASE_GAS = 21_000
CLOCK_SPREAD_S = 4
SCHEMES = ("ecdsa", "schnorr")


@dataclass(frozen=True, slots=True)
class GasFigures:
    signers: int
    first_write: int
    steady: int
    intrinsic: int
    ecrecover: int
    new_round_event: bool
    scheme: str = "ecdsa"

    def as_json(self) -> dict[str, int | bool]:
        return asdict(self)


def calldata_gas(data: bytes) -> int:
    """EIP-2028 calldata cost: 16 gas per non-zero byte, 4 per zero byte."""
    zeros = data.count(0)
    return 4 * zeros + 16 * (len(data) - zeros)


async def measure_feed_gas(
    w3: AsyncWeb3[Any],
    sender: LocalAccount,
    signers: int,
    *,
    extra: int = 9,
    new_round_event: bool = True,
    scheme: str = "ecdsa",
) -> GasFigures:
    """Gas of one report with `signers` observations, first writes and steady state, on a
    feed of `scheme` deployed with or without Chainlink's NewRound event."""
    outcomes, last_calldata = await publish_reports(
        w3, sender, signers, ROUND_HISTORY + extra, new_round_event=new_round_event, scheme=scheme
    )
    used = [outcome.gas_used for outcome in outcomes]
    return GasFigures(
        signers=signers,
        first_write=int(statistics.median(used[:ROUND_HISTORY])),
        steady=int(statistics.median(used[ROUND_HISTORY:])),
        intrinsic=TX_BASE_GAS + calldata_gas(last_calldata),
        ecrecover=ECRECOVER_GAS * (signers if scheme == "ecdsa" else 1),
        new_round_event=new_round_event,
        scheme=scheme,
    )


async def publish_reports(
    w3: AsyncWeb3[Any],
    sender: LocalAccount,
    signers: int,
    reports: int,
    *,
    new_round_event: bool = True,
    scheme: str = "ecdsa",
) -> tuple[list[TxOutcome], bytes]:
    """Deploy a feed of `scheme` with `signers` fresh keys (quorum = all of them) and publish
    `reports` reports; the outcomes and the last report's calldata."""
    if scheme not in SCHEMES:
        raise ValueError(f"scheme {scheme!r}: expected one of {', '.join(SCHEMES)}")
    if scheme == "schnorr":
        return await _publish_aggregate_reports(w3, sender, signers, reports, new_round_event)
    keys = [LocalSigner(Account.create()) for _ in range(signers)]
    manager, stamps = await _sender_and_stamps(w3, sender, reports)
    feed = await FeedContract.deploy(
        w3,
        manager,
        8,
        f"GAS/{signers}",
        [k.address for k in keys],
        signers,
        new_round_event=new_round_event,
    )
    outcomes: list[TxOutcome] = []
    last_calldata = b""
    for k, ts in enumerate(stamps):
        observations = [
            await key.sign_observation(feed.domain(), value, stamp)
            for key, (value, stamp) in zip(keys, _observed(signers, k, ts), strict=True)
        ]
        outcomes.append(await feed.submit(observations, manager))
        last_calldata = feed.submit_calldata(observations, [k.address for k in keys])
    return outcomes, last_calldata


async def _publish_aggregate_reports(
    w3: AsyncWeb3[Any], sender: LocalAccount, signers: int, reports: int, new_round_event: bool
) -> tuple[list[TxOutcome], bytes]:
    secrets_ = [secrets.randbelow(N - 1) + 1 for _ in range(signers)]
    keys = [public_key(x) for x in secrets_]
    manager, stamps = await _sender_and_stamps(w3, sender, reports)
    feed = await FeedContract.deploy_aggregate(
        w3,
        manager,
        8,
        f"GAS/{signers}",
        keys,
        [prove_possession(x) for x in secrets_],
        signers,
        new_round_event=new_round_event,
    )
    outcomes: list[TxOutcome] = []
    report = b""
    for k, ts in enumerate(stamps):
        # The same observations as the ECDSA path's, under one multi-signature.
        entries = [
            Entry(i, value, stamp) for i, (value, stamp) in enumerate(_observed(signers, k, ts))
        ]
        body = report_body(entries, signers)
        s, r_address = multi_sign(secrets_, report_digest(feed.domain(), body))
        report = encode_aggregate_report(body, s, r_address, keys)
        outcomes.append(await feed.submit_report(report, manager))
    return outcomes, report


async def _sender_and_stamps(
    w3: AsyncWeb3[Any], sender: LocalAccount, reports: int
) -> tuple[TransactionManager, list[int]]:
    """A transaction manager for `sender`, and one timestamp per report: strictly increasing,
    all in the past, so every report is fresh and valid."""
    chain_id = int(await w3.eth.chain_id)
    manager = TransactionManager(RpcPool([w3]), sender, chain_id, TxSettings(poll_interval_s=0.01))
    now = int((await w3.eth.get_block("latest"))["timestamp"])
    return manager, [now - 10 * reports + 10 * k for k in range(reports)]


def _observed(signers: int, k: int, ts: int) -> list[tuple[int, int]]:
    """Report k's (value, timestamp) per signer: a BTC price with 8 decimals, slightly
    different per signer, each stamped by its own node's clock a few seconds apart."""
    return [(6_000_000_000_000 + 1_000 * i + k, ts - i % CLOCK_SPREAD_S) for i in range(signers)]


@dataclass(frozen=True, slots=True)
class GasBreakdown:
    """Where the gas of one transaction went. `intrinsic` is 21,000 + calldata; the other
    fields are what its execution spent on each kind of work; they add up to `gas_used`."""

    signers: int
    gas_used: int
    intrinsic: int
    recovery: int  # calls to the ecrecover precompile: 100 for the call + 3,000 each
    storage: int  # SLOAD and SSTORE
    events: int  # LOG0 .. LOG4
    hashing: int  # KECCAK256
    other: int  # every other opcode, memory expansion included

    def as_json(self) -> dict[str, int]:
        return asdict(self)


_CALLS = {"CALL", "STATICCALL", "DELEGATECALL", "CALLCODE"}
_KIND = {"SLOAD": "storage", "SSTORE": "storage", "KECCAK256": "hashing"}


def attribute_gas(steps: Sequence[Mapping[str, Any]]) -> dict[str, int]:
    """Gas per kind of work in debug_traceTransaction's `structLogs` of a transaction that
    calls only precompiles: a call's cost is the gas it took from its frame (the next step's
    `gas` minus its own), not the `gasCost` it was offered."""
    spent = {"recovery": 0, "storage": 0, "events": 0, "hashing": 0, "other": 0}
    for i, step in enumerate(steps):
        op = str(step["op"])
        if op in _CALLS:
            cost = int(step["gas"]) - int(steps[i + 1]["gas"])
            kind = "recovery"
        else:
            cost = int(step["gasCost"])
            kind = "events" if op.startswith("LOG") else _KIND.get(op, "other")
        spent[kind] += cost
    return spent


async def trace_steady_update(
    w3: AsyncWeb3[Any],
    sender: LocalAccount,
    signers: int,
    *,
    new_round_event: bool = True,
    scheme: str = "ecdsa",
) -> GasBreakdown:
    """The breakdown of one steady-state update (ring wrapped). Needs a node that returns
    opcode steps from debug_traceTransaction (anvil with `steps_tracing`)."""
    outcomes, calldata = await publish_reports(
        w3, sender, signers, ROUND_HISTORY + 1, new_round_event=new_round_event, scheme=scheme
    )
    last = outcomes[-1]
    response = await w3.provider.make_request(
        RPCEndpoint("debug_traceTransaction"), [last.tx_hash, {}]
    )
    steps = response["result"]["structLogs"]
    if not steps:
        raise PublishError(
            "debug_traceTransaction returned no steps: start anvil with steps tracing"
        )
    spent = attribute_gas(steps)
    return GasBreakdown(
        signers=signers,
        gas_used=last.gas_used,
        intrinsic=TX_BASE_GAS + calldata_gas(calldata),
        **spent,
    )
