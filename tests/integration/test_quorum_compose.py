"""docker/compose.quorum.yaml, checked without a Docker engine: its commands are real CLI
commands, its five nodes find each other, and its setup step, run for real against anvil and
the simulator, writes five configs that load, each naming the four others, for contracts that
need 3 of the 5 signatures."""

from __future__ import annotations

import asyncio
import importlib
import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from node.cluster import setup_quorum as setup_in_process
from node.config import load_config
from node.devstack import connect, simulator_process
from publisher.anvil import running_anvil
from publisher.feed_contract import FeedContract

yaml = importlib.import_module("yaml")  # typed Any: whether PyYAML's stubs are installed or not
COMPOSE = Path(__file__).parents[2] / "docker" / "compose.quorum.yaml"
ORACLE_NODE = Path(sys.executable).with_name("oracle-node")


def services() -> dict[str, Any]:
    found: dict[str, Any] = yaml.safe_load(COMPOSE.read_text())["services"]
    return found


def flag(command: list[str], name: str) -> str:
    return command[command.index(name) + 1]


def nodes() -> dict[str, Any]:
    return {name: s for name, s in services().items() if re.fullmatch(r"node\d+", name)}


@pytest.mark.parametrize("service", ["setup", "node0"])
def test_each_command_is_a_real_cli_command_with_real_flags(service: str) -> None:
    """The setup's command, and the nodes' (one checked: all five are the same but --config)."""
    command: list[str] = services()[service]["command"]
    result = subprocess.run(
        [str(ORACLE_NODE), command[0], "--help"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    for option in (w for w in command if w.startswith("--")):
        assert option in result.stdout, f"{service}: {option} is not an option of {command[0]}"


def test_five_nodes_with_quorum_three_each_reach_the_others_by_service_name() -> None:
    setup = services()["setup"]["command"]
    assert (flag(setup, "--nodes"), flag(setup, "--quorum")) == ("5", "3")
    port = flag(setup, "--http-port")
    assert flag(setup, "--peer-url") == f"http://node{{i}}:{port}"
    assert sorted(nodes()) == [f"node{i}" for i in range(5)]
    for i, (name, service) in enumerate(sorted(nodes().items())):
        assert flag(service["command"], "--config") == f"/state/node{i}/node.toml", name
        assert service["environment"]["ORACLE_NODE_HTTP__HOST"] == "0.0.0.0"
        [published] = service["ports"]
        assert published.startswith("127.0.0.1:")
        assert published.endswith(f":{port}")


async def setup_quorum(folder: Path, rpc: str, sim: str) -> Any:
    setup = services()["setup"]["command"]
    args = ["setup-quorum", "--rpc", rpc, "--simulator", sim, "--dir", str(folder), "--json"]
    args += [w for name in ("--nodes", "--quorum", "--peer-url") for w in (name, flag(setup, name))]
    process = await asyncio.create_subprocess_exec(
        str(ORACLE_NODE), *args, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    out, err = await asyncio.wait_for(process.communicate(), 120)
    assert process.returncode == 0, err.decode()[-2000:]
    return json.loads(out)


@pytest.mark.integration
async def test_the_setup_step_writes_five_peer_configs_for_a_three_of_five_contract(
    tmp_path: Path,
) -> None:
    async with simulator_process() as sim, running_anvil() as anvil:
        result = await setup_quorum(tmp_path, anvil.rpc_url, sim)
        again = await setup_in_process(tmp_path, anvil.rpc_url, sim, 5, 3)
        w3 = connect(anvil.rpc_url)
        try:
            contract = await FeedContract.at(w3, result["contracts"]["BTC/USD"])
            signers, quorum = await contract.signers(), await contract.quorum()
        finally:
            await w3.provider.disconnect()
    addresses = [n["address"] for n in result["nodes"]]
    assert sorted(signers) == sorted(addresses)
    assert quorum == 3
    assert again["created"] is False
    for i, node in enumerate(result["nodes"]):
        config = load_config(Path(node["config"]))
        assert config.chain is not None
        assert {p.url for p in config.peers} == {f"http://node{j}:8080" for j in range(5) if j != i}
        assert {p.signer for p in config.peers} == set(addresses) - {node["address"]}
