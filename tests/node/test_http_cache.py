"""Specification of feed-read caching: strong ETags, 304 on If-None-Match, max-age to next round."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.node.http_support import running_api


@pytest.mark.parametrize("path", ["/v1/feeds/BTC-USD", "/v1/feeds"])
async def test_a_matching_if_none_match_gets_304_without_a_body(tmp_path: Path, path: str) -> None:
    async with running_api(tmp_path) as api:
        await api.round(0)
        first = await api.client.get(path)
        tag = first.headers["ETag"]
        again = await api.client.get(path, headers={"If-None-Match": tag})
        body = await again.read()
    assert tag.startswith('"')  # strong: no W/ prefix
    assert again.status == 304
    assert body == b""
    assert again.headers["ETag"] == tag


async def test_the_etag_changes_when_a_round_changes_the_feed(tmp_path: Path) -> None:
    async with running_api(tmp_path) as api:
        await api.round()
        before = (await api.client.get("/v1/feeds/BTC-USD")).headers["ETag"]
        api.quotes.price = 60_600.0
        await api.round()
        after = await api.client.get("/v1/feeds/BTC-USD", headers={"If-None-Match": before})
    assert after.status == 200
    assert after.headers["ETag"] != before


async def test_an_admin_request_changes_the_etag_too(tmp_path: Path) -> None:
    async with running_api(tmp_path) as api:
        await api.round()
        before = (await api.client.get("/v1/feeds/BTC-USD")).headers["ETag"]
        api.node.request_pause("BTC/USD", True)
        after = await api.client.get("/v1/feeds/BTC-USD", headers={"If-None-Match": before})
        body = await after.json()
    assert after.status == 200
    assert body["pause_pending"] is True


@pytest.mark.parametrize("header", ["W/{tag}", '"other", {tag}', "*"], ids=["weak", "list", "star"])
async def test_if_none_match_uses_weak_comparison_lists_and_star(
    tmp_path: Path, header: str
) -> None:
    async with running_api(tmp_path) as api:
        await api.round(0)
        tag = (await api.client.get("/v1/feeds/BTC-USD")).headers["ETag"]
        response = await api.client.get(
            "/v1/feeds/BTC-USD", headers={"If-None-Match": header.format(tag=tag)}
        )
    assert response.status == 304


async def test_max_age_is_the_time_left_until_the_next_round(tmp_path: Path) -> None:
    async with running_api(tmp_path) as api:
        never = (await api.client.get("/v1/feeds/BTC-USD")).headers["Cache-Control"]
        await api.round(3)  # the round ran 3 s ago; rounds are 10 s apart
        soon = (await api.client.get("/v1/feeds/BTC-USD")).headers["Cache-Control"]
        api.clock.advance(30)
        late = (await api.client.get("/v1/feeds")).headers["Cache-Control"]
    assert never == "max-age=0"
    assert soon == "max-age=7"
    assert late == "max-age=0"


async def test_a_read_after_a_round_serves_the_new_body_not_the_cached_one(tmp_path: Path) -> None:
    async with running_api(tmp_path) as api:
        await api.round()
        before = await api.client.get("/v1/feeds/BTC-USD")
        api.quotes.price = 60_600.0
        await api.round()
        after = await api.client.get("/v1/feeds/BTC-USD")
        old, new = await before.json(), await after.json()
        length = len(await after.read())
    assert new["round_id"] == old["round_id"] + 1
    assert new["value"] != old["value"]
    assert after.headers["ETag"] != before.headers["ETag"]
    assert after.headers["Content-Length"] == str(length)


async def test_an_unchanged_feed_keeps_its_etag_while_max_age_counts_down(tmp_path: Path) -> None:
    async with running_api(tmp_path) as api:
        await api.round(1)
        first = await api.client.get("/v1/feeds/BTC-USD")
        api.clock.advance(4)
        second = await api.client.get("/v1/feeds/BTC-USD")
    assert first.headers["ETag"] == second.headers["ETag"]
    assert first.headers["Cache-Control"] == "max-age=9"
    assert second.headers["Cache-Control"] == "max-age=5"
    assert second.headers["Content-Type"] == "application/json"
