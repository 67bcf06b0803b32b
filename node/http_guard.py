"""What every HTTP API call goes through: rate limit, query check, errors answered as JSON.

The guard wraps each handler when its route is registered rather than running as an aiohttp
middleware: any middleware makes aiohttp wrap every request in two more coroutine layers (the
middleware and its own current-app one), ~6 us of the ~85 us of CPU the busiest call, a
feed read, costs. Requests no route matches (404, 405) reach a guarded fallback resource, so
they are charged and answered as JSON like the rest.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Iterable, Iterator, Mapping
from typing import Any

from aiohttp import web
from yarl import URL

from node.http_keys import ApiError
from node.rate_limit import RateLimiter, retry_after_s

log = logging.getLogger("oracle.http")

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
SyncHandler = Callable[[web.Request], web.StreamResponse]
Monotonic = Callable[[], float]
AllowedQuery = dict[tuple[str, str], frozenset[str]]
"""(route's canonical path, method) -> the query parameters the OpenAPI document lists."""


class Guard:
    """Wraps handlers: `limiter` (None: unlimited) charged one token per request, keyed by the
    client's address, on the `monotonic` clock; then query parameters checked against
    `allowed_query` (filled in once every route is registered); every error becomes JSON."""

    def __init__(
        self, limiter: RateLimiter | None, monotonic: Monotonic, allowed_query: AllowedQuery
    ) -> None:
        self.limiter = limiter
        self.monotonic = monotonic
        self.allowed_query = allowed_query
        self.handlers: set[Handler] = set()  # every handler this guard made

    def wrap(self, handler: Handler, *, check_query: bool = True) -> Handler:
        """`handler` behind the rate limit and, with `check_query`, the query check."""
        return self._wrap(handler, None, check_query)

    def wrap_sync(self, handler: SyncHandler) -> Handler:
        """`handler`, a function that answers without waiting, behind the rate limit and the
        query check: one coroutine per request fewer than `wrap`, for the busiest reads."""
        return self._wrap(None, handler, True)

    def _wrap(
        self, handler: Handler | None, sync: SyncHandler | None, check_query: bool
    ) -> Handler:
        limiter, monotonic, allowed_query = self.limiter, self.monotonic, self.allowed_query

        async def guarded(request: web.Request) -> web.StreamResponse:
            try:
                if limiter is not None:
                    wait_s = limiter.acquire(request.remote or "", monotonic())
                    if wait_s > 0:
                        raise _too_many(limiter, wait_s)
                if check_query and request.query_string:
                    _check_query(request, allowed_query)
                if sync is not None:
                    return sync(request)
                assert handler is not None
                return await handler(request)
            except ApiError as exc:
                return web.json_response(
                    {"error": exc.message}, status=exc.status, headers=exc.headers
                )
            except web.HTTPException as exc:
                if exc.status < 400:
                    raise
                headers = {k: v for k, v in exc.headers.items() if k in _KEPT_HEADERS}
                return web.json_response({"error": exc.reason}, status=exc.status, headers=headers)
            except Exception:
                log.exception("unhandled error serving %s", request.path)
                return web.json_response(
                    {"error": "internal error; see the node's log"}, status=500
                )

        self.handlers.add(guarded)
        return guarded


_KEPT_HEADERS = ("Allow", "WWW-Authenticate")


def _too_many(limiter: RateLimiter, wait_s: float) -> ApiError:
    seconds = retry_after_s(wait_s)
    return ApiError(
        429,
        f"rate limit: {limiter.rate_per_s:g} requests/s per client; retry in {seconds} s",
        {"Retry-After": str(seconds)},
    )


def _check_query(request: web.Request, allowed_query: AllowedQuery) -> None:
    """400 for a query parameter the document does not list for this route."""
    route = request.match_info.route
    resource = route.resource
    if resource is None:
        return
    method = "GET" if route.method == "HEAD" else route.method
    allowed = allowed_query.get((resource.canonical, method), frozenset())
    for name in request.query:
        if name not in allowed:
            listed = ", ".join(sorted(allowed)) or "none"
            raise ApiError(400, f"unknown query parameter {name!r}; this call takes: {listed}")


class GuardedRoutes:
    """Registers routes on `app` with their handlers wrapped by `guard`.

    Every route of the app must be registered through it: one added straight to the router
    would answer unguarded (no rate limit, errors not JSON), so the app refuses to start.
    """

    def __init__(self, app: web.Application, guard: Guard) -> None:
        self._app = app
        self._guard = guard
        app.on_startup.append(self._refuse_unguarded)

    async def _refuse_unguarded(self, app: web.Application) -> None:
        unguarded = [
            f"{route.method} {resource.canonical}"
            for resource in app.router.resources()
            for route in resource
            if route.handler not in self._guard.handlers
        ]
        if unguarded:
            raise RuntimeError(
                f"routes added outside GuardedRoutes would answer unguarded: {unguarded}"
            )

    def get(self, path: str, handler: Handler) -> None:
        self._app.router.add_get(path, self._guard.wrap(handler))

    def get_sync(
        self, path: str, handler: SyncHandler, *, shortcuts: Iterable[Mapping[str, str]] = ()
    ) -> None:
        """A GET whose handler answers without waiting (see `Guard.wrap_sync`).

        Each of `shortcuts` (values of the path's variables, e.g. `{"pair": "BTC-USD"}`) adds
        an exact-path entry to the router for that one path, answered by the same route: the
        router finds it by one dictionary lookup instead of matching the pattern, about 5 us
        of a feed read's ~80. The shortcut lists no routes of its own, so the app's routes
        (and the OpenAPI document) stay the documented ones.
        """
        route = self._app.router.add_get(path, self._guard.wrap_sync(handler))
        resource = route.resource
        assert resource is not None
        for match in shortcuts:
            self._app.router.register_resource(_Shortcut(resource, match))

    def adopt(self, register: Callable[[web.Application], None]) -> None:
        """Run `register` (a module's `add_..._routes(app, ...)`) on a scratch app, then add its
        routes here with guarded handlers and copy the state it stored. `register` must add
        routes and state only: signals (startup, shutdown, cleanup) would not be carried over,
        so they are refused."""
        scratch = web.Application()
        fresh = web.Application()
        register(scratch)
        signals = ("on_startup", "on_shutdown", "on_cleanup", "cleanup_ctx")
        if any(len(getattr(scratch, s)) != len(getattr(fresh, s)) for s in signals):
            raise RuntimeError(f"{register!r} adds signals, which adopt() does not carry over")
        for key in scratch:
            self._app[key] = scratch[key]
        for route in scratch.router.routes():
            resource = route.resource
            assert resource is not None
            handler = self._guard.wrap(route.handler)
            self._app.router.add_route(route.method, resource.canonical, handler)

    def fallback(self) -> None:
        """The resource for requests no route matches: JSON 404, or 405 with `Allow`. Added
        last: the router tries it only after every other resource whose path could match."""
        self._app.router.register_resource(_Unmatched(self._app.router, self._guard))


class _Shortcut(web.AbstractResource):
    """`resource` at one value of its path's variables: same routes, same match info."""

    def __init__(self, resource: web.AbstractResource, match: Mapping[str, str]) -> None:
        super().__init__()
        self._match = dict(match)
        self._path = resource.url_for(**self._match).raw_path
        self._routes = {route.method: route for route in resource}
        self._allowed = set(self._routes)

    @property
    def canonical(self) -> str:
        return self._path

    def url_for(self, **kwargs: str) -> URL:
        return URL.build(path=self._path, encoded=True)

    async def resolve(
        self, request: web.Request
    ) -> tuple[web.UrlMappingMatchInfo | None, set[str]]:
        if request.rel_url.path_safe != self._path:
            return None, set()
        route = self._routes.get(request.method)
        if route is None:
            return None, self._allowed
        return web.UrlMappingMatchInfo(dict(self._match), route), self._allowed

    def add_prefix(self, prefix: str) -> None:
        raise NotImplementedError("a shortcut is not for sub-applications")

    def get_info(self) -> Any:
        return {"path": self._path}

    def raw_match(self, path: str) -> bool:
        return path == self._path

    def __len__(self) -> int:
        return 0

    def __iter__(self) -> Iterator[web.AbstractRoute]:
        return iter(())


class _Unmatched(web.AbstractResource):
    """Matches any request at the end of the router's search; answers 404 or 405 as the
    router itself would. It has no routes of its own to list (`iter` is empty)."""

    def __init__(self, router: web.UrlDispatcher, guard: Guard) -> None:
        super().__init__()
        self._router = router
        self._route = web.ResourceRoute("*", guard.wrap(self._refuse, check_query=False), self)

    async def _refuse(self, request: web.Request) -> web.StreamResponse:
        allowed: set[str] = set()
        for resource in self._router.resources():
            if resource is not self:
                allowed |= (await resource.resolve(request))[1]
        if allowed:
            raise web.HTTPMethodNotAllowed(request.method, allowed)
        raise web.HTTPNotFound()

    @property
    def canonical(self) -> str:
        return "/"

    def url_for(self, **kwargs: str) -> URL:
        raise NotImplementedError("the fallback resource has no URL")

    async def resolve(self, request: web.Request) -> tuple[web.UrlMappingMatchInfo, set[str]]:
        return web.UrlMappingMatchInfo({}, self._route), set()

    def add_prefix(self, prefix: str) -> None:
        raise NotImplementedError("the fallback resource is not for sub-applications")

    def get_info(self) -> Any:
        return {}

    def raw_match(self, path: str) -> bool:
        return False

    def __len__(self) -> int:
        return 0

    def __iter__(self) -> Iterator[web.AbstractRoute]:
        return iter(())
