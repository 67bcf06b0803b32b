"""Specification of the HTTP API: the feed view of DESIGN.md, JSON errors, health."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient, TestServer

from audit.journal import Journal
from node.http_api import create_app
from node.service import OracleNode
from tests.node.fakes import CONTRACT, FakeClock, FixedQuotes, RecordingChain, make_node


@pytest.fixture
async def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
async def node(tmp_path: Path, clock: FakeClock) -> AsyncIterator[OracleNode]:
    journal = await Journal.open(tmp_path / "j.db")
    node = make_node(journal, clock, FixedQuotes(clock, 60_000.125), RecordingChain(journal))
    await node.start()
    yield node
    await journal.close()


@pytest.fixture
async def client(node: OracleNode, clock: FakeClock) -> AsyncIterator[TestClient[object, object]]:
    async with TestClient(TestServer(create_app(node, clock, 10.0))) as client:
        yield client


async def test_feed_view_has_every_field_integrators_rely_on(
    node: OracleNode, client: TestClient[object, object]
) -> None:
    await node.run_round()
    response = await client.get("/v1/feeds/BTC-USD")
    body = await response.json()
    assert response.status == 200
    assert body["feed"] == "BTC/USD"
    assert body["value"] == "60000.12500000"
    assert body["answer"] == "6000012500000"
    assert body["decimals"] == 8
    assert body["timestamp"] == 1_700_000_000
    assert body["round_id"] == 1
    assert [s["source"] for s in body["sources_used"]] == ["a", "b", "c"]
    assert body["sources_rejected"] == []
    assert body["breaker"] == "closed"
    assert body["contract"] == CONTRACT
    assert body["last_tx"] == "0x" + "11" * 32
    assert body["published"]["round_id"] == 1


async def test_feed_names_are_case_insensitive(
    node: OracleNode, client: TestClient[object, object]
) -> None:
    response = await client.get("/v1/feeds/btc-usd")
    assert response.status == 200


async def test_list_gives_every_feed(client: TestClient[object, object]) -> None:
    body = await (await client.get("/v1/feeds")).json()
    assert [f["feed"] for f in body["feeds"]] == ["BTC/USD"]


@pytest.mark.parametrize(
    ("path", "status", "text"),
    [
        ("/v1/feeds/ETH-USD", 404, "no feed ETH/USD"),
        ("/v1/feeds/BTCUSD", 400, "must be BASE-QUOTE"),
        ("/v1/feeds/BTC-US$D", 400, "must be BASE-QUOTE"),
        ("/v1/nothing", 404, "Not Found"),
    ],
)
async def test_bad_requests_get_a_json_error_and_a_4xx(
    client: TestClient[object, object], path: str, status: int, text: str
) -> None:
    response = await client.get(path)
    assert response.status == status
    assert text in (await response.json())["error"]


async def test_health_is_503_until_a_round_ran_and_200_after(
    node: OracleNode, client: TestClient[object, object], clock: FakeClock
) -> None:
    assert (await client.get("/health")).status == 503
    await node.run_round()
    assert (await client.get("/health")).status == 200
    clock.advance(31)
    response = await client.get("/health")
    assert response.status == 503
    assert (await response.json())["status"] == "stale"


async def test_history_serves_the_journal_rounds_and_publications_of_a_feed(
    node: OracleNode, client: TestClient[object, object], clock: FakeClock
) -> None:
    for _ in range(3):
        await node.run_round()
        clock.advance(10)
    response = await client.get(
        "/v1/feeds/BTC-USD/history", params={"from": "1700000000", "to": "1700000015"}
    )
    body = await response.json()
    assert response.status == 200
    assert [r["round_id"] for r in body["rounds"]] == [1, 2]
    assert body["rounds"][0]["aggregate"]["value"] == 60_000.125
    assert [p["status"] for p in body["publications"]] == ["confirmed"]
    assert body["truncated"] is False


async def test_history_defaults_to_the_last_hour_and_honours_limit(
    node: OracleNode, client: TestClient[object, object], clock: FakeClock
) -> None:
    for _ in range(3):
        await node.run_round()
        clock.advance(10)
    body = await (await client.get("/v1/feeds/BTC-USD/history", params={"limit": "2"})).json()
    assert [r["round_id"] for r in body["rounds"]] == [1, 2]
    assert body["truncated"] is True


@pytest.mark.parametrize(
    "params",
    [
        {"from": "yesterday"},
        {"from": "20", "to": "10"},
        {"limit": "0"},
        {"limit": "x"},
        {"to": "-5"},
        {"to": "99999999999999999999999999"},
        {"from": "10000-01-01T00:00:00"},
    ],
)
async def test_history_refuses_bad_parameters_with_400(
    client: TestClient[object, object], params: dict[str, str]
) -> None:
    response = await client.get("/v1/feeds/BTC-USD/history", params=params)
    assert response.status == 400
    assert (await response.json())["error"]
