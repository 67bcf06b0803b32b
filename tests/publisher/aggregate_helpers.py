"""Helpers for OracleFeedAggregate tests: members with Schnorr keys, signed reports."""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass

from feed_helpers import DECIMALS, DESCRIPTION, Chain
from hexbytes import HexBytes

from publisher.aggregate_report import (
    Entry,
    encode_aggregate_report,
    report_body,
    report_digest,
)
from publisher.chain_errors import RevertDecoder, translate_errors
from publisher.compile import load_artifact
from publisher.eip712 import Domain
from publisher.feed_contract import FeedContract
from publisher.schnorr import Key, N, multi_sign, prove_possession, public_key


@dataclass(frozen=True)
class Members:
    """A signer set whose secrets the test holds, in set order."""

    secrets: list[int]

    @classmethod
    def fresh(cls, count: int) -> Members:
        return cls([secrets.randbelow(N - 1) + 1 for _ in range(count)])

    @property
    def keys(self) -> list[Key]:
        return [public_key(x) for x in self.secrets]

    def proofs(self) -> list[tuple[bytes, bytes]]:
        return [prove_possession(x) for x in self.secrets]


async def deploy_aggregate(chain: Chain, members: Members, quorum: int) -> FeedContract:
    return await FeedContract.deploy_aggregate(
        chain.w3, chain.owner, DECIMALS, DESCRIPTION, members.keys, members.proofs(), quorum
    )


def signed_report(
    domain: Domain,
    members: Members,
    entries: Sequence[Entry],
    *,
    signed_by: Sequence[int] | None = None,
    sort: bool = True,
) -> bytes:
    """A report of `entries` signed by the members at `signed_by` (default: the positions the
    entries name), carrying `members`' key material."""
    body = report_body(entries, len(members.secrets), sort=sort)
    positions = [e.position for e in entries] if signed_by is None else list(signed_by)
    s, r_address = multi_sign([members.secrets[p] for p in positions], report_digest(domain, body))
    return encode_aggregate_report(body, s, r_address, members.keys)


def entries_at(timestamp: int, values: Sequence[int]) -> list[Entry]:
    """One entry per member position 0.., each with its value, all stamped `timestamp`."""
    return [Entry(i, value, timestamp) for i, value in enumerate(values)]


async def call_aggregate_raw(chain: Chain, feed_address: str, report: bytes) -> None:
    """Simulate a submission of `report` as given, raising what FeedContract would raise."""
    with translate_errors(RevertDecoder(load_artifact("OracleFeedAggregate")["abi"])):
        await chain.w3.eth.call(
            {"from": chain.owner.address, "to": feed_address, "data": HexBytes(report)}
        )
