"""The OpenAPI 3.1 document of the HTTP API, built from the pydantic models of its bodies.

The models describe exactly what the handlers emit (`node/feed_view.py`, `node/records.py`,
`feeds/health.py`); the tests validate real responses against them, and check that every
route the application registers is in the document and nothing else is. The query
parameters listed here are also the only ones the API accepts (`node/http_api.py`).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from aggregator.types import SourcePrice
from circuit_breakers.types import BreakerState
from node.status import Receipt


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class _OpenBody(BaseModel):
    """A body that may carry more fields than listed (journal records of older versions)."""

    model_config = ConfigDict(extra="allow")


class Error(_Body):
    error: str = Field(description="what was wrong and, where it helps, what to do")


class Band(_Body):
    low: float
    high: float


class Rejected(_Body):
    source: str
    symbol: str
    reason: Literal["unavailable", "invalid", "stale", "outlier", "conversion", "quorum"]
    detail: str


class BreakerDetails(_Body):
    status: Literal["closed", "open", "half_open"]
    holding: bool = Field(description="true: `value` is the last allowed value, held")
    trips: list[str]
    verdict: str | None
    open_since: int | None = Field(description="unix seconds")
    reset_pending: bool


class Published(_Body):
    answer: str
    value: str
    updated_at: int = Field(description="unix seconds of the on-chain value")
    round_id: int | None = Field(description="on-chain round id")
    tx: Receipt | None


class Feed(_Body):
    """One feed's latest state (`GET /v1/feeds/{pair}`, and each event of `/v1/stream`)."""

    feed: str = Field(examples=["BTC/USD"])
    value: str | None = Field(description="decimal string; null before the first value")
    decimals: int
    answer: str | None = Field(description="integer string, value x 10^decimals, as on chain")
    timestamp: int | None = Field(description="unix seconds of the round that gave `value`")
    round_id: int
    dispersion: float | None
    sources_used: list[SourcePrice]
    sources_rejected: list[Rejected]
    error: str | None
    band: Band | None
    estimator: str | None
    breaker: Literal["closed", "open", "half_open"]
    breaker_reason: str | None
    breaker_details: BreakerDetails
    contract: str | None
    last_tx: str | None
    published: Published | None
    publish_error: str | None
    paused: bool = Field(description="an operator paused publication; still served")
    pause_pending: bool | None = Field(description="requested paused state, next round")


class FeedList(_Body):
    feeds: list[Feed]


class Health(_Body):
    status: Literal["ok", "stale"]
    last_round_ts_ms: int | None
    round_id: int
    feeds_with_value: int
    venues: dict[str, int] | None = Field(None, description="venues counted by status")


class VenueError(_Body):
    kind: str
    reason: str
    at_ms: int | None


class Venue(_OpenBody):
    venue: str
    status: Literal["ok", "degraded", "down", "unknown"]
    polls: int
    success_rate: float | None
    latency_ms_p50: float | None
    latency_ms_max: float | None
    last_error: VenueError | None
    last_quote_at_ms: int | None
    skipped_rounds: int
    requests: int
    request_units: float
    limit_units_per_s: float | None
    stream: Literal["off", "connecting", "live", "stalled"]


class VenueList(_Body):
    venues: list[Venue]


class AggregateRecord(_OpenBody):
    value: float | str | None
    dispersion: float | str | None
    band: Band | None
    estimator: str
    error: str | None
    sources_used: list[dict[str, Any]]
    sources_rejected: list[Rejected]


class BreakerRecord(_OpenBody):
    allow: bool
    status: Literal["closed", "open", "half_open"]
    reason: str | None
    trips: list[str]
    verdict: str | None
    state: BreakerState


class RoundRecord(_OpenBody):
    round_id: int
    timestamp_ms: int
    aggregate: AggregateRecord
    breaker: BreakerRecord
    answer: str | None
    publish: str | None
    observation: dict[str, Any] | None


class PublicationRecord(_OpenBody):
    round_id: int
    status: Literal["confirmed", "failed", "reconciled_landed", "reconciled_not_landed"]


