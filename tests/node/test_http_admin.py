"""Specification of the breaker's view over HTTP and the authenticated admin reset."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient, TestServer

from audit.journal import Journal
from node.config import ConfigError
from node.http_api import create_app, load_admin_token
from node.service import OracleNode
from tests.node.fakes import FakeClock, FixedQuotes, RecordingChain, make_node

TOKEN = "s3cret-admin-token-0123456789"
RESET = "/v1/admin/feeds/BTC-USD/breaker/reset"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture
async def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
async def quotes(clock: FakeClock) -> FixedQuotes:
    return FixedQuotes(clock, 100.0)


@pytest.fixture
async def journal(tmp_path: Path) -> AsyncIterator[Journal]:
    journal = await Journal.open(tmp_path / "j.db")
    yield journal
    await journal.close()


@pytest.fixture
async def node(journal: Journal, clock: FakeClock, quotes: FixedQuotes) -> OracleNode:
    node = make_node(journal, clock, quotes, RecordingChain(journal))
    await node.start()
    return node


async def client_for(
    node: OracleNode, clock: FakeClock, token: str | None
) -> TestClient[object, object]:
    client: TestClient[object, object] = TestClient(
        TestServer(create_app(node, clock, 10.0, admin_token=token))
    )
    await client.start_server()
    return client


async def hold_a_spike(node: OracleNode, clock: FakeClock, quotes: FixedQuotes) -> None:
    await node.run_round()
    clock.advance(10)
    quotes.price = 150.0
    await node.run_round()


async def test_a_held_value_is_served_with_the_open_breaker_and_why(
    node: OracleNode, clock: FakeClock, quotes: FixedQuotes
) -> None:
    await hold_a_spike(node, clock, quotes)
    client = await client_for(node, clock, None)
    body = await (await client.get("/v1/feeds/BTC-USD")).json()
    await client.close()
    assert body["value"] == "100.00000000"
    assert body["breaker"] == "open"
    assert "+50.00%" in body["breaker_reason"]
    details = body["breaker_details"]
    assert details["holding"] is True
    assert details["trips"] == ["deviation"]
    assert details["open_since"] == clock() // 1000


async def test_admin_calls_do_not_exist_without_a_configured_token(
    node: OracleNode, clock: FakeClock
) -> None:
    client = await client_for(node, clock, None)
    response = await client.post(RESET, headers=AUTH)
    await client.close()
    assert response.status == 404


@pytest.mark.parametrize(
    ("headers", "status"),
    [({}, 401), ({"Authorization": "Bearer wrong-token"}, 401), ({"Authorization": TOKEN}, 401)],
    ids=["no-token", "wrong-token", "not-bearer"],
)
async def test_admin_reset_refuses_a_caller_without_the_token(
    node: OracleNode, clock: FakeClock, headers: dict[str, str], status: int
) -> None:
    client = await client_for(node, clock, TOKEN)
    response = await client.post(RESET, headers=headers)
    body = await response.json()
    await client.close()
    assert response.status == status
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert "admin call" in body["error"]
    assert node.status["BTC/USD"].reset_pending is False


async def test_admin_reset_is_journaled_and_lets_the_next_value_through(
    node: OracleNode, clock: FakeClock, quotes: FixedQuotes, journal: Journal
) -> None:
    await hold_a_spike(node, clock, quotes)
    client = await client_for(node, clock, TOKEN)
    response = await client.post(RESET, headers=AUTH)
    pending = (await (await client.get("/v1/feeds/BTC-USD")).json())["breaker_details"]
    clock.advance(10)
    await node.run_round()
    after = await (await client.get("/v1/feeds/BTC-USD")).json()
    await client.close()
    resets = await journal.records(kind="breaker_reset")
    assert response.status == 202
    assert pending["reset_pending"] is True
    assert after["value"] == "150.00000000"
    assert after["breaker"] == "closed"
    assert after["breaker_details"]["reset_pending"] is False
    assert [(r.feed, r.round_id) for r in resets] == [("BTC/USD", 3)]


async def test_admin_reset_of_an_unknown_feed_is_404(node: OracleNode, clock: FakeClock) -> None:
    client = await client_for(node, clock, TOKEN)
    response = await client.post("/v1/admin/feeds/DOGE-USD/breaker/reset", headers=AUTH)
    await client.close()
    assert response.status == 404


def test_admin_token_file_must_hold_a_long_enough_token(tmp_path: Path) -> None:
    short = tmp_path / "token"
    short.write_text("abc\n")
    with pytest.raises(ConfigError, match="16 characters"):
        load_admin_token(short)
    short.write_text(TOKEN + "\n")
    assert load_admin_token(short) == TOKEN
    assert load_admin_token(None) is None
