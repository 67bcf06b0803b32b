"""`GET /v1/stream`: server-sent events, one per feed status change.

Each event is `id: N`, `event: update|publication|publication_failed` and `data:` the feed's
public view (the body of `GET /v1/feeds/{pair}`) after the change. Ids count up from 1 in each
node process; the last `BUFFERED_EVENTS` are kept, so a client that reconnects with
`Last-Event-ID` gets what it missed if it is still there, and a comment saying so if not.

Rounds never wait for a client: the node's listener only renders the event once and puts it on
each client's bounded queue. A client whose queue is full is dropped (it gets an `event:
dropped` if it reads again, and may reconnect with `Last-Event-ID`); an idle stream gets a
heartbeat comment every `heartbeat_s`.
"""

from __future__ import annotations

import asyncio
from collections import deque
from dataclasses import dataclass, field

from aiohttp import web

from node.feed_view import FeedViews
from node.http_keys import ApiError, known_feed
from node.service import OracleNode
from node.status import FeedEvent

BUFFERED_EVENTS = 512
MAX_CLIENTS = 256
MAX_CLIENTS_PER_ADDRESS = 8
"""Streams one client address may hold open: one address cannot take every slot."""
DROPPED = b'event: dropped\ndata: {"error": "too slow: events were lost; reconnect"}\n\n'


@dataclass(slots=True, eq=False)  # identity: each connection is its own client
class _Client:
    feed: str | None
    address: str
    queue: asyncio.Queue[bytes | None]
    dropped: bool = field(default=False)


class EventBroker:
    """Fans the node's feed events out to stream clients; bounded everywhere."""

    def __init__(
        self, node: OracleNode, views: FeedViews, queue_size: int = 64, heartbeat_s: float = 15.0
    ) -> None:
        self.queue_size = queue_size
        self.heartbeat_s = heartbeat_s
        self._views = views
        self._clients: set[_Client] = set()
        self._recent: deque[tuple[int, str, bytes]] = deque(maxlen=BUFFERED_EVENTS)
        self._next_id = 1
        self._closed = False
        self._unsubscribe = node.subscribe(self.publish)

    @property
    def clients(self) -> int:
        return len(self._clients)

    @property
    def closing(self) -> bool:
        return self._closed

    def publish(self, event: FeedEvent) -> None:
        """The node's listener: render once, queue for every interested client, never wait."""
        event_id = self._next_id
        self._next_id += 1
        body, _ = self._views.one(event.feed)
        frame = b"id: %d\nevent: %s\ndata: %s\n\n" % (event_id, event.kind.encode(), body)
        self._recent.append((event_id, event.feed, frame))
        for client in list(self._clients):
            if client.feed is None or client.feed == event.feed:
                self._offer(client, frame)

    def _offer(self, client: _Client, frame: bytes) -> None:
        try:
            client.queue.put_nowait(frame)
        except asyncio.QueueFull:
            self._drop(client)

    def _drop(self, client: _Client) -> None:
        self._clients.discard(client)
        client.dropped = True
        while not client.queue.empty():
            client.queue.get_nowait()
        client.queue.put_nowait(None)

    def backlog(self, last_id: int, feed: str | None) -> list[bytes]:
        """The buffered frames after `last_id` for `feed`, led by a comment if some are gone."""
        frames = [f for i, name, f in self._recent if i > last_id and feed in (None, name)]
        oldest = self._recent[0][0] if self._recent else self._next_id
        if last_id + 1 < oldest or last_id >= self._next_id:
            note = b": events after id %d are not buffered; GET /v1/feeds for the current state\n\n"
            frames.insert(0, note % last_id)
        return frames

    def join(self, feed: str | None, address: str = "") -> _Client:
        if self._closed:
            raise ApiError(503, "the node is shutting down", {"Retry-After": "5"})
        if len(self._clients) >= MAX_CLIENTS:
            busy = f"{MAX_CLIENTS} event streams are open; retry later"
            raise ApiError(503, busy, {"Retry-After": "5"})
        if sum(1 for c in self._clients if c.address == address) >= MAX_CLIENTS_PER_ADDRESS:
            mine = f"{MAX_CLIENTS_PER_ADDRESS} event streams are open from this address"
            raise ApiError(429, f"{mine}; close one first", {"Retry-After": "5"})
        client = _Client(feed, address, asyncio.Queue(self.queue_size))
        self._clients.add(client)
        return client

    def leave(self, client: _Client) -> None:
        self._clients.discard(client)

    async def close(self) -> None:
        """End every stream (the server is stopping) and stop listening to the node."""
        self._closed = True
        self._unsubscribe()
        for client in list(self._clients):
            self._drop(client)


BROKER_KEY = web.AppKey("event_broker", EventBroker)


async def stream(request: web.Request) -> web.StreamResponse:
    """`GET /v1/stream[?feed=BTC-USD]` with an optional `Last-Event-ID` header."""
    broker = request.app[BROKER_KEY]
    pair = request.query.get("feed")
    feed = None if pair is None else known_feed(request, pair)
    last_id = _last_event_id(request)
    client = broker.join(feed, request.remote or "")
    # The backlog is taken together with joining (no await between): no event is both missed
    # and queued.
    opening = b"retry: 3000\n\n"
    if last_id is not None:
        opening += b"".join(broker.backlog(last_id, feed))
    try:
        response = web.StreamResponse(
            headers={
                "Content-Type": "text/event-stream",
                "Cache-Control": "no-cache",
                "X-Accel-Buffering": "no",
            }
        )
        await response.prepare(request)
        await response.write(opening)
        while True:
            try:
                frame = await asyncio.wait_for(client.queue.get(), broker.heartbeat_s)
            except TimeoutError:
                await response.write(b": heartbeat\n\n")
                continue
            if frame is None:
                if client.dropped and not broker.closing:
                    await response.write(DROPPED)
                break
            await response.write(frame)
        await response.write_eof()
    except ConnectionResetError:
        pass  # the client went away
    finally:
        broker.leave(client)
    return response


def _last_event_id(request: web.Request) -> int | None:
    text = request.headers.get("Last-Event-ID")
    if text is None or not text.strip():
        return None
    if not text.strip().isdigit() or not text.strip().isascii() or len(text.strip()) > 19:
        raise ApiError(400, "Last-Event-ID must be an event id this stream sent (an integer)")
    return int(text.strip())
