"""A process-wide memory budget for work whose peak is large and known in advance (decoding an image)."""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager


class MemoryBudget:
    """At most `limit` bytes reserved at once; reservations are granted first come, first served. A reservation
    larger than the whole budget is counted as the whole budget: it waits until it can run alone."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.used = 0
        self._waiting: deque[tuple[int, asyncio.Future[None]]] = deque()

    @asynccontextmanager
    async def reserve(self, size: int) -> AsyncIterator[None]:
        size = max(0, min(size, self.limit))
        if not self._waiting and self.used + size <= self.limit:
            self.used += size
        else:
            granted: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            self._waiting.append((size, granted))
            try:
                await granted
            except asyncio.CancelledError:
                if granted.done() and not granted.cancelled():
                    self._release(size)  # granted just as it was cancelled
                else:
                    self._waiting.remove((size, granted))
                    self._grant()  # a smaller reservation behind this one may fit now
                raise
        try:
            yield
        finally:
            self._release(size)

    def _release(self, size: int) -> None:
        self.used -= size
        self._grant()

    def _grant(self) -> None:
        while self._waiting and self.used + self._waiting[0][0] <= self.limit:
            size, granted = self._waiting.popleft()
            self.used += size
            granted.set_result(None)
