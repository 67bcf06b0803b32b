"""The `[chain]` section: RPC endpoints in failover order and the transaction manager's knobs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from node.chain import tx_settings
from node.config import ChainConfig
from publisher.tx_types import GWEI

KEYS: dict[str, Any] = {"keystore": Path("k.json"), "passphrase_file": Path("k.pass")}


def test_rpc_url_comes_first_then_rpc_urls_without_duplicates() -> None:
    config = ChainConfig(rpc_url="http://a", rpc_urls=["http://b", "http://a", "http://c"], **KEYS)

    assert config.endpoints() == ["http://a", "http://b", "http://c"]


def test_a_chain_without_any_endpoint_is_refused() -> None:
    with pytest.raises(ValidationError, match="set rpc_url or rpc_urls"):
        ChainConfig(**KEYS)


def test_a_remote_signer_needs_its_address() -> None:
    with pytest.raises(ValidationError, match="go together"):
        ChainConfig(rpc_url="http://a", remote_signer_url="http://signer", **KEYS)


def test_defaults_follow_chainlink_bump_20_percent_after_3_blocks_with_a_cap() -> None:
    settings = tx_settings(ChainConfig(rpc_url="http://a", **KEYS))

    assert (settings.bump_percent, settings.bump_after_blocks) == (20, 3)
    assert settings.max_fee_per_gas == 500 * GWEI
    assert settings.confirmations == 1


def test_a_bump_below_the_pools_ten_percent_minimum_is_refused() -> None:
    with pytest.raises(ValidationError):
        ChainConfig(rpc_url="http://a", bump_percent=5, **KEYS)
