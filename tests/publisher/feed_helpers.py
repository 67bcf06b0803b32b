"""Helpers for the publisher tests: an in-process chain handle, signers, signing a batch."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from eth_account import Account
from eth_account.signers.local import LocalAccount
from hexbytes import HexBytes
from web3 import AsyncWeb3

from publisher.chain_errors import RevertDecoder, translate_errors
from publisher.compile import load_artifact
from publisher.eip712 import Domain, SignedObservation
from publisher.keys import LocalSigner
from publisher.report import REPORT_FORMAT, encode_report

DECIMALS = 8
DESCRIPTION = "BTC / USD"


@dataclass
class Chain:
    w3: AsyncWeb3[Any]
    accounts: list[LocalAccount]

    @property
    def owner(self) -> LocalAccount:
        return self.accounts[0]

    async def now(self) -> int:
        """The latest block's timestamp: the contract's clock, not the test machine's."""
        block = await self.w3.eth.get_block("latest")
        return int(block["timestamp"])


def make_signers(count: int) -> list[LocalSigner]:
    return [LocalSigner(Account.create()) for _ in range(count)]


async def sign_all(
    domain: Domain, signers: Sequence[LocalSigner], values: Sequence[int], timestamp: int
) -> list[SignedObservation]:
    """One observation per signer, all stamped `timestamp`."""
    return [
        await signer.sign_observation(domain, value, timestamp)
        for signer, value in zip(signers, values, strict=True)
    ]


async def call_submit_raw(chain: Chain, feed_address: str, report: bytes) -> None:
    """Simulate a submission of `report` exactly as given (no sorting, no checks), raising
    what FeedContract would raise: the way to reach the contract's own guards."""
    abi = load_artifact()["abi"]
    with translate_errors(RevertDecoder(abi)):
        await chain.w3.eth.call(
            {"from": chain.owner.address, "to": feed_address, "data": HexBytes(report)}
        )


def as_report(observations: Sequence[SignedObservation], signer_set: Sequence[str]) -> bytes:
    """The report for `observations` in the order given (unsorted on purpose if they are)."""
    return encode_report(observations, signer_set, sort=False)


def raw_report(
    items: Sequence[tuple[int, int, bytes, bytes, int]],
    signer_set: Sequence[str],
    *,
    trailing: bytes = b"",
) -> bytes:
    """A report from raw (value, timestamp, r, vs, signer index) items, in the order given,
    values in 24 bytes and timestamps as 7-byte offsets from the oldest: any bytes at all.
    Members no item names are appended as the format requires, then `trailing`."""
    base = min((ts for _, ts, *_ in items), default=0)
    header = bytes([REPORT_FORMAT, len(items), len(signer_set), 24, 7]) + base.to_bytes(8, "big")
    body = b"".join(
        bytes([i]) + v.to_bytes(24, "big", signed=True) + (ts - base).to_bytes(7, "big") + r + vs
        for v, ts, r, vs, i in items
    )
    named = {i for *_, i in items}
    absent = b"".join(bytes.fromhex(a[2:]) for j, a in enumerate(signer_set) if j not in named)
    return header + body + absent + trailing
