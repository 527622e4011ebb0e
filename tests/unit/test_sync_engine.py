"""The room engine on a fake clock: every transition, stale versions, Waiting with its timeout, roles and open
control from the room flows, and the end of the media."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import pytest

from watchparty.sync.engine import (
    AssignControl,
    AssignRole,
    Buffering,
    Command,
    ControlChanged,
    Join,
    Leave,
    MediaDuration,
    Message,
    Playback,
    Ready,
    Rejected,
    RoleChanged,
    RoomState,
    SetMedia,
    StateChanged,
    SyncParams,
    Tick,
    WaitingEnded,
    WaitingStarted,
    next_deadline,
    skew_ms,
    step,
)

P = SyncParams()
LEAD = P.lead_ms / 1000
HOST, MOD, ANN, BOB = 1, 2, 3, 4


def room() -> RoomState:
    state = RoomState(playback=Playback(media_id=7))
    for user, role in ((HOST, "host"), (MOD, "moderator"), (ANN, "member"), (BOB, "member")):
        state, events = step(state, Join(user, role), 0.0)  # type: ignore[arg-type]
        assert events == []
    return state


def cmd(state: RoomState, user: int, action: str, **kw: object) -> Command:
    return Command(user, action, state.playback.version, **kw)  # type: ignore[arg-type]


def changed(events: Sequence[object]) -> StateChanged:
    found = [e for e in events if isinstance(e, StateChanged)]
    assert len(found) == 1, events
    return found[0]


def test_play_is_scheduled_ahead_and_position_advances_from_there() -> None:
    state, events = step(room(), Command(HOST, "play", 0), now=100.0)
    ev = changed(events)
    assert ev.execute_at == pytest.approx(100.0 + LEAD)
    assert ev.playback == Playback(media_id=7, position=0.0, anchor=100.0 + LEAD, rate=1.0, paused=False, version=1)
    assert state.playback.position_at(100.0 + LEAD + 10) == pytest.approx(10.0)


def test_pause_freezes_the_position_at_execute_time() -> None:
    state, _ = step(room(), Command(HOST, "play", 0), 100.0)
    state, events = step(state, cmd(state, HOST, "pause"), 110.0)
    pb = changed(events).playback
    assert pb.paused and pb.version == 2
    assert pb.position == pytest.approx(10.0)  # played from 100.3 to 110.3
    assert state.playback.position_at(500.0) == pytest.approx(10.0)


def test_seek_keeps_playing_or_paused_and_set_rate_scales_time() -> None:
    state, _ = step(room(), Command(HOST, "play", 0), 0.0)
    state, events = step(state, cmd(state, MOD, "seek", position=60.0), 5.0)
    assert not changed(events).playback.paused
    assert state.playback.position_at(5.0 + LEAD + 1) == pytest.approx(61.0)
    state, _ = step(state, cmd(state, MOD, "setRate", rate=2.0), 10.0)
    at = 10.0 + LEAD
    assert state.playback.position_at(at + 1) == pytest.approx(state.playback.position_at(at) + 2.0)


def test_new_media_starts_paused_at_zero_and_ends_a_waiting() -> None:
    state, _ = step(room(), Command(HOST, "play", 0), 0.0)
    state, _ = step(state, Buffering(ANN), 10.0)
    assert state.waiting is not None
    state, events = step(state, SetMedia(9, 120.0, MOD), 50.0)
    ev = changed(events)
    assert (ev.cause, ev.by) == ("media", MOD) and isinstance(events[0], WaitingEnded)
    pb = ev.playback
    assert (pb.media_id, pb.position, pb.paused, pb.rate, pb.duration) == (9, 0.0, True, 1.0, 120.0)
    assert state.waiting is None and not state.viewers[ANN].buffering


@pytest.mark.parametrize(
    ("kw", "action"),
    [
        ({"position": -1.0}, "seek"),
        ({"position": 10**9}, "seek"),
        ({}, "seek"),
        ({"rate": 0.0}, "setRate"),
        ({"rate": 10.0}, "setRate"),
        ({}, "setRate"),
    ],
)
def test_invalid_commands_are_rejected_and_change_nothing(kw: dict[str, object], action: str) -> None:
    state = room()
    after, events = step(state, cmd(state, HOST, action, **kw), 1.0)
    assert after == state
    assert events == [Rejected(HOST, "invalid", 0, events[0].detail)]  # type: ignore[union-attr]


def test_a_stale_version_loses_and_is_told_the_current_one() -> None:
    state = room()
    first = Command(HOST, "play", 0)
    second = Command(MOD, "seek", 0, position=30.0)  # based on the same version, arrives second
    state, _ = step(state, first, 1.0)
    after, events = step(state, second, 1.1)
    assert after == state
    assert events == [Rejected(MOD, "stale_version", 1, events[0].detail)]  # type: ignore[union-attr]


def test_members_do_not_control_unless_the_host_opens_control() -> None:
    state = room()
    after, events = step(state, Command(ANN, "play", 0), 1.0)
    assert after == state and isinstance(events[0], Rejected) and events[0].reason == "forbidden"
    state, events = step(state, AssignControl(True, HOST), 1.0)  # the flow checked that HOST may
    assert events == [ControlChanged(True, HOST)]
    state, events = step(state, Command(ANN, "play", 0), 2.0)
    assert changed(events).by == ANN
    outsider, _ = step(state, Command(99, "pause", 1), 3.0)
    assert outsider == state


def test_an_assigned_role_takes_effect_at_once_and_survives_a_rejoin() -> None:
    state = room()
    state, events = step(state, AssignRole(ANN, "moderator", HOST), 1.0)
    assert events == [RoleChanged(ANN, "moderator", HOST)]
    state, events = step(state, Command(ANN, "play", 0), 2.0)
    assert changed(events).by == ANN
    state, events = step(state, AssignRole(ANN, "member", HOST), 3.0)
    after, events = step(state, Command(ANN, "pause", 1), 3.5)
    assert after == state and isinstance(events[0], Rejected) and events[0].reason == "forbidden"
    # hand-over: the new host commands without reconnecting
    state, _ = step(state, Leave(HOST), 4.0)
    state, _ = step(state, AssignRole(BOB, "host", HOST), 4.0)
    state, events = step(state, Command(BOB, "pause", 1), 5.0)
    assert changed(events).by == BOB


def test_a_laggard_keeps_its_grace_when_it_reconnects() -> None:
    state, _ = step(playing(), Buffering(ANN), 1.0)
    state, _ = step(state, Tick(), 1.0 + P.wait_timeout_ms / 1000)  # the timeout: ANN is a laggard
    grace = state.viewers[ANN].lagging_until
    assert grace > 0
    state, _ = step(state, Join(ANN, "member"), 12.0)  # a reconnect (another socket, a reload)
    assert state.viewers[ANN].lagging_until == grace
    state, events = step(state, Buffering(ANN), 13.0)
    assert state.waiting is None and events == [], "its buffering does not hold the room again"


def test_the_room_stops_at_the_end_of_the_media_for_everyone() -> None:
    state = replace(room(), playback=Playback(media_id=7, duration=5.0))
    state, events = step(state, Command(HOST, "play", 0), 100.0)
    start = changed(events).execute_at
    assert next_deadline(state) == pytest.approx(start + 5.0)
    assert state.playback.position_at(start + 60) == 5.0, "never past the end"
    state, events = step(state, Tick(), start + 4.0)
    assert events == []
    state, events = step(state, Tick(), start + 5.2)
    ev = changed(events)
    assert ev.cause == "ended" and ev.execute_at == pytest.approx(start + 5.0), "the instant it got there"
    assert ev.playback.paused and ev.playback.position == 5.0 and next_deadline(state) is None
    assert skew_ms(state.playback, 5.0, start + 30) == 0.0, "a viewer at the end is not drifting"
    # a seek past the end lands on it; play at the end starts again from 0
    state, events = step(state, Command(HOST, "seek", state.playback.version, position=99.0), start + 31)
    assert changed(events).playback.position == 5.0
    state, events = step(state, Command(HOST, "play", state.playback.version), start + 32)
    assert changed(events).playback.position == 0.0 and not state.playback.paused


def test_a_duration_from_a_player_is_taken_once_and_only_for_the_current_media() -> None:
    state = room()
    state, _ = step(state, MediaDuration(8, 30.0), 1.0)
    assert state.playback.duration is None
    state, _ = step(state, MediaDuration(7, 30.0), 1.0)
    state, _ = step(state, MediaDuration(7, 99.0), 1.0)
    assert state.playback.duration == 30.0


def playing() -> RoomState:
    state, _ = step(room(), Command(HOST, "play", 0), 0.0)
    return state


def test_a_buffering_viewer_holds_the_room_until_ready() -> None:
    state, events = step(playing(), Buffering(ANN), 10.0)
    assert isinstance(events[0], WaitingStarted) and events[0].deadline == 10.0 + P.wait_timeout_ms / 1000
    held = changed(events).playback
    assert held.paused and held.position == pytest.approx(10.0)
    state, events = step(state, Buffering(BOB), 11.0)
    assert events == [] and state.waiting is not None and state.waiting.buffering == {ANN, BOB}
    state, events = step(state, Ready(ANN), 12.0)
    assert events == [] and state.waiting is not None
    state, events = step(state, Ready(BOB), 13.0)
    assert events[0] == WaitingEnded("ready")
    resumed = changed(events).playback
    assert not resumed.paused and resumed.position == pytest.approx(10.0) and resumed.anchor == 13.0 + LEAD


def test_waiting_ends_at_the_timeout_and_the_laggard_catches_up_alone() -> None:
    state, _ = step(playing(), Buffering(ANN), 10.0)
    deadline = 10.0 + P.wait_timeout_ms / 1000
    same, events = step(state, Tick(), deadline - 0.001)
    assert events == [] and same == state
    state, events = step(state, Tick(), deadline)
    assert events[0] == WaitingEnded("timeout", frozenset({ANN}))
    assert changed(events).cause == "timeout" and not state.playback.paused
    # the laggard buffers again soon after: the room does not stop for them again
    after, events = step(state, Buffering(ANN), deadline + 1)
    assert events == [] and after.waiting is None and not after.playback.paused
    # much later it would
    _, events = step(state, Buffering(ANN), deadline + P.lag_grace_ms / 1000 + 1)
    assert isinstance(events[0], WaitingStarted)


def test_a_buffering_viewer_who_leaves_releases_the_room() -> None:
    state, _ = step(playing(), Buffering(BOB), 5.0)
    state, events = step(state, Leave(BOB), 6.0)
    assert events[0] == WaitingEnded("left") and not state.playback.paused and BOB not in state.viewers


def test_pause_during_waiting_ends_it_and_seek_sets_where_it_resumes() -> None:
    state, _ = step(playing(), Buffering(ANN), 5.0)
    sought, events = step(state, cmd(state, HOST, "seek", position=100.0), 6.0)
    assert changed(events).playback.paused and sought.waiting is not None
    resumed, events = step(sought, Ready(ANN), 7.0)
    assert resumed.playback.position_at(7.0 + LEAD + 2) == pytest.approx(102.0)
    paused, events = step(state, cmd(state, HOST, "pause"), 6.0)
    assert events[0] == WaitingEnded("ready") and paused.waiting is None and paused.playback.paused


def test_buffering_while_paused_holds_nothing() -> None:
    state, events = step(room(), Buffering(ANN), 1.0)
    assert events == [] and state.waiting is None and state.viewers[ANN].buffering


def test_versions_only_grow() -> None:
    state = room()
    versions = [0]
    script: list[tuple[Message, float]] = [
        (Command(HOST, "play", 0), 1.0),
        (Buffering(ANN), 2.0),
        (Ready(ANN), 3.0),
        (Command(HOST, "pause", 3), 4.0),
        (SetMedia(3, None, HOST), 5.0),
    ]
    for message, now in script:
        state, _ = step(state, message, now)
        versions.append(state.playback.version)
    assert versions == sorted(versions) and len(set(versions)) == len(versions)


def test_skew_is_measured_against_the_room_clock() -> None:
    pb = replace(Playback(), position=10.0, anchor=100.0, paused=False)
    assert skew_ms(pb, 15.05, 105.0) == pytest.approx(50.0)
    assert skew_ms(pb, 14.9, 105.0) == pytest.approx(-100.0)
