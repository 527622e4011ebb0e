"""The client library's pure parts on a fake clock: clock estimation, the drift rules and the simulated player."""

from __future__ import annotations

import pytest

from watchparty.client import ClockSync, Corrector, DriftParams, Imperfections, SimulatedPlayer


class FakeClock:
    def __init__(self, t: float = 1_000.0) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


def test_clock_sync_keeps_the_lowest_rtt_sample() -> None:
    sync = ClockSync(keep=8)
    # server = local + 500; one way 40 ms out, 10 ms back: asymmetric, so the offset is 15 ms off
    sync.add(t0=0, t1=540, t2=541, t3=51)
    assert sync.rtt_ms == pytest.approx(50)
    # a symmetric 5 ms path: lower RTT, so it wins, and its offset is exact
    sample = sync.add(t0=1000, t1=1505, t2=1505, t3=1010)
    assert sample.rtt_ms == pytest.approx(10)
    assert sync.offset_ms == pytest.approx(500)
    assert sync.server_ms(2000) == pytest.approx(2500) and sync.local_ms(2500) == pytest.approx(2000)


def test_clock_sync_forgets_old_samples() -> None:
    sync = ClockSync(keep=2)
    sync.add(0, 100, 100, 0)  # rtt 0, offset 100
    sync.add(0, 210, 210, 20)  # rtt 20, offset 200
    sync.add(0, 310, 310, 20)  # rtt 20, offset 300: the rtt-0 sample has gone
    assert sync.offset_ms in (200, 300)


def test_no_correction_within_the_band() -> None:
    c = Corrector(DriftParams())
    assert c.decide(10.0, 10.02, 1.0, 0, paused=False, seek_delay_ms=100).kind == "none"


def test_nudges_toward_the_room_until_close_then_restores_the_rate() -> None:
    c = Corrector(DriftParams(nudge_from_ms=25, nudge_until_ms=5, max_nudge=0.08))
    behind = c.decide(10.0, 9.97, 1.0, 0, paused=False, seek_delay_ms=100)  # 30 ms behind
    assert behind.kind == "rate" and behind.rate == pytest.approx(1.06)  # 30 ms / 500
    far = c.decide(10.0, 9.8, 1.0, 100, paused=False, seek_delay_ms=100)  # 200 ms: clamped to 8 %
    assert far.rate == pytest.approx(1.08)
    still = c.decide(10.0, 9.99, 1.0, 200, paused=False, seek_delay_ms=100)  # 10 ms: still nudging (hysteresis)
    assert still.kind == "rate" and still.rate == pytest.approx(1.02)
    done = c.decide(10.0, 9.998, 1.0, 300, paused=False, seek_delay_ms=100)
    assert done.kind == "rate" and done.rate == 1.0
    assert c.decide(10.0, 9.998, 1.0, 400, paused=False, seek_delay_ms=100).kind == "none"
    ahead = c.decide(10.0, 10.03, 2.0, 500, paused=False, seek_delay_ms=100)
    assert ahead.rate == pytest.approx(2.0 * 0.94)


def test_seeks_ahead_by_the_seek_delay_and_not_again_within_the_cooldown() -> None:
    c = Corrector(DriftParams(seek_from_ms=400, seek_cooldown_ms=1500))
    first = c.decide(30.0, 29.0, 1.0, 10_000, paused=False, seek_delay_ms=200)
    assert first.kind == "seek" and first.position == pytest.approx(30.2)
    # still a second off within the cooldown: a nudge, not a stuttering second seek
    assert c.decide(30.0, 29.0, 1.0, 11_000, paused=False, seek_delay_ms=200).kind == "rate"
    assert c.decide(30.0, 29.0, 1.0, 11_600, paused=False, seek_delay_ms=200).kind == "seek"


def test_a_player_with_only_fixed_rates_is_corrected_by_seeking_alone() -> None:
    c = Corrector(DriftParams(nudge_from_ms=25, step_seek_from_ms=250, step_seek_cooldown_ms=4000))
    # 150 ms off: a nudge for a player with any rate; nothing for one with steps (a seek costs more than it saves)
    assert c.decide(10.0, 9.85, 1.0, 0, paused=False, seek_delay_ms=100, nudges=False).kind == "none"
    # 300 ms off: a seek, aimed where the room will be once it has settled, and not again within the cooldown
    fix = c.decide(10.0, 9.7, 1.0, 100, paused=False, seek_delay_ms=100, nudges=False)
    assert fix.kind == "seek" and fix.position == pytest.approx(10.1)
    assert c.decide(10.0, 9.7, 1.0, 3000, paused=False, seek_delay_ms=100, nudges=False).kind == "none"
    assert c.decide(10.0, 9.7, 1.0, 4200, paused=False, seek_delay_ms=100, nudges=False).kind == "seek"
    # a player with any rate, as far off, is nudged instead
    assert Corrector(DriftParams()).decide(10.0, 9.85, 1.0, 0, paused=False, seek_delay_ms=100).kind == "rate"


def test_paused_positions_are_made_exact() -> None:
    c = Corrector(DriftParams(nudge_until_ms=5))
    fix = c.decide(12.0, 12.05, 1.0, 0, paused=True, seek_delay_ms=100)
    assert fix.kind == "seek" and fix.position == 12.0
    assert c.decide(12.0, 12.002, 1.0, 5000, paused=True, seek_delay_ms=100).kind == "none"


def test_drift_params_from_the_wire() -> None:
    p = DriftParams.from_wire({"leadMs": 250, "nudgeFromMs": 30, "seekFromMs": 500, "unknownLater": 1})
    assert (p.lead_ms, p.nudge_from_ms, p.seek_from_ms, p.max_nudge) == (250, 30, 500, 0.08)


def test_the_simulated_player_is_imperfect_in_the_ways_it_says() -> None:
    clock = FakeClock()
    imp = Imperfections(clock_offset_ms=1500, clock_drift_ppm=200, rate_error=0.005, play_delay_ms=100,
                        seek_delay_ms=250, delay_jitter=0.0)  # fmt: skip
    player = SimulatedPlayer(clock, imp)
    assert player.local_ms() == pytest.approx(clock.t * 1000 + 1500)
    player.play()
    clock.t += 0.1
    assert player.position() == 0.0  # still starting
    clock.t += 10
    assert player.position() == pytest.approx(10 * 1.005)  # runs 0.5 % fast
    assert player.local_ms() == pytest.approx(clock.t * 1000 + 1500 + 10_100 * 200e-6)  # the device clock drifts
    player.seek(60.0)
    clock.t += 0.2
    assert player.position() == 60.0 and player.stalled  # frozen while seeking
    clock.t += 0.15
    assert player.position() == pytest.approx(60.1 * 1.0 + 0.1 * 0.005, abs=1e-3)
    player.set_rate(2.0)
    before = player.position()
    clock.t += 1
    assert player.position() == pytest.approx(before + 2 * 1.005)
    player.pause()
    paused_at = player.position()
    clock.t += 5
    assert player.position() == paused_at and not player.playing
    assert player.true_position(clock.t) == paused_at


def test_a_stall_freezes_the_player() -> None:
    clock = FakeClock()
    player = SimulatedPlayer(clock, Imperfections())
    player.play()
    clock.t += 1
    player.stall(3)
    at = player.position()
    clock.t += 2.9
    assert player.position() == at
    clock.t += 1.1
    assert player.position() == pytest.approx(at + 1.0)
