"""What the client drives (`Player`), and an imperfect simulated player on a true clock.

A real player is never exact: its device clock is off and drifts, it plays a little fast or slow, and it takes
a moment to start after play or seek. `SimulatedPlayer` has all of these, so that the sync client is tested
against what it will meet; the harness reads its position on the true clock (`true_position`), never on the
player's own estimate."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol, runtime_checkable


class Player(Protocol):
    """The few things sync needs from a player. Positions in seconds of media."""

    @property
    def playing(self) -> bool: ...

    def position(self) -> float: ...

    def play(self) -> None: ...

    def pause(self) -> None: ...

    def seek(self, position: float) -> None: ...

    def set_rate(self, rate: float) -> None: ...


@runtime_checkable
class MediaPlayer(Player, Protocol):
    """A player that changes media (a playlist): `load` switches to a media, paused at 0; `preload` fetches one
    ahead, so that loading it later is at once."""

    def load(self, media_id: int, duration: float | None) -> None: ...

    def preload(self, media_id: int) -> None: ...


@dataclass
class Switch:
    """One change of media on a simulated player, on the true clock: when the old media stopped moving (its end,
    or the moment it was left), and when the new one began to move (None: not yet)."""

    media_id: int
    stopped_at: float
    started_at: float | None = None


YOUTUBE_RATES = (0.25, 0.5, 0.75, 1.0, 1.25, 1.5, 1.75, 2.0)  # what the IFrame API's getAvailablePlaybackRates gives


@dataclass(frozen=True)
class Imperfections:
    clock_offset_ms: float = 0.0  # the device clock minus the true clock
    clock_drift_ppm: float = 0.0  # the device clock runs this much fast (+) or slow (−)
    rate_error: float = 0.0  # playback runs at rate × (1 + rate_error)
    play_delay_ms: float = 0.0  # from play() until the picture moves
    seek_delay_ms: float = 0.0  # from seek() until it can move again
    delay_jitter: float = 0.0  # each start-up delay varies by up to this fraction
    load_delay_ms: float = 1500.0  # loading a media that was not preloaded (a preloaded one loads at once)
    preload_ms: float = 2000.0  # fetching a media ahead takes this long
    rate_steps: tuple[float, ...] | None = None  # a player with only these rates (YouTube's); None: any rate

    @classmethod
    def random(
        cls,
        rng: random.Random,
        *,
        max_offset_ms: float = 2000,
        max_drift_ppm: float = 200,
        max_rate_error: float = 0.005,
        play_delay_ms: tuple[float, float] = (20, 200),
        seek_delay_ms: tuple[float, float] = (50, 300),
        delay_jitter: float = 0.2,
        rate_steps: tuple[float, ...] | None = None,
    ) -> Imperfections:
        return cls(
            rate_steps=rate_steps,
            clock_offset_ms=rng.uniform(-max_offset_ms, max_offset_ms),
            clock_drift_ppm=rng.uniform(-max_drift_ppm, max_drift_ppm),
            rate_error=rng.uniform(-max_rate_error, max_rate_error),
            play_delay_ms=rng.uniform(*play_delay_ms),
            seek_delay_ms=rng.uniform(*seek_delay_ms),
            delay_jitter=delay_jitter,
        )


class SimulatedPlayer:
    """A player whose position is a function of the true clock (seconds). `local_ms()` is its device clock."""

    def __init__(
        self, true_clock: Callable[[], float], imperfections: Imperfections = Imperfections(), seed: int = 0
    ) -> None:
        self.true_clock = true_clock
        self.imp = imperfections
        self.rng = random.Random(seed)
        self.epoch = true_clock()
        self._playing = False
        self.rate = 1.0
        self.base_pos = 0.0  # the position at base_t ...
        self.base_t = self.epoch
        self.frozen_until = self.epoch  # ... and it does not move before this (start-up, seek, stall)
        self.media: int | None = None
        self.duration: float | None = None  # a player stops at the end of its media
        self.switches: list[Switch] = []
        self._ready: dict[int, float] = {}  # preloaded media -> true time it is ready

    # -- the device clock --------------------------------------------------------------------------------------

    def local_ms(self) -> float:
        t = self.true_clock()
        return t * 1000 + self.imp.clock_offset_ms + (t - self.epoch) * 1000 * self.imp.clock_drift_ppm * 1e-6

    # -- what the client sees and does -------------------------------------------------------------------------

    @property
    def playing(self) -> bool:
        return self._playing

    def true_position(self, t: float) -> float:
        if not self._playing:
            return self.base_pos
        start = max(self.base_t, self.frozen_until)
        if t <= start:
            return self.base_pos
        at = self.base_pos + (t - start) * self.rate * (1 + self.imp.rate_error)
        return min(at, self.duration) if self.duration is not None else at

    def reached_end_at(self) -> float | None:
        """The true time at which the playing media reaches (or reached) its end; None if paused or unknown."""
        if not self._playing or self.duration is None:
            return None
        start = max(self.base_t, self.frozen_until)
        return start + max(0.0, self.duration - self.base_pos) / (self.rate * (1 + self.imp.rate_error))

    def position(self) -> float:
        return self.true_position(self.true_clock())

    def _rebase(self) -> float:
        now = self.true_clock()
        self.base_pos, self.base_t = self.true_position(now), now
        return now

    def _delay(self, ms: float) -> float:
        return ms / 1000 * (1 + self.rng.uniform(-self.imp.delay_jitter, self.imp.delay_jitter))

    def play(self) -> None:
        if self._playing:
            return
        now = self._rebase()
        self.frozen_until = max(self.frozen_until, now + self._delay(self.imp.play_delay_ms))
        self._playing = True
        if self.switches and self.switches[-1].started_at is None:
            self.switches[-1].started_at = max(now, self.frozen_until)

    def preload(self, media_id: int) -> None:
        self._ready.setdefault(media_id, self.true_clock() + self.imp.preload_ms / 1000)

    def load(self, media_id: int, duration: float | None) -> None:
        """Switch to a media, paused at 0: at once if it was preloaded in time, else after `load_delay_ms`."""
        now = self.true_clock()
        end = self.reached_end_at()
        stopped = now if end is None else min(now, end)
        self.switches.append(Switch(media_id, stopped))
        ready = self._ready.pop(media_id, None)
        self.media, self.duration = media_id, duration
        self._playing, self.base_pos, self.base_t = False, 0.0, now
        delay = 0.0 if ready is not None and ready <= now else self._delay(self.imp.load_delay_ms)
        self.frozen_until = now + delay

    def pause(self) -> None:
        self._rebase()
        self._playing = False

    def seek(self, position: float) -> None:
        now = self._rebase()
        self.base_pos = max(0.0, position)
        self.frozen_until = now + self._delay(self.imp.seek_delay_ms)

    @property
    def continuous_rates(self) -> bool:
        """Whether any rate can be set (an HTML5 <video>), or only a few steps (YouTube): the drift rules differ."""
        return self.imp.rate_steps is None

    def set_rate(self, rate: float) -> None:
        self._rebase()
        steps = self.imp.rate_steps
        self.rate = rate if steps is None else min(steps, key=lambda s: abs(s - rate))  # the nearest it has

    def stall(self, seconds: float) -> None:
        """The network starves the player: it stops moving for `seconds` (a buffering viewer)."""
        now = self._rebase()
        self.frozen_until = max(self.frozen_until, now + seconds)

    @property
    def stalled(self) -> bool:
        return self.true_clock() < self.frozen_until
