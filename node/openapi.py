"""The OpenAPI 3.1 document of the HTTP API, built from the pydantic models of its bodies
(`node/api_models.py`).

The tests check that every route the application registers is in the document and nothing
else is. The query
parameters listed here are also the only ones the API accepts (`node/http_api.py`).
"""

from __future__ import annotations

from typing import Any

from node.api_models import MODELS

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


def _cosign(summary: str, request: str, answer: str) -> dict[str, Any]:
    return {
        "post": {
            "summary": summary,
            "parameters": [_PAIR],
            "requestBody": {
                "required": True,
                "content": {"application/json": {"schema": _ref(request)}},
            },
            "responses": {
                "200": _json(answer, "accepted"),
                "400": _json("Error", "malformed feed name or body"),
                "404": _json("Error", "not an aggregate feed of this node, or no such session"),
                "409": _json("CosignRefused", "refused: the reason says which check failed"),
                "429": _TOO_MANY,
            },
        }
    }


def paths(
    admin: bool, venues: bool, metrics: bool, observation: bool, cosign: bool = False
) -> dict[str, Any]:
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
    if cosign:
        out["/v1/feeds/{pair}/cosign"] = _cosign(
            "co-sign an aggregate feed's report, step 1: check it, answer public nonces",
            "CosignRequest",
            "CosignCommitted",
        )
        session = _cosign(
            "step 2: this member's share under the summed nonces (once per session)",
            "CosignNonce",
            "CosignShare",
        )
        session["post"]["parameters"] = [
            _PAIR,
            {"name": "session", "in": "path", "required": True, "schema": {"type": "string"}},
        ]
        out["/v1/feeds/{pair}/cosign/{session}"] = session
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
    *, admin: bool, venues: bool, metrics: bool, observation: bool = False, cosign: bool = False
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
        "paths": paths(admin, venues, metrics, observation, cosign),
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