class History(_Body):
    feed: str
    from_ms: int
    to_ms: int
    rounds: list[RoundRecord]
    publications: list[PublicationRecord]
    truncated: bool = Field(description="the limit cut the answer")


class Observation(_Body):
    """The node's latest signed observation of a feed, as its peers fetch it."""

    feed: str
    value: str = Field(description="decimal string")
    answer: str = Field(description="integer string, as signed")
    timestamp: int = Field(description="unix seconds, as signed")
    signer: str
    signature: str = Field(description="0x + 65 bytes r||s||v (EIP-712)")
    round_id: int
    chain_id: int
    contract: str


class ResetAccepted(_Body):
    feed: str
    reset: Literal["pending"]
    applies: str


class PauseAccepted(_Body):
    feed: str
    paused: bool
    applies: str


MODELS: tuple[type[BaseModel], ...] = (
    Error, Feed, FeedList, Health, VenueList, History, Observation, ResetAccepted, PauseAccepted,
)  # fmt: skip

_PAIR = {
    "name": "pair",
    "in": "path",
    "required": True,
    "description": "BASE-QUOTE, case-insensitive",
    "schema": {"type": "string", "pattern": "^[A-Za-z0-9]+-[A-Za-z0-9]+$", "examples": ["BTC-USD"]},
}
_TIME = {"type": "string", "description": "unix seconds or ms, or ISO 8601"}


