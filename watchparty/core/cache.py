"""The response cache: an in-process L1 in front of Redis (L2), with versioned tags and cross-process invalidation.

How an entry stays correct:
- Every cached response depends on tags (`rooms`, `room:5`, `people` ...). Each tag has a version in Redis.
- Before a miss reads the database it snapshots the versions of its tags; the entry is stored with that snapshot.
- A write bumps its tags' versions after commit (INCR) and publishes the new versions to every process.
- An entry is served only while its snapshot equals the current versions. A slow reader that stores pre-write data
  stores it under the old versions, so it is never served: that is the cure for the slow-reader race.
- L1 copies are checked against the versions this process knows of their tags. It hears of bumps through pub/sub,
  and it re-reads the versions of *every* tag it holds, all in one MGET, every half `cache_l1_revalidate_ms`
  (ADR 0025). A copy is served from memory only while each of its tags was read from Redis within
  `cache_l1_revalidate_ms` and is at the version the copy was stored under: that interval is the staleness bound even
  if a message is lost, and a warm key costs no Redis round trip at all, however rarely it is asked for. A key whose
  tags are not fresh (the refresh is late or failing) asks Redis for its tags only, never for a body it holds.
- Redis errors or timeouts count towards a breaker; while it is open the cache is bypassed and every request is
  served from the database.

When a version bump is refused or lost (Redis out of memory, a read-only replica, a dropped connection), the writer
does what still works, at once: it deletes the tag keys (allowed when Redis is out of memory) and publishes the
versions it now expects (allowed on a replica). A tag key that is missing starts again at a new epoch (the wall
clock in microseconds, above every version it had), and a process that knows a higher version than Redis holds
serves that tag from the database and raises Redis to it. Every process, the workers too, replays its pending bumps
every `_REPLAY_S`. So no process serves a copy older than a committed write for longer than the re-validation
interval, unless the writing process can reach Redis for none of INCR, DEL and PUBLISH (docs/operations.md).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import Counter, OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import orjson
import redis.asyncio as aioredis
import redis.exceptions
from sqlalchemy.ext.asyncio import AsyncSession

from watchparty.config import Settings
from watchparty.core.db import after_commit, hooks_of
from watchparty.core.redis import Breaker

log = logging.getLogger("watchparty.cache")

_HEADER_END = b"\n"
_LOCK_MS = 3000
_WAIT_FOR_PEER_S = 1.0
_REPLAY_S = 0.1  # how often a process retries the version bumps Redis refused
_PRUNE_EVERY = 120  # refreshes between two prunings of the tags no L1 entry depends on (a minute at the default)


@dataclass(slots=True)
class Entry:
    body: bytes  # the HIT body, `"_cached": true` included
    versions: tuple[tuple[str, int], ...]
    expires_at: float


@dataclass(slots=True)
class Lookup:
    """The outcome of a read: a body to serve, or the versions a fresh computation must be stored under."""

    body: bytes | None = None
    versions: tuple[tuple[str, int], ...] | None = None
    source: str = "MISS"


class L1:
    """A bounded LRU of entries, by count and by bytes."""

    def __init__(self, max_entries: int, max_bytes: int) -> None:
        self.max_entries = max_entries
        self.max_bytes = max_bytes
        self.size = 0
        self._data: OrderedDict[str, Entry] = OrderedDict()

    def get(self, key: str) -> Entry | None:
        entry = self._data.get(key)
        if entry is not None:
            self._data.move_to_end(key)
        return entry

    def put(self, key: str, entry: Entry) -> None:
        if self.max_entries == 0 or len(entry.body) > self.max_bytes:
            return
        self.pop(key)
        self._data[key] = entry
        self.size += len(entry.body)
        while len(self._data) > self.max_entries or self.size > self.max_bytes:
            _, old = self._data.popitem(last=False)
            self.size -= len(old.body)

    def pop(self, key: str) -> None:
        old = self._data.pop(key, None)
        if old is not None:
            self.size -= len(old.body)

    def clear(self) -> None:
        self._data.clear()
        self.size = 0

    def __len__(self) -> int:
        return len(self._data)

    def tags(self) -> set[str]:
        """Every tag some entry depends on."""
        return {tag for entry in self._data.values() for tag, _ in entry.versions}


OUTCOMES = ("HIT", "MISS", "ERROR", "BYPASS")


@dataclass
class Stats:
    """This process's counters. `flushed` is what has been added to the shared totals in Redis so far."""

    counts: Counter[tuple[str, str]] = field(default_factory=Counter)
    flushed: Counter[tuple[str, str]] = field(default_factory=Counter)

    def add(self, route: str, outcome: str) -> None:
        self.counts[(route, outcome)] += 1

    def as_dict(self) -> dict[str, dict[str, int]]:
        return by_route(self.counts)


