"""The whole path with real processes on loopback: simulator + anvil + `oracle-node run`.

The node publishes on its heartbeat every round; the test waits for three on-chain rounds and
checks that the chain, the HTTP API and the journal tell the same story, and that the price is
the simulator's true price within 0.5%.
"""

from __future__ import annotations

import asyncio
import json
import signal
import socket
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from audit.journal import Journal, verify_chain
from node.devstack import connect, local_stack
from publisher.eip712 import Domain, SignedObservation, recover_signer
from publisher.errors import TransactionRevertedError
from publisher.feed_contract import FeedContract

pytestmark = [pytest.mark.integration, pytest.mark.timeout(180)]

ORACLE_NODE = Path(sys.executable).with_name("oracle-node")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@asynccontextmanager
async def node_process(config: Path, log: Path) -> AsyncIterator[asyncio.subprocess.Process]:
    with log.open("wb") as out:
        process = await asyncio.create_subprocess_exec(
            str(ORACLE_NODE), "run", "--config", str(config),
            stdin=asyncio.subprocess.DEVNULL, stdout=out, stderr=out,
        )  # fmt: skip
        try:
            yield process
        finally:
            if process.returncode is None:
                process.kill()
                await process.wait()


async def cli(*args: str) -> Any:
    """Run `oracle-node ARGS` and return its JSON output; fails the test on a non-zero exit."""
    process = await asyncio.create_subprocess_exec(
        str(ORACLE_NODE), *args, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    out, err = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode == 0, f"oracle-node {' '.join(args)}: {out.decode()} {err.decode()}"
    return json.loads(out)


async def wait_for_rounds(contract: FeedContract, rounds: int, process: Any, log: Path) -> int:
    for _ in range(600):
        if process.returncode is not None:
            pytest.fail(f"node exited with {process.returncode}:\n{log.read_text()[-3000:]}")
        try:
            latest = await contract.latest_round_data()
        except TransactionRevertedError:  # NoDataPresent: nothing published yet
            latest = None
        if latest is not None and latest.round_id >= rounds:
            return latest.round_id
        await asyncio.sleep(0.1)
    pytest.fail(f"fewer than {rounds} on-chain rounds in 60 s:\n{log.read_text()[-3000:]}")


async def test_chain_http_and_journal_agree_and_track_the_true_price(tmp_path: Path) -> None:
    async with local_stack(tmp_path) as stack:
        http_port = free_port()
        config = tmp_path / "node.toml"
        journal_path = tmp_path / "journal.db"
        config.write_text(
            stack.config_toml(
                journal=journal_path, http_port=http_port, round_interval_s=1.0, heartbeat_s=1
            )
        )
        contracts, sim_url, anvil = stack.contracts, stack.simulator_url, stack.anvil
        w3 = connect(anvil.rpc_url)
        btc = await FeedContract.at(w3, contracts["BTC/USD"])
        async with node_process(config, tmp_path / "node.log") as process:
            await wait_for_rounds(btc, 3, process, tmp_path / "node.log")
            async with aiohttp.ClientSession() as http:
                url = f"http://127.0.0.1:{http_port}/v1/feeds/BTC-USD"
                async with http.get(url) as response:
                    assert response.status == 200
                    view = await response.json()
                published = view["published"]
                onchain = await btc.get_round_data(published["round_id"])
                truth_url = f"{sim_url}/_sim/truth?at_ms={onchain.updated_at * 1000}"
                async with http.get(truth_url) as response:
                    truth = (await response.json())["prices"]["BTC/USD"]
            process.send_signal(signal.SIGTERM)
            assert await asyncio.wait_for(process.wait(), 30) == 0
        await w3.provider.disconnect()
        verified = await cli(
            "audit", "verify", "--journal", str(journal_path), "--rpc", anvil.rpc_url, "--json"
        )
        replayed = await cli("replay", "--journal", str(journal_path), "--json")

        assert view["feed"] == "BTC/USD"
        assert view["contract"] == contracts["BTC/USD"]
        assert view["breaker"] == "closed"
        assert len(view["sources_used"]) >= 3
        assert int(published["answer"]) == onchain.answer
        assert published["updated_at"] == onchain.updated_at

        journal = await Journal.open(journal_path)
        outcomes = await journal.records(kind="outcome", feed="BTC/USD")
        rounds = {r.round_id: r for r in await journal.records(kind="round")}
        problems = verify_chain(await journal.records())
        await journal.close()
        assert problems == []
        confirmed = [o for o in outcomes if o.body["status"] == "confirmed"]
        assert len(confirmed) >= 3
        match = next(o for o in confirmed if o.body["onchain_round_id"] == published["round_id"])
        assert match.body["tx_hash"] == published["tx"]["tx_hash"]
        assert int(match.body["answer"]) == onchain.answer
        signed = rounds[match.round_id].body["feeds"]["BTC/USD"]["observation"]
        observation = SignedObservation(
            int(signed["value"]),
            signed["timestamp"],
            signed["signer"],
            bytes.fromhex(signed["signature"][2:]),
        )
        domain = Domain(anvil.chain_id, contracts["BTC/USD"])
        assert recover_signer(domain, observation) == stack.node_address
        assert onchain.answer / 1e8 == pytest.approx(truth, rel=0.005)
    assert verified == {"ok": True, "findings": []}
    assert replayed["mismatches"] == []
    assert replayed["feed_rounds"] >= 9
    assert replayed["checked_on"] == "columns"  # the packed columns proved it
