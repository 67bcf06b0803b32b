"""kill -9 of the node at random moments while it publishes: nothing lost, nothing twice.

Every round publishes (1 s rounds, 1 s heartbeat). The node is killed with SIGKILL 20 times at
random moments, restarted each time, then stopped cleanly. The journal must then verify on its
own and against the contracts' events: every on-chain round is a journaled observation, every
journaled landing is on chain, and no observation landed twice.
"""

from __future__ import annotations

import asyncio
import json
import random
import signal
import sys
from pathlib import Path

import aiohttp
import pytest

from audit.journal import Journal
from audit.onchain import onchain_rounds
from node.devstack import connect, local_stack

pytestmark = [pytest.mark.integration, pytest.mark.timeout(300)]

ORACLE_NODE = Path(sys.executable).with_name("oracle-node")
KILLS = 20


async def start_node(config: Path, log: Path) -> asyncio.subprocess.Process:
    out = log.open("ab")
    try:
        return await asyncio.create_subprocess_exec(
            str(ORACLE_NODE), "run", "--config", str(config),
            stdin=asyncio.subprocess.DEVNULL, stdout=out, stderr=out,
        )  # fmt: skip
    finally:
        out.close()


async def wait_healthy(port: int, process: asyncio.subprocess.Process, log: Path) -> None:
    async with aiohttp.ClientSession() as http:
        for _ in range(300):
            if process.returncode is not None:
                pytest.fail(f"node exited with {process.returncode}:\n{log.read_text()[-3000:]}")
            try:
                async with http.get(f"http://127.0.0.1:{port}/health") as response:
                    if response.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.05)
    pytest.fail(f"node never became healthy:\n{log.read_text()[-3000:]}")


async def test_kill_9_at_random_moments_loses_nothing_and_publishes_nothing_twice(
    tmp_path: Path,
) -> None:
    rnd = random.Random(20)
    log = tmp_path / "node.log"
    async with local_stack(tmp_path) as stack:
        port = _free_port()
        config = tmp_path / "node.toml"
        journal_path = tmp_path / "journal.db"
        config.write_text(
            stack.config_toml(
                journal=journal_path, http_port=port, round_interval_s=1.0, heartbeat_s=1
            )
        )
        process: asyncio.subprocess.Process | None = None
        try:
            for _ in range(KILLS):
                process = await start_node(config, log)
                await wait_healthy(port, process, log)
                await asyncio.sleep(rnd.uniform(0.0, 1.5))
                process.send_signal(signal.SIGKILL)
                await process.wait()
            process = await start_node(config, log)
            await wait_healthy(port, process, log)
            process.send_signal(signal.SIGTERM)
            assert await asyncio.wait_for(process.wait(), 30) == 0
        finally:
            # A failed wait or assertion must not leave the node running after the stack is gone.
            if process is not None and process.returncode is None:
                process.kill()
                await process.wait()

        verify = await asyncio.create_subprocess_exec(
            str(ORACLE_NODE), "audit", "verify", "--journal", str(journal_path),
            "--rpc", stack.anvil.rpc_url, "--json", stdout=asyncio.subprocess.PIPE,
        )  # fmt: skip
        out, _ = await verify.communicate()
        w3 = connect(stack.anvil.rpc_url)
        rounds = {
            feed: await onchain_rounds(w3, address) for feed, address in stack.contracts.items()
        }
        await w3.provider.disconnect()

    journal = await Journal.open(journal_path)
    sessions = await journal.records(kind="session")
    outcomes = await journal.records(kind="outcome")
    await journal.close()
    assert json.loads(out) == {"ok": True, "findings": []}
    assert len(sessions) == KILLS + 1
    for feed, onchain in rounds.items():
        assert [r.round_id for r in onchain] == list(range(1, len(onchain) + 1))
        assert len({(r.answer, r.updated_at) for r in onchain}) == len(onchain), (
            f"{feed} published twice"
        )
        landed = [
            o
            for o in outcomes
            if o.feed == feed and o.body["status"] in ("confirmed", "reconciled_landed")
        ]
        assert len(landed) == len(onchain)


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port
