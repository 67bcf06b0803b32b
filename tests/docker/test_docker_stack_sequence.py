"""The compose stack's start sequence, without containers: simulator and anvil running, the
`setup-local` one-shot, then the node on the config it wrote, with the environment override
the compose file sets. The node must publish and report healthy."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

import aiohttp
import pytest

from node.app import running_node
from node.config import load_config
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


async def test_setup_local_then_run_publishes_and_is_healthy(
    anvil: Anvil, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
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

        monkeypatch.setenv("ORACLE_NODE_HTTP__PORT", "0")  # as compose sets HTTP__HOST
        config = load_config(state / "node.toml")
        async with running_node(config) as running, aiohttp.ClientSession() as http:
            for _ in range(300):
                async with http.get(f"{running.http_url}/v1/feeds/BTC-USD") as response:
                    feed = await response.json()
                if feed["last_tx"] is not None:
                    break
                await asyncio.sleep(0.1)
            async with http.get(f"{running.http_url}/health") as response:
                assert response.status == 200
    assert feed["last_tx"] is not None, "BTC/USD was not published within 30 s"
    assert made["contracts"]["BTC/USD"] == feed["contract"]
