"""`[[peers]]` and `[relay]` in the node's config: what a quorum node accepts and refuses."""

from __future__ import annotations

from pathlib import Path

import pytest

from node.config import ConfigError, NodeConfig, load_config

CHAIN = """
[chain]
rpc_url = "http://127.0.0.1:8545"
keystore = "k.json"
passphrase_file = "k.pass"
"""
FEEDS = """
[venues.a]
[venues.b]
[[feeds]]
id = "BTC/USD"
sources = ["a:BTC/USD", "b:BTC/USD"]
"""
A = "0x" + "11" * 20
B = "0x" + "22" * 20


def peer(url: str, signer: str) -> str:
    return f'[[peers]]\nurl = "{url}"\nsigner = "{signer}"\n'


def load(tmp_path: Path, text: str) -> NodeConfig:
    path = tmp_path / "node.toml"
    path.write_text(text)
    return load_config(path)


def test_peers_and_relay_settings_load_with_defaults_for_what_is_not_set(tmp_path: Path) -> None:
    text = (
        CHAIN + FEEDS + "[relay]\nslot_s = 6\n" + peer("http://n1:8080/", A) + peer("http://n2", B)
    )
    config = load(tmp_path, text)
    assert [p.url for p in config.peers] == ["http://n1:8080", "http://n2"]
    assert config.relay.slot_s == 6
    assert config.relay.max_peers == 16


def test_without_peers_the_node_is_alone(tmp_path: Path) -> None:
    assert load(tmp_path, CHAIN + FEEDS).peers == []


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        (
            CHAIN
            + FEEDS
            + peer("http://n1", A)
            + peer("http://n2", A.upper()[2:].join(["0x", ""])),
            "signer appears twice",
        ),
        (CHAIN + FEEDS + peer("http://n1", A) + peer("http://n1", B), "url appears twice"),
        (CHAIN + FEEDS + peer("n1:8080", A), "must start with http"),
        (CHAIN + FEEDS + peer("http://u:secret@n1", A), "must not carry credentials"),
        (CHAIN + FEEDS + peer("http://n1", "0x1234"), "20-byte address"),
        (FEEDS + peer("http://n1", A), "peers need a \\[chain\\] section"),
    ],
)
def test_a_bad_peer_list_is_refused_with_its_problem(
    tmp_path: Path, text: str, problem: str
) -> None:
    with pytest.raises(ConfigError, match=problem):
        load(tmp_path, text)
