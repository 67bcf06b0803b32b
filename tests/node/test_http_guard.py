"""Specification of the guard every HTTP call goes through, matched routes or not."""

from __future__ import annotations

from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from node.http_guard import Guard, GuardedRoutes
from node.rate_limit import RateLimiter
from tests.node.http_support import AUTH, running_api, ticking


async def test_a_method_the_path_does_not_take_gets_a_json_405_with_allow(
    tmp_path: Path,
) -> None:
    async with running_api(tmp_path) as api:
        response = await api.client.post("/v1/feeds/BTC-USD")
        body = await response.json()
    assert response.status == 405
    assert set(response.headers["Allow"].split(",")) == {"GET", "HEAD"}
    assert body == {"error": "Method Not Allowed"}


async def test_an_unknown_path_is_a_json_404_whatever_its_query(tmp_path: Path) -> None:
    async with running_api(tmp_path) as api:
        response = await api.client.get("/v2/feeds", params={"x": "1"})
        body = await response.json()
    assert response.status == 404
    assert body == {"error": "Not Found"}


async def test_requests_no_route_matches_are_charged_to_the_rate_limit(tmp_path: Path) -> None:
    monotonic, _ = ticking()
    limiter = RateLimiter(rate_per_s=0.5, burst=2)
    async with running_api(tmp_path, rate_limit=limiter, monotonic=monotonic) as api:
        statuses = [(await api.client.get("/nothing")).status for _ in range(2)]
        refused = await api.client.get("/v1/feeds")
    assert statuses == [404, 404]
    assert refused.status == 429


async def test_routes_other_modules_register_are_guarded_too(tmp_path: Path) -> None:
    monotonic, _ = ticking()
    limiter = RateLimiter(rate_per_s=0.5, burst=2)
    async with running_api(tmp_path, rate_limit=limiter, monotonic=monotonic) as api:
        unknown = await api.client.get("/v1/feeds/BTC-USD/observation", params={"x": "1"})
        paused = await api.client.post("/v1/admin/feeds/BTC-USD/pause", headers=AUTH)
        refused = await api.client.post("/v1/admin/feeds/BTC-USD/resume", headers=AUTH)
        body = await unknown.json()
    assert unknown.status == 400
    assert "unknown query parameter 'x'" in body["error"]
    assert paused.status == 202
    assert refused.status == 429


def test_adopting_a_registrar_that_adds_signals_is_refused() -> None:
    async def on_startup(_: web.Application) -> None:
        pass

    def register(app: web.Application) -> None:
        app.on_startup.append(on_startup)

    routes = GuardedRoutes(web.Application(), Guard(None, lambda: 0.0, {}))
    with pytest.raises(RuntimeError, match="signals"):
        routes.adopt(register)


async def test_a_feed_read_by_its_exact_path_is_the_documented_route(tmp_path: Path) -> None:
    async with running_api(tmp_path) as api:
        await api.round()
        exact = await api.client.get("/v1/feeds/BTC-USD")
        spelled = await api.client.get("/v1/feeds/btc-usd")
        history = await api.client.get("/v1/feeds/BTC-USD/history")
        queried = await api.client.get("/v1/feeds/BTC-USD", params={"limit": "1"})
        exact_body, spelled_body = await exact.read(), await spelled.read()
        history_body, refused = await history.json(), await queried.json()
        app = api.client.app
        assert app is not None
        resources = app.router.resources()
    assert exact.status == spelled.status == history.status == 200
    assert exact_body == spelled_body
    assert history_body["feed"] == "BTC/USD"
    assert queried.status == 400
    assert refused["error"].endswith("this call takes: none")
    assert not any(r.canonical == "/v1/feeds/BTC-USD" and len(r) for r in resources)


async def test_an_app_with_a_route_added_past_the_guard_refuses_to_start() -> None:
    async def handler(_: web.Request) -> web.Response:
        return web.Response()

    app = web.Application()
    GuardedRoutes(app, Guard(None, lambda: 0.0, {})).get("/guarded", handler)
    app.router.add_get("/raw", handler)
    server = TestServer(app)
    with pytest.raises(RuntimeError, match="GET /raw"):
        await server.start_server()
    await server.close()
