"""The compose stack's start sequence, without containers: simulator and anvil running, the
`setup-local` one-shot, then `oracle-node run` on the config it wrote, with an environment
override as the compose file sets one. The node must publish, report healthy, log only JSON
lines, and stop cleanly on SIGTERM."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import sys
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from publisher.anvil import Anvil
from simulator.server import running_simulator

pytestmark = [pytest.mark.integration, pytest.mark.timeout(120)]

ORACLE_NODE = Path(sys.executable).with_name("oracle-node")


async def cli(*args: str) -> tuple[int, str]:
    process = await asyncio.create_subprocess_exec(
        str(ORACLE_NODE), *args, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    out, err = await process.communicate()
    assert process.returncode is not None
    return process.returncode, out.decode() + err.decode()


async def test_setup_local_then_run_publishes_and_is_healthy(anvil: Anvil, tmp_path: Path) -> None:
    state = tmp_path / "state"
    async with running_simulator(seed=5) as sim_url:
        code, out = await cli(
            "setup-local", "--rpc", anvil.rpc_url, "--simulator", sim_url,
            "--dir", str(state), "--round-interval", "1", "--json",
        )  # fmt: skip
        assert code == 0, out
        made = json.loads(out)
        assert made["created"] is True
        assert set(made["contracts"]) == {"USDT/USD", "BTC/USD", "ETH/USD"}
        assert (state / "keys" / "node.pass").stat().st_mode & 0o077 == 0
        code, out = await cli("config", "check", str(state / "node.toml"))
        assert (code, out.strip()) == (
            0,
            f"{state / 'node.toml'}: OK: 3 feed(s), 6 venue(s), 3 feed(s) published through "
            "1 RPC endpoint(s)",
        )
        code, out = await cli("setup-local", "--rpc", anvil.rpc_url, "--simulator", sim_url,
                              "--dir", str(state), "--json")  # fmt: skip
        assert json.loads(out)["created"] is False  # a restarted one-shot keeps its node

        port = free_port()
        env = {**os.environ, "ORACLE_NODE_HTTP__PORT": str(port)}  # as compose sets HTTP__HOST
        log = tmp_path / "node.log"
        with log.open("wb") as sink:
            node = await asyncio.create_subprocess_exec(
                str(ORACLE_NODE), "--log-format", "json", "run", "--config",
                str(state / "node.toml"), stdin=asyncio.subprocess.DEVNULL, stdout=sink,
                stderr=sink, env=env,
            )  # fmt: skip
        try:
            feed = await published_feed(f"http://127.0.0.1:{port}", node)
        finally:
            node.send_signal(signal.SIGTERM)
            stopped = await asyncio.wait_for(node.wait(), 60)
    assert stopped == 0
    assert made["contracts"]["BTC/USD"] == feed["contract"]
    lines = [json.loads(line) for line in log.read_text().splitlines()]  # every line is JSON
    published = [p for p in lines if "published answer" in p["event"]]
    assert {p["feed"] for p in published} >= {"BTC/USD"}
    assert all(isinstance(p["round_id"], int) and p["tx"].startswith("0x") for p in published)
    assert lines[-1]["event"] == "node stopped"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


async def published_feed(url: str, node: asyncio.subprocess.Process) -> dict[str, Any]:
    """BTC/USD once it has a transaction, with /health 200 (the image's health check)."""
    async with aiohttp.ClientSession() as http:
        for _ in range(600):
            assert node.returncode is None, "the node exited"
            try:
                async with http.get(f"{url}/v1/feeds/BTC-USD") as response:
                    feed: dict[str, Any] = await response.json()
                if feed["last_tx"] is not None:
                    async with http.get(f"{url}/health") as response:
                        assert response.status == 200
                    return feed
            except aiohttp.ClientError:
                pass  # not serving yet
            await asyncio.sleep(0.1)
    raise AssertionError("BTC/USD was not published within 60 s")
