"""GET /metrics of a real node (`running_node`): the simulator's venues, a contract on anvil.

One round (the interval is long enough that no second one starts), then every figure is checked
against its source of truth: the venues' own health, the transaction receipt, the account on
chain, the journal file.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from prometheus_client.parser import text_string_to_metric_families

from node.app import RunningNode, running_node
from node.config import NodeConfig
from node.devstack import connect, deploy_feeds, dev_account, provision_node_key
from publisher.anvil import Anvil
from simulator.server import running_simulator

pytestmark = [pytest.mark.integration, pytest.mark.timeout(120)]

VENUES = ("kraken", "bitstamp", "coinbaseexchange", "gemini")


@dataclass
class Live:
    running: RunningNode
    anvil: Anvil
    journal: Path
    session: aiohttp.ClientSession

    async def get(self, path: str) -> Any:
        async with self.session.get(self.running.http_url + path) as response:
            assert response.status == 200
            return await response.json()

    async def metrics(self) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
        async with self.session.get(self.running.http_url + "/metrics") as response:
            text = await response.text()
        return {
            (s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text)
            for s in family.samples
        }


@pytest.fixture
async def live(tmp_path: Path, anvil: Anvil) -> AsyncIterator[Live]:
    w3 = connect(anvil.rpc_url)
    try:
        keystore, passphrase, address = await provision_node_key(
            tmp_path / "keys", w3, dev_account(anvil.dev_keys[0])
        )
        contracts = await deploy_feeds(
            w3, dev_account(anvil.dev_keys[0]), ["BTC/USD"], [address], quorum=1
        )
    finally:
        await w3.provider.disconnect()
    journal = tmp_path / "journal.db"
    async with running_simulator(seed=3) as sim_url:
        config = NodeConfig(
            node={"round_interval_s": 600, "venue_deadline_s": 3, "journal": journal},
            http={"port": 0},
            chain={"rpc_url": anvil.rpc_url, "keystore": keystore, "passphrase_file": passphrase},
            venues={v: {"api_url": f"{sim_url}/{v}"} for v in VENUES},
            feeds=[
                {
                    "id": "BTC/USD",
                    "contract": contracts["BTC/USD"],
                    "sources": [f"{v}:BTC/USD" for v in VENUES],
                }
            ],
        )
        async with running_node(config) as running, aiohttp.ClientSession() as session:
            yield Live(running, anvil, journal, session)


async def published_and_sampled(live: Live) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Metrics once the first round has published and the sender has been read after it."""
    for _ in range(600):
        samples = await live.metrics()
        if samples.get(("oracle_account_balance_wei", ()), 0) > 0:
            return samples
        await asyncio.sleep(0.1)
    raise AssertionError("the first round did not publish within 60 s")


async def test_every_metric_family_matches_its_source_after_a_published_round(
    live: Live,
) -> None:
    samples = await published_and_sampled(live)
    feed = await live.get("/v1/feeds/BTC-USD")
    venues = {v["venue"]: v for v in (await live.get("/v1/venues"))["venues"]}
    btc = (("feed", "BTC/USD"),)

    # venues: one latency observation per poll, as the venue's own health counts them
    for venue in VENUES:
        key = (("venue", venue),)
        assert samples[("oracle_venue_fetch_seconds_count", key)] == venues[venue]["polls"] == 1
        assert samples[("oracle_venue_requests_total", key)] == venues[venue]["requests"]
        assert samples[("oracle_venue_skipped_rounds_total", key)] == 0
        assert samples[("oracle_venue_rate_limit_wait_seconds_total", key)] >= 0
    # feed: value, quorum, breaker and the on-chain value it just published
    assert samples[("oracle_feed_value", btc)] == pytest.approx(float(feed["value"]), rel=1e-12)
    assert samples[("oracle_feed_quorum_size", btc)] == len(feed["sources_used"]) == 4
    assert samples[("oracle_feed_breaker_state", btc)] == 0
    assert samples[("oracle_feed_onchain_value", btc)] == samples[("oracle_feed_value", btc)]
    assert samples[("oracle_feed_deviation_ratio", btc)] == 0
    # publication: gas spent is the receipt's gasUsed x effectiveGasPrice
    w3 = connect(live.anvil.rpc_url)
    try:
        receipt = await w3.eth.get_transaction_receipt(feed["last_tx"])
        balance = await w3.eth.get_balance(receipt["from"])
    finally:
        await w3.provider.disconnect()
    assert samples[("oracle_publish_seconds_count", btc)] == 1
    assert samples[("oracle_publish_gas_used_total", btc)] == receipt["gasUsed"]
    spent = receipt["gasUsed"] * receipt["effectiveGasPrice"]
    assert spent > 0
    assert samples[("oracle_publish_gas_spent_wei_total", btc)] == spent
    # the sender, read after the round
    assert samples[("oracle_account_balance_wei", ())] == float(balance)  # a float, as exposed
    assert samples[("oracle_account_pending_transactions", ())] == 0
    assert samples[("oracle_publications_in_flight", ())] == 0
    # the journal on disk
    assert samples[("oracle_journal_bytes", (("file", "db"),))] == live.journal.stat().st_size
    assert samples[("oracle_rounds_total", ())] == 1
