"""The real node (`oracle-node run` against the simulator) checked against its own /openapi.json.

Schemathesis generates requests for every operation of the document (bounded examples, no
deadline) and checks each answer: never a 5xx, status, content type, headers and body as
documented. The event stream, which never ends, is checked by reading its first event.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis.specs.openapi.checks import positive_data_acceptance

from node.devstack import local_config_toml

pytestmark = [pytest.mark.integration, pytest.mark.timeout(240)]

ORACLE_NODE = Path(sys.executable).with_name("oracle-node")
TOKEN = "schema-test-admin-token-0123456789"
EXAMPLES = 25


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@pytest.fixture(scope="module")
def node_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A node with admin calls on, after rounds against a simulator process; both stopped after."""
    folder = tmp_path_factory.mktemp("api-schema")
    sim = subprocess.Popen(
        [sys.executable, "-m", "simulator", "--host", "127.0.0.1", "--port", "0"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
    )  # fmt: skip
    node: subprocess.Popen[bytes] | None = None
    try:
        assert sim.stdout is not None
        sim_url = sim.stdout.readline().decode().strip().split("listening on ", 1)[1]
        (folder / "admin.token").write_text(TOKEN + "\n")
        port = free_port()
        config = local_config_toml(
            simulator_url=sim_url, rpc_url=None, keystore=None, passphrase_file=None,
            contracts={}, journal=folder / "journal.db", http_port=port, round_interval_s=1.0,
        )  # fmt: skip
        config = config.replace(
            "[http]\n",
            '[http]\nadmin_token_file = "admin.token"\nrate_limit_per_s = 10000\n'
            "rate_limit_burst = 10000\n",
        )
        (folder / "node.toml").write_text(config)
        with (folder / "node.log").open("wb") as log:
            node = subprocess.Popen(
                [str(ORACLE_NODE), "run", "--config", str(folder / "node.toml")],
                stdout=log, stderr=log, stdin=subprocess.DEVNULL,
            )  # fmt: skip
        url = f"http://127.0.0.1:{port}"
        _wait_for_values(url, node, folder / "node.log")
        yield url
    finally:
        if sim.stdout is not None:
            sim.stdout.close()
        for process in (node, sim):
            if process is not None and process.poll() is None:
                process.terminate()
                try:
                    process.wait(15)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()


def _wait_for_values(url: str, node: subprocess.Popen[bytes], log: Path) -> None:
    """Until every feed has a value (rounds completed against the simulator), 60 s at most."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if node.poll() is not None:
            pytest.fail(f"node exited with {node.returncode}:\n{log.read_text()[-3000:]}")
        try:
            health = requests.get(f"{url}/health", timeout=2).json()
            if health.get("feeds_with_value") == 3:
                return
        except requests.RequestException:
            pass
        time.sleep(0.2)
    pytest.fail(f"no values within 60 s:\n{log.read_text()[-3000:]}")


def test_the_node_listens_on_127_0_0_1_only(node_url: str) -> None:
    """The default config binds 127.0.0.1: the same port is free on another address, which a
    wildcard (0.0.0.0) bind would hold."""
    assert node_url.startswith("http://127.0.0.1:")
    port = int(node_url.rsplit(":", 1)[1])
    with socket.socket() as other:
        other.bind(("127.0.0.2", port))


def test_every_operation_answers_as_documented_and_never_5xx(node_url: str) -> None:
    schema = schemathesis.openapi.from_url(f"{node_url}/openapi.json")
    checked = []
    for result in schema.get_all_operations():
        operation = result.ok()
        if operation.path == "/v1/stream":
            continue  # an endless response: checked below
        check = _property(operation, admin="admin" in operation.path)
        check()
        checked.append(operation.label)
    assert len(checked) >= 10


def _property(operation: schemathesis.APIOperation, admin: bool) -> Callable[[], None]:
    """Up to EXAMPLES requests to `operation`; admin calls with and without the token."""
    token = {"Authorization": f"Bearer {TOKEN}"}

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
        database=None,
        derandomize=True,
    )
    @given(case=operation.as_strategy(), authorized=st.booleans())
    def check(case: schemathesis.Case, authorized: bool) -> None:
        case.call_and_validate(
            headers=token if admin and authorized else {},
            timeout=10,
            # A schema-valid request may still be refused with a 400 the document cannot
            # express (`from` after `to`, 2024-02-31): that check would flag correct answers.
            excluded_checks=[positive_data_acceptance],
        )

    return check  # type: ignore[no-any-return]


def test_the_event_stream_sends_feed_events_of_the_documented_shape(node_url: str) -> None:
    doc = requests.get(f"{node_url}/openapi.json", timeout=5).json()
    required = set(doc["components"]["schemas"]["Feed"]["required"])
    with requests.get(f"{node_url}/v1/stream", stream=True, timeout=10) as response:
        assert response.status_code == 200
        assert response.headers["Content-Type"] == "text/event-stream"
        lines = response.iter_lines(decode_unicode=True)
        data = next(line for line in lines if line.startswith("data: "))
    feed = json.loads(data.removeprefix("data: "))
    assert required <= set(feed)
    assert feed["feed"] in {"BTC/USD", "ETH/USD", "USDT/USD"}