def _query(name: str, schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {
        "name": name,
        "in": "query",
        "required": False,
        "schema": schema,
        "description": description,
    }


def _ref(model: str) -> dict[str, Any]:
    return {"$ref": f"#/components/schemas/{model}"}


def _json(model: str, description: str, headers: dict[str, Any] | None = None) -> dict[str, Any]:
    answer: dict[str, Any] = {
        "description": description,
        "content": {"application/json": {"schema": _ref(model)}},
    }
    if headers:
        answer["headers"] = headers
    return answer


_INT_HEADER = {"schema": {"type": "integer", "minimum": 0}}
_STR_HEADER = {"schema": {"type": "string"}}
_TOO_MANY = _json(
    "Error",
    "over the per-client rate limit (`http.rate_limit_per_s`)",
    {"Retry-After": {**_INT_HEADER, "description": "seconds before a request is allowed"}},
)
_CACHE_HEADERS = {
    "ETag": {**_STR_HEADER, "description": "strong; changes whenever the body does"},
    "Cache-Control": {**_STR_HEADER, "description": "max-age: seconds until the next round"},
}
_NOT_MODIFIED = {"description": "If-None-Match matched the ETag", "headers": _CACHE_HEADERS}
_IF_NONE_MATCH = {
    "name": "If-None-Match",
    "in": "header",
    "required": False,
    "schema": {"type": "string"},
}


def _get(summary: str, params: list[dict[str, Any]], responses: dict[str, Any]) -> dict[str, Any]:
    return {
        "get": {
            "summary": summary,
            "parameters": params,
            "responses": {**responses, "429": _TOO_MANY},
        }
    }


def _admin(summary: str, accepted: str) -> dict[str, Any]:
    challenge = {"WWW-Authenticate": {**_STR_HEADER, "description": "Bearer challenge"}}
    return {
        "post": {
            "summary": summary,
            "parameters": [_PAIR],
            "security": [{"bearer": []}],
            "responses": {
                "202": _json(accepted, "accepted: applies, and is journaled, next round"),
                "400": _json("Error", "malformed feed name"),
                "401": _json("Error", "missing or wrong bearer token", challenge),
                "404": _json("Error", "no such feed"),
                "429": _TOO_MANY,
            },
        }
    }


def paths(admin: bool, venues: bool, metrics: bool, observation: bool) -> dict[str, Any]:
    """The document's paths for an app with (or without) its optional routes."""
    bad_pair = _json("Error", "malformed feed name")
    no_feed = _json("Error", "no such feed")
    out: dict[str, Any] = {
        "/v1/feeds": _get(
            "every feed's latest state",
            [_IF_NONE_MATCH],
            {"200": _json("FeedList", "the feeds", _CACHE_HEADERS), "304": _NOT_MODIFIED},
        ),
        "/v1/feeds/{pair}": _get(
            "one feed's latest state",
            [_PAIR, _IF_NONE_MATCH],
            {
                "200": _json("Feed", "the feed", _CACHE_HEADERS),
                "304": _NOT_MODIFIED,
                "400": bad_pair,
                "404": no_feed,
            },
        ),
        "/v1/feeds/{pair}/history": _get(
            "journaled rounds and publications of a feed (default: the last hour)",
            [
                _PAIR,
                _query("from", _TIME, "start (default: `to` - 1 h)"),
                _query("to", _TIME, "end (default: now)"),
                _query("limit", {"type": "integer", "minimum": 1, "maximum": 10_000}, "at most"),
            ],
            {"200": _json("History", "the history"), "400": bad_pair, "404": no_feed},
        ),
        "/v1/stream": _get(
            "server-sent events: one per feed status change (`Last-Event-ID` resumes)",
            [
                _query("feed", {"type": "string"}, "only this feed (BASE-QUOTE)"),
                {"name": "Last-Event-ID", "in": "header", "required": False,
                 "schema": {"type": "string", "pattern": "^[0-9]+$"}},
            ],
            {
                "200": {
                    "description": "`id:`, `event: update|publication|publication_failed`,"
                    " `data:` a Feed (JSON); heartbeat comments; `event: dropped` for a client"
                    " too slow to keep up",
                    "content": {"text/event-stream": {"schema": {"type": "string"}}},
                },
                "400": _json("Error", "malformed feed or Last-Event-ID"),
                "404": no_feed,
                "503": _json("Error", "too many streams open, or shutting down"),
            },
        ),
        "/health": _get(
            "200 while rounds complete on time",
            [],
            {"200": _json("Health", "rounds on time"), "503": _json("Health", "stale")},
        ),
        "/openapi.json": _get(
            "this document",
            [],
            {"200": {"description": "OpenAPI 3.1", "content": {"application/json": {}}}},
        ),
    }  # fmt: skip
    if venues:
        out["/v1/venues"] = _get(
            "every venue's health", [], {"200": _json("VenueList", "the venues")}
        )
    if observation:
        out["/v1/feeds/{pair}/observation"] = _get(
            "the node's latest signed observation of a feed (what peers fetch)",
            [_PAIR],
            {
                "200": _json("Observation", "the observation"),
                "400": bad_pair,
                "404": _json("Error", "no such feed, or no fresh signed observation"),
            },
        )
    if metrics:
        out["/metrics"] = _get(
            "Prometheus metrics",
            [],
            {"200": {"description": "text exposition format",
                     "content": {"text/plain": {"schema": {"type": "string"}}}}},
        )  # fmt: skip
    if admin:
        out["/v1/admin/feeds/{pair}/breaker/reset"] = _admin("reset the breaker", "ResetAccepted")
        out["/v1/admin/feeds/{pair}/pause"] = _admin("stop publishing the feed", "PauseAccepted")
        out["/v1/admin/feeds/{pair}/resume"] = _admin("publish the feed again", "PauseAccepted")
    return out


def document(
    *, admin: bool, venues: bool, metrics: bool, observation: bool = False
) -> dict[str, Any]:
    """The whole OpenAPI 3.1 document for an app with these optional parts."""
    schemas: dict[str, Any] = {}
    for model in MODELS:
        schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
        schemas.update(schema.pop("$defs", {}))
        schemas[model.__name__] = schema
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "oracle-node",
            "version": "1",
            "description": 'A price oracle node\'s local API. Errors are JSON {"error": ...}.',
        },
        "paths": paths(admin, venues, metrics, observation),
        "components": {
            "schemas": schemas,
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
    }


def allowed_query(doc: dict[str, Any]) -> dict[tuple[str, str], frozenset[str]]:
    """(path template, METHOD) -> the query parameter names the document lists for it."""
    allowed = {}
    for path, item in doc["paths"].items():
        for method, op in item.items():
            names = frozenset(p["name"] for p in op.get("parameters", []) if p["in"] == "query")
            allowed[(path, method.upper())] = names
    return allowed
