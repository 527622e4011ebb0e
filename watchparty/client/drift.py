"""The server's drift rules (welcome.params), applied to `expected − actual`. Pure: the caller passes the time."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal


@dataclass(frozen=True)
class DriftParams:
    lead_ms: float = 300
    nudge_from_ms: float = 25
    nudge_until_ms: float = 5
    max_nudge: float = 0.08
    seek_from_ms: float = 400
    seek_cooldown_ms: float = 1500
    step_seek_from_ms: float = 250
    step_seek_cooldown_ms: float = 4000
    wait_timeout_ms: float = 10_000
    report_interval_ms: float = 3000

    @classmethod
    def from_wire(cls, params: dict[str, Any]) -> DriftParams:
        names = {
            "leadMs": "lead_ms",
            "nudgeFromMs": "nudge_from_ms",
            "nudgeUntilMs": "nudge_until_ms",
            "maxNudge": "max_nudge",
            "seekFromMs": "seek_from_ms",
            "seekCooldownMs": "seek_cooldown_ms",
            "stepSeekFromMs": "step_seek_from_ms",
            "stepSeekCooldownMs": "step_seek_cooldown_ms",
            "waitTimeoutMs": "wait_timeout_ms",
            "reportIntervalMs": "report_interval_ms",
        }
        return cls(**{ours: float(params[wire]) for wire, ours in names.items() if wire in params})


@dataclass(frozen=True)
class Correction:
    kind: Literal["none", "rate", "seek"]
    rate: float = 1.0
    position: float = 0.0


NONE = Correction("none")
NUDGE_MS_PER_UNIT = 500  # off by 50 ms: 10 % faster (before the cap); gone in about half a second


class Corrector:
    """Decides how to close the gap between where the room is and where the player is.

    Off by more than `seek_from_ms`: seek, aiming where the room will be once the seek has settled, and not
    again within `seek_cooldown_ms` (a second seek right after the first is the stutter users hate). Off by more
    than `nudge_from_ms`: play a little faster or slower (`rate × (1 ± min(max_nudge, off/500))`), until within
    `nudge_until_ms`, so that a nudge does not stop with the error it started at. A player whose rates are steps
    (`nudges=False`, e.g. YouTube's) cannot be nudged: it seeks once off by `step_seek_from_ms`, and not again
    within `step_seek_cooldown_ms`."""

    def __init__(self, params: DriftParams) -> None:
        self.params = params
        self.last_seek_ms = float("-inf")
        self.nudging = False

    def seeked(self, now_ms: float) -> None:
        self.last_seek_ms = now_ms

    def decide(
        self,
        expected: float,
        actual: float,
        room_rate: float,
        now_ms: float,
        *,
        paused: bool,
        seek_delay_ms: float,
        nudges: bool = True,
    ) -> Correction:
        """expected/actual in seconds of media; now_ms on any monotonic clock."""
        p = self.params
        off_ms = (expected - actual) * 1000  # positive: the player is behind
        cooled = now_ms - self.last_seek_ms >= (p.seek_cooldown_ms if nudges else p.step_seek_cooldown_ms)
        if paused:
            self.nudging = False
            if abs(off_ms) > p.nudge_until_ms and cooled:  # invisible while paused, so be exact
                self.seeked(now_ms)
                return Correction("seek", room_rate, expected)
            return NONE
        seek_from = p.seek_from_ms if nudges else p.step_seek_from_ms
        if abs(off_ms) > seek_from and cooled:
            self.seeked(now_ms)
            self.nudging = False
            return Correction("seek", room_rate, expected + seek_delay_ms / 1000 * room_rate)
        if not nudges:
            return NONE
        if abs(off_ms) > p.nudge_from_ms or (self.nudging and abs(off_ms) > p.nudge_until_ms):
            self.nudging = True
            nudge = min(p.max_nudge, abs(off_ms) / NUDGE_MS_PER_UNIT)
            return Correction("rate", room_rate * (1 + nudge if off_ms > 0 else 1 - nudge))
        if self.nudging:
            self.nudging = False
            return Correction("rate", room_rate)
        return NONE
