"""Specification of pausing a feed: still served, never published, journaled, replayed exactly."""

from __future__ import annotations

from pathlib import Path

import pytest

from node.replay import replay_records
from tests.node.fakes import RecordingChain, make_node, one_feed_rules
from tests.node.http_support import AUTH, running_api

PAUSE = "/v1/admin/feeds/BTC-USD/pause"
RESUME = "/v1/admin/feeds/BTC-USD/resume"


async def test_a_paused_feed_is_served_but_not_published_until_resumed(tmp_path: Path) -> None:
    async with running_api(tmp_path) as api:
        await api.round()  # publishes (first value)
        accepted = await api.client.post(PAUSE, headers=AUTH)
        for price in (61_000.0, 62_000.0):  # each a > 0.5% move: would publish
            api.quotes.price = price
            await api.round()
        paused_view = await (await api.client.get("/v1/feeds/BTC-USD")).json()
        published_while_paused = len(api.chain.submitted)
        await api.client.post(RESUME, headers=AUTH)
        await api.round()
        resumed_view = await (await api.client.get("/v1/feeds/BTC-USD")).json()
        records = await api.journal.records(kind="feed_paused")
    assert accepted.status == 202
    assert published_while_paused == 1
    assert paused_view["paused"] is True
    assert paused_view["value"] == "62000.00000000"
    assert len(api.chain.submitted) == 2
    assert resumed_view["paused"] is False
    assert resumed_view["published"]["value"] == "62000.00000000"
    assert [(r.round_id, r.body) for r in records] == [
        (2, {"paused": True}),
        (4, {"paused": False}),
    ]


async def test_a_pause_request_is_pending_until_the_next_round(tmp_path: Path) -> None:
    async with running_api(tmp_path) as api:
        await api.client.post(PAUSE, headers=AUTH)
        pending = await (await api.client.get("/v1/feeds/BTC-USD")).json()
        await api.round()
        applied = await (await api.client.get("/v1/feeds/BTC-USD")).json()
    assert (pending["paused"], pending["pause_pending"]) == (False, True)
    assert (applied["paused"], applied["pause_pending"]) == (True, None)
    assert api.chain.submitted == []


@pytest.mark.parametrize("path", [PAUSE, RESUME])
@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer wrong-token-0123456789"}, {"Authorization": "Basic abc"}],
    ids=["missing", "wrong", "not-bearer"],
)
async def test_pause_and_resume_refuse_a_missing_or_wrong_token_with_401(
    tmp_path: Path, path: str, headers: dict[str, str]
) -> None:
    async with running_api(tmp_path) as api:
        response = await api.client.post(path, headers=headers)
        body = await response.json()
    assert response.status == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert "admin call" in body["error"]
    assert api.node.status["BTC/USD"].pause_pending is None


async def test_pausing_an_unknown_feed_is_404(tmp_path: Path) -> None:
    async with running_api(tmp_path) as api:
        response = await api.client.post("/v1/admin/feeds/DOGE-USD/pause", headers=AUTH)
    assert response.status == 404


async def test_replay_reproduces_every_publish_decision_of_a_paused_run(tmp_path: Path) -> None:
    async with running_api(tmp_path) as api:
        for i, price in enumerate([60_000.0, 61_000.0, 62_000.0, 63_000.0, 64_000.0]):
            if i == 1:
                api.node.request_pause("BTC/USD", True)
            if i == 3:
                api.node.request_pause("BTC/USD", False)
            api.quotes.price = price
            await api.round()
        records = await api.journal.records()
    report = replay_records(records, lambda _: one_feed_rules())
    without_pauses = [r for r in records if r.kind != "feed_paused"]
    assert report.feed_rounds == 5
    assert report.mismatches == []
    assert {m.field for m in replay_records(without_pauses, lambda _: one_feed_rules()).mismatches}


async def test_a_pause_outlives_a_restart_in_the_node_and_in_replay(tmp_path: Path) -> None:
    async with running_api(tmp_path) as api:
        api.node.request_pause("BTC/USD", True)
        await api.round()
        restarted = make_node(api.journal, api.clock, api.quotes, RecordingChain(api.journal))
        await restarted.start()
        api.quotes.price = 70_000.0
        plans = await restarted.run_round()
        records = await api.journal.records()
    assert restarted.status["BTC/USD"].paused is True
    assert plans["BTC/USD"].publish is None
    assert replay_records(records, lambda _: one_feed_rules()).mismatches == []
