"""The queues, their job options, and read access for the queue API (bullmq on the main Redis)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Final, TypeVar

import redis.asyncio as aioredis
from bullmq import Job, Queue
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff, NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from watchparty.config import Settings
from watchparty.core.errors import DependencyUnavailable

EMAIL: Final = "email"
IMAGE: Final = "imageProcessing"
CLEANUP: Final = "roomCleanup"
MEDIA: Final = "mediaCheck"
TRANSCODE: Final = "transcode"
QUEUES: Final = (EMAIL, IMAGE, CLEANUP, MEDIA, TRANSCODE)
# Short names used in public job ids such as "email-42": the queue, a dash, and bullmq's job id.
_SHORT: Final = {EMAIL: "email", IMAGE: "image", CLEANUP: "cleanup", MEDIA: "media", TRANSCODE: "transcode"}
_LONG: Final = {v: k for k, v in _SHORT.items()}

# bullmq runs lower numbers first. Every job gets a priority, because bullmq serves un-prioritised jobs
# ahead of all prioritised ones.
HIGH_PRIORITY: Final = 1
NORMAL_PRIORITY: Final = 5
LOW_PRIORITY: Final = 10

COUNT_TYPES: Final = (
    "waiting",
    "paused",
    "prioritized",
    "waiting-children",
    "active",
    "completed",
    "failed",
    "delayed",
)

T = TypeVar("T")


class QueueUnavailable(DependencyUnavailable):
    """Redis did not answer the queue in time."""


def public_job_id(queue: str, job_id: str) -> str:
    return f"{_SHORT[queue]}-{job_id}"


def parse_job_id(public_id: str) -> tuple[str, str] | None:
    short, sep, job_id = public_id.partition("-")
    if not sep or short not in _LONG or not job_id or len(public_id) > 200:
        return None
    return _LONG[short], job_id


def outbox_job_id(outbox_id: int, nonce: str) -> str:
    """bullmq's id for the job of an outbox row: not a bare number (bullmq keeps those for its own counter),
    and with the row's nonce, because bullmq ignores an id it still holds, even from before a database reset."""
    return f"o{outbox_id}.{nonce}"


def key_prefix(settings: Settings) -> str:
    return f"{settings.key_prefix}:bull"


def job_options(settings: Settings) -> dict[str, Any]:
    return {
        "attempts": settings.job_attempts,
        "backoff": {"type": "exponential", "delay": settings.job_backoff_ms},
        "removeOnComplete": {"age": settings.job_keep_completed_seconds, "count": settings.job_keep_completed_count},
        "removeOnFail": {"age": settings.job_keep_failed_seconds, "count": settings.job_keep_failed_count},
    }


def redis_for_queues(settings: Settings, *, blocking: bool = False) -> aioredis.Redis:
    """A client for bullmq. Producers fail fast (the outbox keeps their jobs); workers retry a little."""
    url = settings.effective_redis_url
    if url is None:
        raise QueueUnavailable("no Redis configured")
    if blocking:
        retry = Retry(ExponentialBackoff(cap=2.0, base=0.1), 3)
        return aioredis.Redis.from_url(
            url,
            decode_responses=True,
            socket_connect_timeout=2,
            socket_keepalive=True,
            retry=retry,
            retry_on_error=[RedisConnectionError, RedisTimeoutError],
        )
    return aioredis.Redis.from_url(
        url, decode_responses=True, socket_connect_timeout=1, socket_timeout=2, retry=Retry(NoBackoff(), 0)
    )


async def at_most(seconds: float, work: Awaitable[T]) -> T | None:
    """Wait for `work` for at most `seconds`; after that, leave it behind (bullmq's close shields itself)."""
    task = asyncio.ensure_future(work)
    done, _ = await asyncio.wait({task}, timeout=seconds)
    if not done:
        task.cancel()
        return None
    return task.result()


@dataclass(frozen=True)
class JobView:
    id: str
    queue: str
    name: str
    state: str
    priority: int
    attempts_made: int
    failed_reason: str | None
    progress: Any
    result: Any
    owner_id: int | None
    timestamp: int
    finished_on: int | None

    @classmethod
    def of(cls, queue: str, job: Job, state: str) -> JobView:
        data = job.data if isinstance(job.data, dict) else {}
        owner = data.get("ownerId")
        return cls(
            id=public_job_id(queue, str(job.id)),
            queue=queue,
            name=job.name,
            state=state,
            priority=int(job.opts.get("priority", 0) or 0) if isinstance(job.opts, dict) else 0,
            attempts_made=int(job.attemptsMade or 0),
            failed_reason=job.failedReason or None,
            progress=job.progress,
            result=job.returnvalue,
            owner_id=owner if isinstance(owner, int) else None,
            timestamp=int(job.timestamp or 0),
            finished_on=int(job.finishedOn) if job.finishedOn else None,
        )


