"""docker/compose.yaml and docker/Dockerfile, checked without a Docker engine.

Each service's command is one this project's CLI (or anvil) really accepts, the ports, URLs
and volumes agree with each other, start order follows health checks, and nothing runs as
root.
"""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml

from publisher.anvil import AnvilNotFoundError, find_anvil

ROOT = Path(__file__).parents[2]
DOCKER = ROOT / "docker"
ORACLE_NODE = Path(sys.executable).with_name("oracle-node")


@cache
def compose() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((DOCKER / "compose.yaml").read_text())
    return data


def services() -> dict[str, Any]:
    found: dict[str, Any] = compose()["services"]
    return found


def stages() -> dict[str, list[str]]:
    """Dockerfile stage name -> its instructions (continuation lines joined)."""
    text = (DOCKER / "Dockerfile").read_text().replace("\\\n", " ")
    out: dict[str, list[str]] = {}
    current: list[str] = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        match = re.match(r"FROM\s+\S+\s+AS\s+(\S+)", line, re.IGNORECASE)
        if match:
            current = out.setdefault(match.group(1), [])
        current.append(line)
    return out


def node_services() -> dict[str, Any]:
    """Services running the node's image, whose command is an `oracle-node` command."""
    return {
        name: s for name, s in services().items() if s.get("build", {}).get("target") == "runtime"
    }


def entrypoint_args() -> list[str]:
    """The global options the runtime image's ENTRYPOINT passes before each command."""
    [entrypoint] = [i for i in stages()["runtime"] if i.startswith("ENTRYPOINT")]
    args: list[str] = yaml.safe_load(entrypoint.removeprefix("ENTRYPOINT").strip())
    assert args[0] == "oracle-node"
    return args[1:]


def flag(command: list[str], name: str) -> str:
    return command[command.index(name) + 1]


@pytest.mark.parametrize("service", sorted(node_services()))
def test_each_node_image_command_is_a_real_cli_command_with_real_flags(service: str) -> None:
    command: list[str] = node_services()[service]["command"]
    words = [w for w in command if not w.startswith("-")][:1]  # the subcommand
    result = subprocess.run(
        [str(ORACLE_NODE), *entrypoint_args(), *words, "--help"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    for option in (w for w in command if w.startswith("--")):
        assert option in result.stdout, f"{service}: {option} is not an option of {words}"


def test_anvil_accepts_its_command_flags() -> None:
    try:
        anvil = find_anvil()
    except AnvilNotFoundError as exc:
        pytest.skip(f"anvil unavailable: {exc}")
    help_text = subprocess.run(
        [str(anvil), "--help"], capture_output=True, text=True, timeout=30, check=True
    ).stdout
    for option in (w for w in services()["anvil"]["command"] if w.startswith("--")):
        assert option in help_text


def test_setup_reaches_anvil_and_the_simulator_on_their_service_ports() -> None:
    setup = services()["setup"]["command"]
    rpc = re.fullmatch(r"http://(\w+):(\d+)", flag(setup, "--rpc"))
    sim = re.fullmatch(r"http://(\w+):(\d+)", flag(setup, "--simulator"))
    assert rpc is not None
    assert sim is not None
    assert rpc.group(1) == "anvil"
    assert flag(services()["anvil"]["command"], "--port") == rpc.group(2)
    assert sim.group(1) == "simulator"
    assert flag(services()["simulator"]["command"], "--port") == sim.group(2)
    assert flag(services()["simulator"]["command"], "--host") == "0.0.0.0"


def test_the_node_serves_on_the_port_it_publishes_exposes_and_health_checks() -> None:
    port = flag(services()["setup"]["command"], "--http-port")
    assert services()["node"]["ports"] == [f"127.0.0.1:{port}:{port}"]  # host loopback only
    assert services()["node"]["environment"]["ORACLE_NODE_HTTP__HOST"] == "0.0.0.0"
    runtime = " ".join(stages()["runtime"])
    assert f"EXPOSE {port}" in runtime
    assert f"127.0.0.1:{port}/health" in runtime


def test_setup_writes_the_config_the_node_runs_on_the_same_volume() -> None:
    setup, node = services()["setup"], services()["node"]
    folder = flag(setup["command"], "--dir")
    assert flag(node["command"], "--config") == f"{folder}/node.toml"
    assert setup["volumes"] == node["volumes"] == [f"state:{folder}"]
    assert "state" in compose()["volumes"]
    assert f"mkdir {folder}" in " ".join(stages()["runtime"])  # owned by the non-root user


def test_start_order_follows_health_checks() -> None:
    assert services()["node"]["depends_on"] == {
        "setup": {"condition": "service_completed_successfully"}
    }
    for dependency, wanted in services()["setup"]["depends_on"].items():
        assert wanted == {"condition": "service_healthy"}
        target = services()[dependency]["build"]["target"]
        has_check = "healthcheck" in services()[dependency] or any(
            i.startswith("HEALTHCHECK") for i in stages()[target]
        )
        assert has_check, f"{dependency} is waited for as healthy but has no health check"


def test_every_image_runs_as_a_non_root_user() -> None:
    for target in {s["build"]["target"] for s in services().values()}:
        users = [i.split()[1] for i in stages()[target] if i.startswith("USER")]
        assert users, f"stage {target} runs as root"
        assert users[-1] not in ("root", "0")
    assert all("user" not in s for s in services().values())


def test_the_build_stage_copies_every_package_the_project_installs() -> None:
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    packages = {
        p.rstrip("*") for p in pyproject["tool"]["setuptools"]["packages"]["find"]["include"]
    }
    copied = {i.split()[1] for i in stages()["build"] if i.startswith("COPY ")}
    assert packages <= copied
    assert all((ROOT / p).is_dir() for p in packages)
    ignore = (DOCKER / "Dockerfile.dockerignore").read_text().splitlines()
    assert all(f"!{p}/**" in ignore for p in packages)
    assert {"!constraints.txt", "!package-lock.json"} <= set(ignore)
    assert any("-c constraints.txt" in i for i in stages()["build"])
    assert any("npm ci" in i for i in stages()["tools"])
