"""Benchmark: gas of one OracleFeed update on anvil, per signer count.

    .venv/bin/python bench/gas.py [--signers 1 4 7 13 16] [--extra 9] [--no-new-round]
                                  [--scheme ecdsa schnorr]

Starts its own anvil (the pinned npm build, default hardfork), deploys one feed per signer
count (quorum = every signer), publishes 128 + `extra` reports through the node's publishing
path and prints one JSON line per signer count (with --no-new-round, feeds deployed to emit
AnswerUpdated only):

    {"signers": N, "first_write": G1, "steady": G2, "intrinsic": I, "ecrecover": E,
     "new_round_event": true, "scheme": "ecdsa"}

for each scheme: "ecdsa" (OracleFeed, a signature per observation) and "schnorr"
(OracleFeedAggregate, one MuSig2 multi-signature per report).

`first_write` is the median gas while the 128-round ring buffer fills (fresh slots), `steady`
the median after it wrapped (slots overwritten). The baseline measured in the same run is
`intrinsic + ecrecover`: the transaction's calldata floor plus 3,000 gas per ecrecover call (per
signature with ECDSA, per report with Schnorr), which the scheme cannot go below; `steady - intrinsic - ecrecover` is
what the contract itself spends.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from pathlib import Path

if __package__ in (None, ""):
    # Run as a script, this file's folder comes first on the path, where a sibling script
    # may shadow a package or a standard module (bench/http.py, bench/feeds.py): look in the
    # repository first.
    sys.path[0] = str(Path(__file__).resolve().parents[1])

from eth_account import Account
from web3 import AsyncHTTPProvider, AsyncWeb3

from publisher.anvil import running_anvil
from publisher.gas import SCHEMES, measure_feed_gas


async def main(
    signer_counts: list[int], extra: int, new_round_event: bool, schemes: list[str]
) -> None:
    async with running_anvil() as anvil:
        w3 = AsyncWeb3(AsyncHTTPProvider(anvil.rpc_url))
        try:
            sender = Account.from_key(anvil.dev_keys[0])
            for scheme in schemes:
                for count in signer_counts:
                    figures = await measure_feed_gas(
                        w3,
                        sender,
                        count,
                        extra=extra,
                        new_round_event=new_round_event,
                        scheme=scheme,
                    )
                    print(json.dumps(figures.as_json()), flush=True)
        finally:
            await w3.provider.disconnect()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--signers", type=int, nargs="+", default=[1, 4, 7, 13, 16])
    parser.add_argument("--extra", type=int, default=9, help="reports after the ring wrapped")
    parser.add_argument(
        "--no-new-round",
        action="store_true",
        help="feeds deployed to emit AnswerUpdated only (no NewRound)",
    )
    parser.add_argument("--scheme", nargs="+", choices=SCHEMES, default=list(SCHEMES))
    args = parser.parse_args()
    asyncio.run(main(args.signers, args.extra, not args.no_new_round, args.scheme))