class Queues:
    """Producer-side handles on the queues, shared by the relay and the queue API."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.client = redis_for_queues(settings)
        opts: Any = {"connection": self.client, "prefix": key_prefix(settings)}
        self.queues = {name: Queue(name, opts) for name in QUEUES}
        self.defaults = job_options(settings)

    def __getitem__(self, name: str) -> Queue:
        return self.queues[name]

    async def _call(self, make: Callable[[], Awaitable[T]]) -> T:
        try:
            async with asyncio.timeout(3):
                return await make()
        except (RedisConnectionError, RedisTimeoutError, TimeoutError, OSError) as exc:
            raise QueueUnavailable(str(exc) or type(exc).__name__) from exc

    async def add(
        self, queue: str, name: str, data: dict[str, Any], *, job_id: str, priority: int, delay_ms: int = 0
    ) -> None:
        opts = {**self.defaults, "jobId": job_id, "priority": priority}
        if delay_ms:
            opts["delay"] = delay_ms
        await self._call(lambda: self.queues[queue].add(name, data, opts))

    async def counts(self) -> dict[str, dict[str, int]]:
        """Per queue: waiting (incl. prioritized and paused), active, completed, failed, delayed and total."""

        async def one(name: str) -> dict[str, int]:
            raw = await self.queues[name].getJobCounts(*COUNT_TYPES)
            waiting = sum(int(raw.get(t, 0)) for t in ("waiting", "paused", "prioritized", "waiting-children"))
            out = {"waiting": waiting}
            for t in ("active", "completed", "failed", "delayed"):
                out[t] = int(raw.get(t, 0))
            out["total"] = sum(out.values())
            return out

        results = await self._call(lambda: asyncio.gather(*(one(n) for n in QUEUES)))
        return dict(zip(QUEUES, results, strict=True))

    async def state(self, queue: str, job_id: str) -> str:
        """bullmq's state of the job: waiting, active, delayed, completed, failed, …, or "unknown" (no such job)."""
        return str(await self._call(lambda: self.queues[queue].getJobState(job_id)))

    async def get(self, queue: str, job_id: str) -> JobView | None:
        async def read() -> JobView | None:
            q = self.queues[queue]
            for _ in range(5):  # a consistent snapshot: the state did not change while the job was read
                before = str(await q.backend.getState(job_id))
                job = await q.getJob(job_id)
                if job is None:
                    return None
                after = str(await q.backend.getState(job_id))
                if before == after:
                    break
            return JobView.of(queue, job, after)

        return await self._call(read)

    async def failed(self, limit: int) -> list[JobView]:
        async def read(name: str) -> list[JobView]:
            jobs = await self.queues[name].getJobs(["failed"], 0, limit - 1, False)
            return [JobView.of(name, j, "failed") for j in jobs]

        lists = await self._call(lambda: asyncio.gather(*(read(n) for n in QUEUES)))
        merged = [v for views in lists for v in views]
        merged.sort(key=lambda v: v.finished_on or v.timestamp, reverse=True)
        return merged[:limit]

    async def retry(self, queue: str, job_id: str) -> bool:
        async def run() -> bool:
            q = self.queues[queue]
            job = await q.getJob(job_id)
            if job is None or str(await q.backend.getState(job_id)) != "failed":
                return False
            await job.retry("failed")
            return True

        return await self._call(run)

    async def durability(self) -> list[str]:
        """What about this Redis can lose jobs, in words (docs/operations.md, "What Redis must be"): no append-only
        file, or an eviction policy other than noeviction. Empty if it is durable, or if CONFIG is not allowed."""
        try:
            async with asyncio.timeout(2):
                config = await self.client.config_get("appendonly", "maxmemory-policy")
        except Exception:  # managed Redis often refuses CONFIG: nothing to say
            return []
        problems = []
        if config.get("appendonly") == "no":
            problems.append("appendonly is off (a restart loses every queued job; the outbox sends them again)")
        policy = config.get("maxmemory-policy")
        if policy not in (None, "noeviction"):
            problems.append(f"maxmemory-policy is {policy} (Redis may evict queued jobs; use noeviction)")
        return problems

    async def close(self) -> None:
        for q in self.queues.values():
            await at_most(2, q.close())
        await at_most(2, self.client.aclose())
