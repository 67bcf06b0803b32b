"""Benchmark: where the gas of one steady-state OracleFeed update goes, per signer count.

    .venv/bin/python bench/gas_trace.py [--signers 1 13] [--no-new-round] [--scheme ecdsa]

Starts its own anvil with opcode steps tracing, deploys one feed per signer count (quorum =
every signer), publishes 129 reports (the ring wraps) through the node's publishing path and
attributes the last one's gas from debug_traceTransaction's opcode steps. One JSON line per
count:

    {"signers": N, "gas_used": G, "intrinsic": I, "recovery": R, "storage": S, "events": E,
     "hashing": H, "other": O}

`intrinsic` is 21,000 + calldata; `recovery` the calls to the ecrecover precompile (3,100
each), `storage` SLOAD + SSTORE, `events` the LOGs, `hashing` KECCAK256, `other` every other
opcode with memory expansion. The parts add up to `gas_used`: the baseline is the receipt.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from pathlib import Path

if __package__ in (None, ""):
    # Run as a script, this file's folder comes first on the path, where a sibling script
    # may shadow a package or a standard module: look in the repository first.
    sys.path[0] = str(Path(__file__).resolve().parents[1])

from eth_account import Account
from web3 import AsyncHTTPProvider, AsyncWeb3

from publisher.anvil import running_anvil
from publisher.gas import SCHEMES, trace_steady_update


async def main(signer_counts: list[int], new_round_event: bool, scheme: str) -> None:
    async with running_anvil(steps_tracing=True) as anvil:
        w3 = AsyncWeb3(AsyncHTTPProvider(anvil.rpc_url))
        try:
            sender = Account.from_key(anvil.dev_keys[0])
            for count in signer_counts:
                breakdown = await trace_steady_update(
                    w3, sender, count, new_round_event=new_round_event, scheme=scheme
                )
                print(json.dumps(breakdown.as_json()), flush=True)
        finally:
            await w3.provider.disconnect()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--signers", type=int, nargs="+", default=[1, 13])
    parser.add_argument("--no-new-round", action="store_true", help="feeds without NewRound")
    parser.add_argument("--scheme", choices=SCHEMES, default="ecdsa")
    args = parser.parse_args()
    asyncio.run(main(args.signers, not args.no_new_round, args.scheme))