def by_route(counts: Counter[tuple[str, str]]) -> dict[str, dict[str, int]]:
    out: dict[str, dict[str, int]] = {}
    for (route, outcome), n in sorted(counts.items()):
        out.setdefault(route, dict.fromkeys(OUTCOMES, 0))[outcome] = n
    return out


class Cache:
    def __init__(self, settings: Settings, client: aioredis.Redis | None) -> None:
        self.settings = settings
        self.client = client
        self.enabled = settings.cache_enabled and client is not None
        self.prefix = f"{settings.key_prefix}:cache"
        self.channel = f"{self.prefix}:invalidate"
        self.l1 = L1(settings.cache_l1_max_entries, settings.cache_l1_max_bytes)
        self.revalidate_s = settings.cache_l1_revalidate_ms / 1000
        self.breaker = Breaker(settings.cache_breaker_failures, settings.cache_breaker_open_seconds)
        self.stats = Stats()
        self.versions: dict[str, int] = {}  # what this process knows of each tag's version
        # when each tag's version was last read from Redis (the clock's time at which the read was sent); the tags
        # here are the ones the refresher re-reads
        self.read_at: dict[str, float] = {}
        self.clock = time.monotonic  # a test may turn it
        self._refresher: asyncio.Task[None] | None = None
        self._refreshes = 0
        self._pending: set[str] = set()  # invalidations not yet written to Redis
        self._inflight: dict[str, asyncio.Future[bytes | None]] = {}
        self._lookups: dict[str, asyncio.Future[Lookup]] = {}
        self._listener: asyncio.Task[None] | None = None
        self._subscriber: aioredis.Redis | None = None
        self._stats_flusher: asyncio.Task[None] | None = None
        self._replayer: asyncio.Task[None] | None = None
        self._stats_lock = asyncio.Lock()  # one flush at a time, or two would add the same counts
        self.stats_key = f"{self.prefix}:stats"

    # -- lifecycle -----------------------------------------------------------------------------------------------

    async def start(self, *, refresh: bool = True) -> None:
        """The listener, the counters' flusher, the bumps' replayer and (unless a test on a fake clock calls
        `refresh_tags` itself) the tags' refresher."""
        if self.enabled and self._listener is None:
            self._listener = asyncio.create_task(self._listen(), name="cache-invalidation-listener")
            self._stats_flusher = asyncio.create_task(self._flush_stats_every(), name="cache-stats-flusher")
            self._replayer = asyncio.create_task(self._replay_every(), name="cache-invalidation-replayer")
            if refresh and self.revalidate_s > 0:
                self._refresher = asyncio.create_task(self._refresh_every(), name="cache-tag-refresher")

    async def close(self) -> None:
        if self._refresher is not None:
            self._refresher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._refresher
        if self._replayer is not None:
            self._replayer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._replayer
        if self._stats_flusher is not None:
            self._stats_flusher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._stats_flusher
            await self.flush_stats()  # what this process counted since the last flush
        if self._listener is not None:
            self._listener.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._listener
        if self._subscriber is not None:
            await self._subscriber.aclose()
        if self.client is not None:
            await self.client.aclose()

    # -- reads ---------------------------------------------------------------------------------------------------

    def tag_key(self, tag: str) -> str:
        return f"{self.prefix}:tag:{tag}"

    def fresh_l1(self, key: str) -> bytes | None:
        """The L1 body if it may be served without asking Redis (the same test `_lookup` starts with), without the
        future that shares a Redis round trip: the hit path's synchronous fast lane."""
        entry = self.l1.get(key)
        return entry.body if entry is not None and self._servable(entry, self.clock()) else None

    def _servable(self, entry: Entry, now: float) -> bool:
        """An L1 copy is served without asking Redis while it is unexpired, and each of its tags is at the version
        this process knows and was read from Redis within the re-validation interval."""
        if entry.expires_at <= now:
            return False
        oldest = now - self.revalidate_s
        versions, read_at = self.versions, self.read_at
        for tag, version in entry.versions:
            if versions.get(tag) != version or read_at.get(tag, oldest) <= oldest:
                return False
        return True

    async def lookup(self, key: str, tags: tuple[str, ...]) -> Lookup:
        """L1, then L2, with concurrent lookups of one key sharing a single Redis round trip."""
        body = self.fresh_l1(key)
        if body is not None:
            return Lookup(body=body, source="L1")
        shared = self._lookups.get(key)
        if shared is not None:
            return await asyncio.shield(shared)
        future: asyncio.Future[Lookup] = asyncio.get_running_loop().create_future()
        self._lookups[key] = future
        try:
            result = await self._lookup(key, tags)
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # retrieved: no "never retrieved" warning when nobody else waited
            raise
        finally:
            self._lookups.pop(key, None)
        future.set_result(result)
        return result

    async def _lookup(self, key: str, tags: tuple[str, ...]) -> Lookup:
        """A miss carries the tag versions that its computation must be stored under. When L1 holds the key, only the
        tags are read: the body comes from Redis only if L1's copy is out of date."""
        now = self.clock()
        entry = self.l1.get(key)
        if entry is not None and entry.expires_at > now:
            if self._servable(entry, now):
                return Lookup(body=entry.body, source="L1")
        elif entry is not None:
            self.l1.pop(key)
            entry = None
        if not self.breaker.allows:
            return Lookup(source="BYPASS")
        if self._pending:
            await self.invalidate(())  # this process's own writes must be visible before it reads again
            if self._pending:
                return Lookup(source="BYPASS")
        tag_keys = [self.tag_key(t) for t in tags]
        try:
            if entry is None:
                values = await self.client.mget([key, *tag_keys])  # type: ignore[union-attr]
            else:
                values = [None, *await self.client.mget(tag_keys)]  # type: ignore[union-attr]
        except Exception as exc:
            self._failed("read", exc)
            return Lookup(source="ERROR")
        await self._succeeded()
        current = await self._current(tags, values[1:], now)
        if current is None:
            return Lookup(source="BYPASS")
        if entry is not None:
            if entry.versions == current:
                return Lookup(body=entry.body, source="L1")
            try:  # L1's copy is out of date; another process may have stored the current one
                values[0] = await self.client.get(key)  # type: ignore[union-attr]
            except Exception as exc:
                self._failed("read", exc)
                return Lookup(source="ERROR")
        raw = values[0]
        if isinstance(raw, bytes):
            parsed = _decode(raw)
            if parsed is None:
                log.warning("cache: corrupt entry %s counted as a miss", key)
            elif parsed[0] == current:
                self.l1.put(key, Entry(parsed[1], current, now + parsed[2]))
                return Lookup(body=parsed[1], source="L2")
        return Lookup(versions=current)

    async def _current(
        self, tags: tuple[str, ...], raw: list[Any], sent_at: float
    ) -> tuple[tuple[str, int], ...] | None:
        """The tags' versions in Redis, a missing tag started at a new epoch; None when the cache must be bypassed:
        a missing tag could not be started, or Redis is behind a version this process heard of (a bump that Redis
        refused), which this process then raises Redis to. The tags count as read at `sent_at`."""
        found = {tag: int(v) for tag, v in zip(tags, raw, strict=True) if v is not None}
        missing = [tag for tag in tags if tag not in found]
        if missing:
            try:
                async with self.client.pipeline(transaction=False) as pipe:  # type: ignore[union-attr]
                    for tag in missing:
                        pipe.set(self.tag_key(tag), _epoch(), nx=True)
                        pipe.get(self.tag_key(tag))
                    started = await pipe.execute()
            except Exception as exc:
                self._failed("read", exc)
                return None
            found.update((tag, int(v)) for tag, v in zip(missing, started[1::2], strict=True) if v is not None)
            if len(found) < len(tags):
                return None
        current = tuple((tag, found[tag]) for tag in tags)
        behind = {tag for tag, version in current if self.versions.get(tag, 0) > version}
        for tag, version in current:
            self.versions[tag] = max(self.versions.get(tag, 0), version)
            self.read_at[tag] = max(self.read_at.get(tag, sent_at), sent_at)
        if behind:
            self._pending |= behind
            return None
        return current

    async def store(self, key: str, versions: tuple[tuple[str, int], ...], hit_body: bytes, ttl: int) -> None:
        """Store a freshly computed response (its HIT form) under the versions snapshotted before computing it."""
        now = self.clock()
        if all(self.versions.get(tag, 0) <= version for tag, version in versions):
            self.l1.put(key, Entry(hit_body, versions, now + ttl))
        if self.breaker.allows:
            try:
                await self.client.set(key, _encode(versions, hit_body, ttl), px=ttl * 1000)  # type: ignore[union-attr]
                await self._succeeded()
            except Exception as exc:
                self._failed("write", exc)

    # -- stampede protection -------------------------------------------------------------------------------------

    def inflight(self, key: str) -> asyncio.Future[bytes | None] | None:
        return self._inflight.get(key)

    def begin(self, key: str) -> asyncio.Future[bytes | None]:
        future: asyncio.Future[bytes | None] = asyncio.get_running_loop().create_future()
        self._inflight[key] = future
        return future

    def end(self, key: str, future: asyncio.Future[bytes | None], body: bytes | None) -> None:
        self._inflight.pop(key, None)
        if not future.done():
            future.set_result(body)

    async def acquire_fill_lock(self, key: str) -> bool:
        """Across processes: True if this process should compute the entry; False if a peer is computing it."""
        if not self.breaker.allows:
            return True
        try:
            got = await self.client.set(f"{key}:lock", b"1", nx=True, px=_LOCK_MS)  # type: ignore[union-attr]
        except Exception as exc:
            self._failed("lock", exc)
            return True
        return bool(got)

    async def release_fill_lock(self, key: str) -> None:
        if self.breaker.allows:
            try:
                await self.client.delete(f"{key}:lock")  # type: ignore[union-attr]
            except Exception as exc:
                self._failed("unlock", exc)

    async def wait_for_peer(self, key: str, tags: tuple[str, ...]) -> Lookup:
        """A peer process holds the fill lock: poll L2 briefly for its result, then give up and compute."""
        deadline = time.monotonic() + _WAIT_FOR_PEER_S
        while time.monotonic() < deadline:
            await asyncio.sleep(0.02)
            found = await self.lookup(key, tags)
            if found.body is not None or found.source in {"ERROR", "BYPASS"}:
                return found
        return await self.lookup(key, tags)

    # -- writes --------------------------------------------------------------------------------------------------

    async def invalidate(self, tags: Iterable[str]) -> None:
        """Bump the tags' versions and tell every process. Never raises: a failure is replayed later."""
        wanted = set(tags) | self._pending
        if not wanted or self.client is None:
            return
        for tag in wanted:  # this process stops serving its own copies at once
            self.versions[tag] = self.versions.get(tag, 0) + 1
        ordered = sorted(wanted)
        try:
            async with self.client.pipeline(transaction=False) as pipe:
                for tag in ordered:
                    pipe.set(self.tag_key(tag), _epoch(), nx=True)  # INCR never starts a lost tag again at 1
                    pipe.incr(self.tag_key(tag))
                results = await pipe.execute()
            new_versions = dict(zip(ordered, (int(v) for v in results[1::2]), strict=True))
            self.versions.update(new_versions)
            self._pending.clear()
            await self.client.publish(self.channel, orjson.dumps(new_versions))
            await self._succeeded()
        except Exception as exc:
            self._pending |= wanted
            self._failed("invalidate", exc)
            if isinstance(exc, redis.exceptions.ResponseError):  # Redis answered, and refused: it still reads
                await self._invalidate_without_incr(ordered)

    async def _invalidate_without_incr(self, tags: list[str]) -> None:
        """The bump was refused or lost: make the old copies unservable with whatever Redis still accepts. Deleting
        the tag keys works when Redis is out of memory (every process then starts the tag at a new epoch, or serves
        it from the database while it cannot); publishing the versions this process now expects works on a
        read-only replica (every listening process serves the tag from the database until Redis has them)."""
        client = self.client
        assert client is not None
        keys = [self.tag_key(tag) for tag in tags]
        with contextlib.suppress(Exception):
            held = await client.mget(keys)
            for tag, version in zip(tags, held, strict=True):
                if version is not None:
                    self.versions[tag] = max(self.versions[tag], int(version) + 1)
            await client.publish(self.channel, orjson.dumps({tag: self.versions[tag] for tag in tags}))
        with contextlib.suppress(Exception):
            await client.delete(*keys)

    # -- counters shared by all processes -------------------------------------------------------------------------

    async def flush_stats(self) -> None:
        """Add what this process counted since its last flush to the totals of all processes (a Redis hash). The
        hit path only increments a local counter; this runs every `cache_stats_flush_ms`, and at shutdown."""
        if self.client is None or not self.breaker.allows:
            return
        async with self._stats_lock:
            await self._flush_stats(self.client)

    async def _flush_stats(self, client: aioredis.Redis) -> None:
        snapshot = Counter(self.stats.counts)
        delta = snapshot - self.stats.flushed
        if not delta:
            return
        try:
            async with client.pipeline(transaction=False) as pipe:
                for (route, outcome), n in delta.items():
                    pipe.hincrby(self.stats_key, f"{route}:{outcome}", n)
                await pipe.execute()
        except Exception as exc:
            self._failed("stats", exc)  # kept: the next flush adds it
            return
        self.stats.flushed = snapshot

    async def all_processes_stats(self) -> dict[str, dict[str, int]] | None:
        """The counters of every API process, as of their last flushes; None when Redis cannot be read."""
        if self.client is None or not self.breaker.allows:
            return None
        try:
            raw = await self.client.hgetall(self.stats_key)
        except Exception as exc:
            self._failed("stats", exc)
            return None
        totals: Counter[tuple[str, str]] = Counter()
        for name, value in raw.items():
            field_name = name.decode() if isinstance(name, bytes) else str(name)
            route, _, outcome = field_name.rpartition(":")
            if route and outcome in OUTCOMES:
                totals[(route, outcome)] = int(value)
        return by_route(totals)

    # -- keeping the tags this process holds fresh -----------------------------------------------------------------

    async def refresh_tags(self) -> None:
        """Read the version of every tag this process holds, in one MGET, so that every warm L1 copy stays
        servable from memory. A tag Redis no longer holds (evicted, lost in a restart, deleted by a refused bump) is
        forgotten: its copies are unservable until a lookup starts it at a new epoch. A tag Redis holds below the
        version this process knows is not marked read, so its copies go stale and the next lookup settles it."""
        if not self.read_at or not self.breaker.allows:
            return
        self._refreshes += 1
        if self._refreshes % _PRUNE_EVERY == 0:  # drop the tags no entry depends on any more
            live = self.l1.tags()
            for tag in [t for t in self.read_at if t not in live]:
                del self.read_at[tag]
        tags = list(self.read_at)
        sent_at = self.clock()
        try:
            raw = await self.client.mget([self.tag_key(t) for t in tags])  # type: ignore[union-attr]
        except Exception as exc:
            self._failed("refresh", exc)
            return
        await self._succeeded()
        for tag, value in zip(tags, raw, strict=True):
            if value is None:
                self.read_at.pop(tag, None)
                continue
            version = int(value)
            if self.versions.get(tag, 0) > version:
                continue  # heard of but not in Redis yet, or refused there: left to go stale, for a lookup to settle
            self.versions[tag] = version
            self.read_at[tag] = max(self.read_at.get(tag, sent_at), sent_at)

    async def _refresh_every(self) -> None:
        while True:
            await asyncio.sleep(self.revalidate_s / 2)
            await self.refresh_tags()

    async def _replay_every(self) -> None:
        """Bumps Redis refused are retried here too, not only before this process's next cached read: a worker
        never reads the cache, and the other processes must not wait for this one's next request."""
        while True:
            await asyncio.sleep(_REPLAY_S)
            if self._pending:
                await self.invalidate(())

    async def _flush_stats_every(self) -> None:
        while True:
            await asyncio.sleep(self.settings.cache_stats_flush_ms / 1000)
            await self.flush_stats()

    # -- internals -----------------------------------------------------------------------------------------------

    def _failed(self, what: str, exc: Exception) -> None:
        log.debug("cache %s failed: %s", what, type(exc).__name__)
        self.breaker.failure()

    async def _succeeded(self) -> None:
        if self.breaker.success():
            log.warning("cache breaker closed: Redis answers again")
            # Whatever this process held may have been invalidated while it could not hear about it.
            self.l1.clear()
            self.versions.clear()
            self.read_at.clear()
            if self._pending:
                await self.invalidate(())

    async def _listen(self) -> None:
        """Apply other processes' invalidations to this process's L1 as they happen."""
        url = self.settings.effective_cache_redis_url
        assert url is not None
        while True:
            try:
                self._subscriber = aioredis.Redis.from_url(url, socket_timeout=5, socket_connect_timeout=1, protocol=2)
                pubsub = self._subscriber.pubsub(ignore_subscribe_messages=True)
                await pubsub.subscribe(self.channel)
                # Messages published while we were not listening are lost: forget what we held.
                self.l1.clear()
                self.versions.clear()
                self.read_at.clear()
                while True:
                    message = await pubsub.get_message(timeout=1.0)
                    if message is not None and message.get("type") == "message":
                        self._apply(message["data"])
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.debug("cache invalidation listener: %s; reconnecting", type(exc).__name__)
                if self._subscriber is not None:
                    with contextlib.suppress(Exception):
                        await self._subscriber.aclose()
                await asyncio.sleep(0.5)

    def _apply(self, data: Any) -> None:
        try:
            versions = orjson.loads(data)
        except orjson.JSONDecodeError:
            return
        if isinstance(versions, dict):
            for tag, version in versions.items():
                if isinstance(version, int):
                    self.versions[str(tag)] = max(self.versions.get(str(tag), 0), version)


