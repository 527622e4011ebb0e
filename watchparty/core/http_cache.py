"""The cache's hit path: a thin ASGI layer in front of the router.

It is the innermost of our own middleware, inside the request-id, CORS and body-limit layers and outside FastAPI's
(see WatchPartyAPI), so a HIT passes through exactly the same layers of ours as a MISS. For a GET on a cached route
it authorises the caller first (a route's `authorize` returns the scope the response is shared within, or None to
let the application answer), builds the key from allowlisted parameters only, and serves stored bytes: no routing,
no ORM, no Pydantic, no serialisation. A MISS runs the route's loader (its hot read, ADR 0012) or else the
application, stores the body, and adds `X-Cache: MISS`. With the cache off, loaders still answer canonical requests.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from watchparty.core.cache import hit_form
from watchparty.core.responses import is_unavailable

if TYPE_CHECKING:
    from watchparty.core.cache import Cache

MAX_ID = 2**31 - 1
log = logging.getLogger("watchparty.cache")


@dataclass(frozen=True)
class IntParam:
    """An allowlisted integer query parameter. Values outside [low, cached_max] are not cached."""

    name: str
    default: int
    low: int
    cached_max: int


class CacheRequest:
    """What an authoriser may look at: the path ids, the bearer token, and the caller it identifies."""

    def __init__(
        self,
        scope: Scope,
        path_params: Mapping[str, int],
        services: Any,
        authenticate: Callable[[Any, str], Awaitable[Any]],
    ) -> None:
        self.scope = scope
        self.path_params = path_params
        self.services = services
        self._authenticate = authenticate
        self._user: Any = None
        self._resolved = False
        self.authorization = _authorization(scope)

    async def user(self) -> Any:
        """The caller for a well-formed, valid bearer token; None for none or an invalid one."""
        if not self._resolved:
            self._resolved = True
            auth = self.authorization
            if auth and auth[:7].lower() == "bearer " and auth[7:].strip():
                self._user = await self._authenticate(self.services, auth[7:].strip())
        return self._user


def _authorization(scope: Scope) -> str | None:
    for name, value in scope["headers"]:
        if name == b"authorization":
            return str(value.decode("latin-1"))
    return None


Authorizer = Callable[[CacheRequest], Awaitable[str | None]]
# A route's hot read (ADR 0012), called with the canonical parameter values instead of running the application:
# the same service function the route calls, without routing and parameter solving. It returns the 200 body, or
# None to let the application answer (errors, and anything the loader does not handle).
Loader = Callable[[CacheRequest, Mapping[str, int]], Awaitable[bytes | None]]


@dataclass(frozen=True)
class CachedRoute:
    name: str
    path: str  # e.g. "/api/rooms/{room_id}"; every path parameter is a positive integer id
    ttl: Callable[[Any], int]  # settings -> seconds
    authorize: Authorizer
    tags: Callable[[Mapping[str, int], str], tuple[str, ...]]
    params: tuple[IntParam, ...] = ()
    uncached_params: frozenset[str] = frozenset()  # their presence means "not cached" (searches, cursors)
    # Try the "public" entry before the (database) authoriser. Sound because an entry is stored under "public" only
    # when the authoriser said the resource is public, and the tags include the resource's own tag, so an entry
    # that exists at current versions proves the resource is still public.
    public_first: bool = False
    load: Loader | None = None
    pattern: re.Pattern[str] = field(init=False)
    default_key: str = field(init=False)  # the key's query part when the request has no query string
    default_values: Mapping[str, int] = field(init=False)
    # An anonymous caller is served the "public" entry when there is one: the authoriser is authorize_public, or
    # the route tries the public entry first anyway.
    anonymous_public: bool = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "anonymous_public", self.public_first or self.authorize is authorize_public)
        object.__setattr__(self, "default_key", ",".join(f"{p.name}={p.default}" for p in self.params))
        object.__setattr__(self, "default_values", MappingProxyType({p.name: p.default for p in self.params}))
        regex = re.sub(r"\{(\w+)\}", r"(?P<\1>[1-9][0-9]{0,9})", self.path)
        object.__setattr__(self, "pattern", re.compile(f"^{regex}$"))


class HttpCacheMiddleware:
    def __init__(
        self,
        app: ASGIApp,
        routes: list[CachedRoute],
        authenticate: Callable[[Any, str], Awaitable[Any]],
    ) -> None:
        self.app = app
        self.routes = routes
        self.authenticate = authenticate
        self._exact = {r.path: r for r in routes if "{" not in r.path}
        self._patterned = [r for r in routes if "{" in r.path]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "GET":
            await self.app(scope, receive, send)
            return
        matched = self._match(scope["path"])
        if matched is None:
            await self.app(scope, receive, send)
            return
        route, path_params = matched
        services = scope["app"].services  # WatchPartyAPI.services
        cache: Cache = services.cache
        parsed = _query_key(route, scope["query_string"])
        if not cache.enabled:
            if route.load is not None and parsed is not None:
                request = CacheRequest(scope, path_params, services, self.authenticate)
                body = await _load(route, request, parsed[1])
                if body is not None:
                    await _send(send, 200, [_JSON], body)
                    return
            await self.app(scope, receive, send)
            return
        if parsed is None:
            cache.stats.add(route.name, "BYPASS")
            await self.app(scope, receive, send)
            return
        query, values = parsed
        ids = ":".join(map(str, path_params.values()))
        if route.anonymous_public and _authorization(scope) is None:
            # the fast lane: an anonymous caller and a fresh L1 copy need no coroutine, no future, no Redis
            body = cache.fresh_l1(f"{cache.prefix}:{route.name}:public:{ids}:{query}")
            if body is not None:
                cache.stats.add(route.name, "HIT")
                await _send_hit(send, body)
                return
        request = CacheRequest(scope, path_params, services, self.authenticate)
        public_body: bytes | None = None
        access: str | None = None
        try:
            if route.public_first and (request.authorization is None or await request.user() is not None):
                public_key = f"{cache.prefix}:{route.name}:public:{ids}:{query}"
                public_body = (await cache.lookup(public_key, route.tags(path_params, "public"))).body
            if public_body is None:
                access = await route.authorize(request)
        except Exception as exc:
            if not is_unavailable(exc):
                raise
            # the caller or the room cannot be read (database down): the application answers, with its 503
        if public_body is not None:
            cache.stats.add(route.name, "HIT")
            await _send_hit(send, public_body)
            return
        if access is None:
            cache.stats.add(route.name, "BYPASS")
            await self.app(scope, receive, send)
            return
        key = f"{cache.prefix}:{route.name}:{access}:{ids}:{query}"
        tags = route.tags(path_params, access)
        await self._serve(route, key, tags, cache, (request, values), scope, receive, send)

    async def _serve(
        self,
        route: CachedRoute,
        key: str,
        tags: tuple[str, ...],
        cache: Cache,
        loader_args: tuple[CacheRequest, Mapping[str, int]],
        scope: Scope,
        receive: Receive,
        send: Send,
    ) -> None:
        found = await cache.lookup(key, tags)
        if found.body is not None:
            cache.stats.add(route.name, "HIT")
            await _send_hit(send, found.body)
            return
        waiting = cache.inflight(key)
        if waiting is not None:  # another request in this process is computing it: share its result
            body = await waiting
            if body is not None:
                cache.stats.add(route.name, "HIT")
                await _send_hit(send, body)
                return
        future = cache.begin(key)
        shared: bytes | None = None
        locked = False
        try:
            versions = found.versions  # None when Redis is failing: compute, share in-process, store nothing
            if versions is not None:
                locked = await cache.acquire_fill_lock(key)
                if not locked:  # another process is computing it
                    peer = await cache.wait_for_peer(key, tags)
                    if peer.body is not None:
                        shared = peer.body
                        cache.stats.add(route.name, "HIT")
                        await _send_hit(send, peer.body)
                        return
                    versions = peer.versions
            cache.stats.add(route.name, "MISS" if versions is not None else "ERROR")
            loaded = await _load(route, *loader_args)
            if loaded is not None:
                status, headers, body = 200, [_JSON], loaded
            else:
                status, headers, body = await _run_app(self.app, scope, receive, send)
            if status == 200:
                shared = hit_form(body)
                if versions is not None:
                    await cache.store(key, versions, shared, route.ttl(cache.settings))
            await _send(send, status, [*headers, (b"x-cache", b"MISS")], body)
        finally:
            cache.end(key, future, shared)
            if locked:
                await cache.release_fill_lock(key)

    def _match(self, path: str) -> tuple[CachedRoute, dict[str, int]] | None:
        route = self._exact.get(path)
        if route is not None:
            return route, {}
        for route in self._patterned:
            m = route.pattern.match(path)
            if m:
                values = {k: int(v) for k, v in m.groupdict().items()}
                if all(v <= MAX_ID for v in values.values()):
                    return route, values
                return None
        return None


def _query_key(route: CachedRoute, raw: bytes) -> tuple[str, Mapping[str, int]] | None:
    """The canonical form of the allowlisted parameters and their values, or None when this request is not to be
    cached (nor loaded: the application answers it).

    Unknown parameters are ignored, so junk cannot make new keys; repeated, malformed or out-of-range values are
    left to the application (which answers 422) and never cached.
    """
    if not raw:
        return route.default_key, route.default_values
    values = {p.name: p.default for p in route.params}
    seen: set[str] = set()
    try:
        pairs = parse_qsl(raw.decode("latin-1"), keep_blank_values=True, strict_parsing=False)
    except ValueError:
        return None
    for name, value in pairs:
        if name in route.uncached_params:
            return None
        spec = next((p for p in route.params if p.name == name), None)
        if spec is None:
            continue
        if name in seen or not value.isascii() or not value.isdigit() or len(value) > 6:
            return None
        seen.add(name)
        number = int(value)
        if number < spec.low or number > spec.cached_max:
            return None
        values[name] = number
    return ",".join(f"{k}={v}" for k, v in values.items()), values


async def _run_app(
    app: ASGIApp, scope: Scope, receive: Receive, send: Send
) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
    """Run the application and buffer its response (cached responses are small JSON documents)."""
    start: Message | None = None
    chunks: list[bytes] = []

    async def capture(message: Message) -> None:
        nonlocal start
        if message["type"] == "http.response.start":
            start = message
        elif message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))

    try:
        await app(scope, receive, capture)
    except BaseException:
        # FastAPI's error layer sends its 500 and then re-raises (for the server to log): pass the 500 on
        if start is not None:
            await send(start)
            await send({"type": "http.response.body", "body": b"".join(chunks)})
        raise
    assert start is not None
    headers = [(k, v) for k, v in start.get("headers", []) if k.lower() != b"content-length"]
    return start["status"], headers, b"".join(chunks)


_JSON = (b"content-type", b"application/json")


async def _load(route: CachedRoute, request: CacheRequest, values: Mapping[str, int]) -> bytes | None:
    """The loader's body, or None for "the application answers". Failures are the application's to answer too:
    this layer sits outside FastAPI's error handlers, and the route renders them (a database that is down is the
    503 envelope with Retry-After; anything unexpected a 500 that is logged where it happens)."""
    if route.load is None:
        return None
    try:
        return await route.load(request, values)
    except Exception as exc:
        if is_unavailable(exc):
            return None
        log.exception("loader for %s failed; the route answers instead", route.name)
        return None


async def _send(send: Send, status: int, headers: list[tuple[bytes, bytes]], body: bytes) -> None:
    headers = [*headers, (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def _send_hit(send: Send, body: bytes) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"x-cache", b"HIT"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


async def authorize_public(request: CacheRequest) -> str | None:
    """Responses that are the same for everyone. A bad token is still the application's 401, so it bypasses."""
    if request.authorization is not None and await request.user() is None:
        return None
    return "public"
