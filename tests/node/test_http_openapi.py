"""Specification of /openapi.json: it lists exactly the app's routes and matches real bodies."""

from __future__ import annotations

from pathlib import Path

from feeds.health import HealthRecord, VenueHealth
from feeds.quote import FailureKind, FetchFailure, Quote
from node.api_models import (
    Feed,
    FeedList,
    Health,
    History,
    PauseAccepted,
    ResetAccepted,
    VenueList,
)
from tests.node.http_support import AUTH, running_api


def venue_health() -> dict[str, VenueHealth]:
    ok, down = HealthRecord("kraken"), HealthRecord("binance")
    ok.polled([Quote("kraken", "BTC/USD", 1.0, 1, 1)], 12.5)
    down.polled([FetchFailure("binance", "BTC/USDT", FailureKind.UNAVAILABLE, "503", 5)], 30.0)
    return {"kraken": ok.snapshot(3, 3.0, 1.0), "binance": down.snapshot(1, 40.0, 20.0)}


async def test_the_document_lists_every_route_of_the_app_and_no_other(tmp_path: Path) -> None:
    async with running_api(tmp_path, venue_health=venue_health) as api:
        doc = await (await api.client.get("/openapi.json")).json()
        app = api.client.server.app
        assert app is not None
        registered = {
            (resource.canonical, route.method.lower())
            for resource in app.router.resources()
            for route in resource
            if route.method != "HEAD"
        }
    documented = {(path, method) for path, item in doc["paths"].items() for method in item}
    assert doc["openapi"] == "3.1.0"
    assert documented == registered
    assert ("/v1/admin/feeds/{pair}/pause", "post") in documented


async def test_without_admin_or_venues_the_document_leaves_them_out(tmp_path: Path) -> None:
    async with running_api(tmp_path, admin_token=None) as api:
        doc = await (await api.client.get("/openapi.json")).json()
    assert not any(path.startswith("/v1/admin") for path in doc["paths"])
    assert "/v1/venues" not in doc["paths"]


async def test_every_schema_reference_resolves(tmp_path: Path) -> None:
    async with running_api(tmp_path, venue_health=venue_health) as api:
        text = await (await api.client.get("/openapi.json")).text()
        doc = await (await api.client.get("/openapi.json")).json()
    names = set(doc["components"]["schemas"])
    refs = {part.split('"')[0] for part in text.split('"$ref": "#/components/schemas/')[1:]}
    assert refs
    assert refs <= names


async def test_real_bodies_validate_against_the_documented_models(tmp_path: Path) -> None:
    async with running_api(tmp_path, venue_health=venue_health) as api:
        await api.round()
        api.quotes.price = 90_000.0  # the breaker holds a +50% move: trips, reasons, held value
        await api.round()
        client = api.client
        Feed.model_validate(await (await client.get("/v1/feeds/BTC-USD")).json())
        FeedList.model_validate(await (await client.get("/v1/feeds")).json())
        Health.model_validate(await (await client.get("/health")).json())
        VenueList.model_validate(await (await client.get("/v1/venues")).json())
        history = await (await client.get("/v1/feeds/BTC-USD/history", params={"from": "0"})).json()
        History.model_validate(history)
        reset = await client.post("/v1/admin/feeds/BTC-USD/breaker/reset", headers=AUTH)
        ResetAccepted.model_validate(await reset.json())
        pause = await client.post("/v1/admin/feeds/BTC-USD/pause", headers=AUTH)
        PauseAccepted.model_validate(await pause.json())
    assert len(history["rounds"]) == 2
    assert history["publications"][0]["status"] == "confirmed"


async def test_a_feed_before_any_round_validates_too(tmp_path: Path) -> None:
    async with running_api(tmp_path) as api:
        body = await (await api.client.get("/v1/feeds/BTC-USD")).json()
    assert Feed.model_validate(body).value is None


async def test_a_query_parameter_the_document_does_not_list_is_a_400(tmp_path: Path) -> None:
    async with running_api(tmp_path) as api:
        response = await api.client.get("/v1/feeds/BTC-USD", params={"fields": "value"})
        body = await response.json()
    assert response.status == 400
    assert "unknown query parameter 'fields'" in body["error"]


async def test_a_wrong_method_is_a_json_405_with_allow(tmp_path: Path) -> None:
    async with running_api(tmp_path) as api:
        response = await api.client.delete("/v1/feeds/BTC-USD")
        body = await response.json()
    assert response.status == 405
    assert "GET" in response.headers["Allow"]
    assert body["error"]