def _epoch() -> int:
    """The first version of a tag that Redis does not hold (never written, lost in a restart, evicted, deleted to
    invalidate it): the wall clock in microseconds, above every version the tag had before, since no tag is bumped a
    million times a second. Starting again at 0 would make copies stored under the old versions servable again."""
    return time.time_ns() // 1000


def hit_form(body: bytes) -> bytes:
    """The body as served from the cache: the same JSON object with `"_cached": true` added."""
    return b'{"_cached":true,' + body[1:] if body.startswith(b"{") and len(body) > 2 else body


def _encode(versions: tuple[tuple[str, int], ...], body: bytes, ttl: int) -> bytes:
    header = orjson.dumps({"v": dict(versions), "ttl": ttl, "at": time.time()})
    return header + _HEADER_END + body


def _decode(raw: bytes) -> tuple[tuple[tuple[str, int], ...], bytes, float] | None:
    """(versions, body, seconds left) or None when the entry is not one of ours or is damaged."""
    try:
        header, body = raw.split(_HEADER_END, 1)
        meta = orjson.loads(header)
        versions = tuple((str(k), int(v)) for k, v in meta["v"].items())
        left = float(meta["ttl"]) - (time.time() - float(meta["at"]))
        if not body.startswith(b"{") or left <= 0:
            return None
        orjson.loads(body)  # a truncated or garbled body is a miss, never served
        return versions, body, left
    except (ValueError, KeyError, TypeError, AttributeError, orjson.JSONDecodeError):
        return None


def invalidate(session: AsyncSession, *tags: str) -> None:
    """Register tags to invalidate once this unit of work commits. Safe to call many times per request."""
    hooks = hooks_of(session)
    cache = hooks.cache
    if cache is None or not cache.enabled:
        return
    pending = hooks.pending_tags
    if pending is None:
        pending = hooks.pending_tags = set()

        async def flush() -> None:
            tags_now, hooks.pending_tags = hooks.pending_tags or set(), None
            await cache.invalidate(tags_now)

        after_commit(session, flush)
    pending.update(tags)
