"""NTP-style clock estimation: the offset of the server's clock from ours, from ping/pong timestamps."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass


@dataclass(frozen=True)
class Sample:
    rtt_ms: float
    offset_ms: float  # server ≈ local + offset


class ClockSync:
    """Keeps the last `keep` samples and trusts the one with the lowest round trip: its offset has the least
    room for asymmetric delay (the error is at most rtt/2)."""

    def __init__(self, keep: int = 8) -> None:
        self.samples: deque[Sample] = deque(maxlen=keep)

    def add(self, t0: float, t1: float, t2: float, t3: float) -> Sample:
        """t0 local send, t1 server receipt, t2 server send, t3 local receipt; all ms."""
        sample = Sample(rtt_ms=max(0.0, (t3 - t0) - (t2 - t1)), offset_ms=((t1 - t0) + (t2 - t3)) / 2)
        self.samples.append(sample)
        return sample

    @property
    def ready(self) -> bool:
        return bool(self.samples)

    @property
    def best(self) -> Sample:
        if not self.samples:
            return Sample(rtt_ms=0.0, offset_ms=0.0)
        return min(self.samples, key=lambda s: s.rtt_ms)

    @property
    def offset_ms(self) -> float:
        return self.best.offset_ms

    @property
    def rtt_ms(self) -> float:
        return self.best.rtt_ms

    def server_ms(self, local_ms: float) -> float:
        return local_ms + self.offset_ms

    def local_ms(self, server_ms: float) -> float:
        return server_ms - self.offset_ms
