"""Specification of /v1/stream: one server-sent event per feed change, bounded, resumable."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from node.api_models import Feed
from node.http_stream import BROKER_KEY, MAX_CLIENTS_PER_ADDRESS
from tests.node.http_support import running_api


async def next_event(response: aiohttp.ClientResponse) -> dict[str, str]:
    """The next event (comments skipped), as its fields: id, event, data; 5 s at most."""
    fields: dict[str, str] = {}
    while True:
        line = (await asyncio.wait_for(response.content.readline(), 5)).decode()
        if line in ("\n", ""):
            if "data" in fields or line == "":
                return fields
            continue
        name, _, value = line.rstrip("\n").partition(": ")
        if name:  # a comment line starts with ':' and has no name
            fields[name] = value


async def test_each_round_sends_an_update_event_with_the_feed_view(tmp_path: Path) -> None:
    async with running_api(tmp_path) as api:
        response = await api.client.get("/v1/stream")
        await api.round()
        update = await next_event(response)
        publication = await next_event(response)
        response.close()
    assert response.headers["Content-Type"] == "text/event-stream"
    assert (update["id"], update["event"]) == ("1", "update")
    view = Feed.model_validate(json.loads(update["data"]))
    assert (view.feed, view.round_id, view.value) == ("BTC/USD", 1, "60000.00000000")
    assert (publication["id"], publication["event"]) == ("2", "publication")
    assert json.loads(publication["data"])["last_tx"] == "0x" + "11" * 32


async def test_a_failed_publication_is_an_event_too(tmp_path: Path) -> None:
    async with running_api(tmp_path) as api:
        api.chain.fail = True
        response = await api.client.get("/v1/stream")
        await api.round()
        events = [await next_event(response), await next_event(response)]
        response.close()
    assert [e["event"] for e in events] == ["update", "publication_failed"]
    assert "fund" in json.loads(events[1]["data"])["publish_error"]


async def test_last_event_id_replays_what_the_client_missed(tmp_path: Path) -> None:
    async with running_api(tmp_path) as api:
        for _ in range(2):
            await api.round()  # events 1-4: update, publication, update, (no publication)
        response = await api.client.get("/v1/stream", headers={"Last-Event-ID": "1"})
        missed = [await next_event(response) for _ in range(2)]
        response.close()
    assert [e["id"] for e in missed] == ["2", "3"]


async def test_a_last_event_id_past_the_buffer_says_so_honestly(tmp_path: Path) -> None:
    async with running_api(tmp_path) as api:
        await api.round()
        response = await api.client.get("/v1/stream", headers={"Last-Event-ID": "999"})
        first = await asyncio.wait_for(response.content.readuntil(b"current state\n\n"), 5)
        response.close()
    assert b": events after id 999 are not buffered" in first


@pytest.mark.parametrize(
    ("request_args", "status"),
    [
        ({"params": {"feed": "BTC"}}, 400),
        ({"params": {"feed": "ETH-USD"}}, 404),
        ({"headers": {"Last-Event-ID": "abc"}}, 400),
        ({"headers": {"Last-Event-ID": "9" * 5000}}, 400),
    ],
    ids=["malformed-feed", "unknown-feed", "malformed-last-event-id", "huge-last-event-id"],
)
async def test_bad_stream_requests_get_a_json_4xx(
    tmp_path: Path, request_args: dict[str, Any], status: int
) -> None:
    async with running_api(tmp_path) as api:
        response = await api.client.get("/v1/stream", **request_args)
        body = await response.json()
    assert response.status == status
    assert body["error"]


async def test_the_feed_filter_sends_only_that_feeds_events(tmp_path: Path) -> None:
    async with running_api(tmp_path) as api:
        response = await api.client.get("/v1/stream", params={"feed": "btc-usd"})
        await api.round()
        event = await next_event(response)
        response.close()
    assert json.loads(event["data"])["feed"] == "BTC/USD"


async def test_an_idle_stream_gets_heartbeat_comments(tmp_path: Path) -> None:
    async with running_api(tmp_path, stream_heartbeat_s=0.05) as api:
        response = await api.client.get("/v1/stream")
        await asyncio.wait_for(response.content.readuntil(b"retry: 3000\n\n"), 5)
        beat = await asyncio.wait_for(response.content.readuntil(b"\n\n"), 5)
        response.close()
    assert beat == b": heartbeat\n\n"


async def test_a_client_too_slow_to_read_is_dropped_and_never_blocks_rounds(
    tmp_path: Path,
) -> None:
    async with running_api(tmp_path, stream_queue=2) as api:
        app = api.client.server.app
        assert app is not None
        broker = app[BROKER_KEY]
        stuck = broker.join(None)  # a client whose connection takes nothing: its queue fills
        for _ in range(5):
            await asyncio.wait_for(api.round(), 5)
    assert api.node.round_id == 5
    assert stuck.dropped
    assert broker.clients == 0
    assert stuck.queue.get_nowait() is None  # the handler's cue to send `event: dropped`
    assert stuck.queue.empty()


async def test_one_address_cannot_hold_every_stream_slot(tmp_path: Path) -> None:
    async with running_api(tmp_path) as api:
        app = api.client.server.app
        assert app is not None
        held = [app[BROKER_KEY].join(None, "127.0.0.1") for _ in range(MAX_CLIENTS_PER_ADDRESS)]
        response = await api.client.get("/v1/stream")
        body = await response.json()
        other = app[BROKER_KEY].join(None, "10.0.0.9")  # another address still gets a stream
    assert response.status == 429
    assert response.headers["Retry-After"] == "5"
    assert "from this address" in body["error"]
    assert len(held) == MAX_CLIENTS_PER_ADDRESS
    assert other.address == "10.0.0.9"
