"""Specification of config loading: valid files load, every problem names its location."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from node.config import ConfigError, load_config

EXAMPLE = Path(__file__).resolve().parents[2] / "config" / "node.example.toml"

MINIMAL = """
[venues.a]
[venues.b]
[[feeds]]
id = "BTC/USD"
sources = ["a:BTC/USD", "b:BTC/USD"]
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "node.toml"
    path.write_text(text)
    return path


def test_the_example_config_loads_with_its_documented_values() -> None:
    config = load_config(EXAMPLE)
    assert [f.id for f in config.feeds] == ["USDT/USD", "BTC/USD", "ETH/USD"]
    assert config.breaker_params("ETH/USD").max_deviation == 0.15
    assert config.breaker_params("BTC/USD").max_deviation == 0.10
    assert config.publish_policy("BTC/USD").heartbeat_s == 3600
    assert config.chain is not None
    assert config.chain.keystore == (EXAMPLE.parent / "keys" / "node.keystore.json").resolve()


def test_defaults_apply_when_a_file_says_nothing(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, MINIMAL))
    assert config.node.round_interval_s == 10.0
    assert config.node.venue_deadline_s == 3.0
    assert config.http.host == "127.0.0.1"
    assert config.feed_specs()[0].params.quorum == 3
    assert config.chain is None


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (MINIMAL.replace('"b:BTC/USD"', '"c:BTC/USD"'), "venue 'c' is not in [venues]"),
        (MINIMAL.replace('"b:BTC/USD"', '"a:BTC/USDT"'), "a venue appears twice"),
        (MINIMAL.replace('id = "BTC/USD"', 'id = "BTCUSD"'), "feeds.0.id"),
        (MINIMAL.replace('"b:BTC/USD"', '"b:BTC/USDC"'), "needs a feed USDC/USD"),
        (MINIMAL + "\n[node]\nround_interval_s = -1\n", "node.round_interval_s"),
        (MINIMAL + "\n[typo]\nx = 1\n", "typo"),
        ("[node\n", "not valid TOML"),
    ],
    ids=[
        "unknown-venue",
        "venue-twice",
        "bad-feed-id",
        "no-conversion",
        "negative-interval",
        "unknown-section",
        "bad-toml",
    ],
)
def test_a_bad_config_is_refused_with_the_place_it_went_wrong(
    tmp_path: Path, text: str, message: str
) -> None:
    with pytest.raises(ConfigError, match=re.escape(message)):
        load_config(write(tmp_path, text))


def test_a_missing_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no such config file"):
        load_config(tmp_path / "absent.toml")


def test_environment_overrides_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ORACLE_NODE_NODE__ROUND_INTERVAL_S", "2.5")
    config = load_config(write(tmp_path, MINIMAL + "\n[node]\nround_interval_s = 7\n"))
    assert config.node.round_interval_s == 2.5


def test_the_snapshot_is_plain_json_data(tmp_path: Path) -> None:
    snapshot = load_config(write(tmp_path, MINIMAL)).snapshot()
    assert snapshot["feeds"][0]["sources"] == ["a:BTC/USD", "b:BTC/USD"]
    assert snapshot["defaults"]["publish"] == {"deviation": 0.005, "heartbeat_s": 3600}
