"""The engine's side of the playlist (ADR 0015), on a fake clock: moving on at the end with no dead air, loops,
next and previous from the flows, vote-skip counted over the viewers present, and late playlist messages."""

from __future__ import annotations

from collections.abc import Sequence

from watchparty.sync.engine import (
    Away,
    Command,
    Item,
    Join,
    Leave,
    Playback,
    Rejected,
    RoomState,
    SetMedia,
    SetQueue,
    SkipVotes,
    StateChanged,
    SyncParams,
    Tick,
    VoteSkip,
    next_deadline,
    step,
)

P = SyncParams()
LEAD = P.lead_ms / 1000
AHEAD = P.advance_ms / 1000
HOST, MOD, ANN, BOB, CAT = 1, 2, 3, 4, 5
FIRST, SECOND, THIRD = Item(11, 101, 20.0), Item(12, 102, 30.0), Item(13, 103, 40.0)
END1 = 20.0  # FIRST's duration


def playing(after: Item | None = SECOND, *, members: int = 3) -> RoomState:
    """A room playing FIRST from 0 at t=0, with SECOND after it."""
    pb = Playback(media_id=FIRST.media_id, item_id=FIRST.item_id, duration=FIRST.duration, paused=False, version=1)
    state = RoomState(playback=pb, after=after, queue_version=5)
    roles = (("host", HOST), ("moderator", MOD), ("member", ANN), ("member", BOB), ("member", CAT))[:members]
    for role, user in roles:
        state, _ = step(state, Join(user, role), 0.0)  # type: ignore[arg-type]
    return state


def reasons(events: Sequence[object]) -> list[str]:
    return [e.reason for e in events if isinstance(e, Rejected)]


def changed(events: Sequence[object]) -> StateChanged:
    found = [e for e in events if isinstance(e, StateChanged)]
    assert len(found) == 1, events
    return found[0]


def test_the_room_moves_to_the_next_item_ahead_of_the_end_to_start_it_at_the_end() -> None:
    state = playing()
    assert next_deadline(state, P) == END1 - AHEAD  # the transition is made ahead of the end ...
    early, events = step(state, Tick(), END1 - AHEAD - 0.01, P)
    assert events == [] and early == state
    state, events = step(state, Tick(), END1 - AHEAD, P)
    ev = changed(events)
    assert ev.cause == "advance" and ev.by is None
    assert ev.execute_at == END1  # ... so that it takes effect the instant the old item ends: no dead air
    pb = state.playback
    assert (pb.item_id, pb.media_id, pb.duration, pb.position, pb.paused) == (12, 102, 30.0, 0.0, False)
    assert pb.anchor == END1 and pb.version == 2
    assert state.after is None  # what comes after SECOND is the playlist's to say (SetQueue)


def test_a_late_timer_still_moves_on_but_never_into_the_past() -> None:
    state = playing()
    state, events = step(state, Tick(), END1 + 2.0, P)  # a busy machine fired 2 s late
    ev = changed(events)
    assert ev.execute_at == END1 + 2.0 + LEAD and state.playback.position == 0.0


def test_with_nothing_after_the_room_stops_at_the_end() -> None:
    state = playing(after=None)
    assert next_deadline(state, P) == END1
    state, events = step(state, Tick(), END1, P)
    assert changed(events).cause == "ended" and state.playback.paused and state.playback.at_end()


def test_loop_one_plays_the_same_item_again_and_keeps_it_next() -> None:
    state = playing(after=FIRST)  # the playlist says FIRST follows FIRST: loop one (or loop all of one item)
    for round_ in range(3):
        end = state.playback.ends_at()
        assert end is not None and end == END1 * (round_ + 1)
        state, events = step(state, Tick(), end - AHEAD, P)
        assert changed(events).cause == "advance" and state.playback.item_id == FIRST.item_id
        assert state.after == FIRST and state.playback.anchor == end


def test_a_list_that_ran_out_goes_on_when_an_item_is_added() -> None:
    state = playing(after=None)
    state, _ = step(state, Tick(), END1, P)
    state, events = step(state, SetQueue(THIRD, 6, 0.5, True), 25.0, P)
    ev = changed(events)
    assert ev.cause == "advance" and state.playback.item_id == THIRD.item_id and not state.playback.paused
    assert ev.execute_at == 25.0 + LEAD


def test_a_late_playlist_message_changes_nothing() -> None:
    state = playing()
    same, events = step(state, SetQueue(THIRD, 5, 0.5, True), 1.0, P)  # version 5 is the one the room has
    assert same == state and events == []
    newer, _ = step(state, SetQueue(THIRD, 6, 0.5, True), 1.0, P)
    assert newer.after == THIRD and newer.queue_version == 6
    late = SetMedia(THIRD.media_id, THIRD.duration, HOST, THIRD.item_id, None, True, 5, "skip")
    assert step(newer, late, 1.0, P) == (newer, [])


def test_next_from_the_flows_keeps_the_room_playing_and_a_paused_room_paused() -> None:
    state = playing()
    msg = SetMedia(SECOND.media_id, SECOND.duration, HOST, SECOND.item_id, THIRD, True, 6, "skip")
    moved, events = step(state, msg, 5.0, P)
    ev = changed(events)
    assert ev.cause == "skip" and ev.by == HOST and not moved.playback.paused
    assert moved.playback.item_id == SECOND.item_id and moved.after == THIRD and moved.queue_version == 6
    paused, _ = step(state, Command(HOST, "pause", state.playback.version), 4.0, P)
    moved, _ = step(paused, msg, 5.0, P)
    assert moved.playback.paused and moved.playback.position == 0.0
    media = SetMedia(SECOND.media_id, SECOND.duration, HOST, SECOND.item_id, THIRD, False, 7, "media")
    moved, events = step(state, media, 5.0, P)  # changeMedia: from 0, paused, as before the playlist
    assert changed(events).cause == "media" and moved.playback.paused


def test_vote_skip_counts_only_the_viewers_present_who_may_vote() -> None:
    state = playing(members=5)  # host, moderator and three members: five voters, 3 needed at 0.5
    state, events = step(state, VoteSkip(ANN, FIRST.item_id, True), 1.0, P)
    assert events == [SkipVotes(FIRST.item_id, frozenset({ANN}), 3)]
    state, events = step(state, Away(CAT, True), 1.1, P)  # CAT stops watching: four count, 2 needed
    assert events == [SkipVotes(FIRST.item_id, frozenset({ANN}), 2)]
    state, events = step(state, Leave(BOB), 1.2, P)  # BOB leaves: three count, still 2 needed
    assert events == []
    state, events = step(state, VoteSkip(MOD, FIRST.item_id, True), 2.0, P)
    ev = changed(events)
    assert ev.cause == "skip" and state.playback.item_id == SECOND.item_id and state.skip_votes == frozenset()


def test_a_vote_of_someone_who_left_stops_counting() -> None:
    state = playing(members=4)  # four voters: 2 needed
    state, _ = step(state, VoteSkip(BOB, FIRST.item_id, True), 1.0, P)
    state, events = step(state, Leave(BOB), 1.5, P)
    assert events == [SkipVotes(FIRST.item_id, frozenset(), 2)] and state.skip_votes == frozenset()
    state, events = step(state, VoteSkip(ANN, FIRST.item_id, True), 2.0, P)
    assert events == [SkipVotes(FIRST.item_id, frozenset({ANN}), 2)]


def test_the_room_going_below_the_threshold_skips_when_someone_leaves() -> None:
    state = playing(members=4)  # 2 needed of four
    state, _ = step(state, VoteSkip(ANN, FIRST.item_id, True), 1.0, P)
    state, _ = step(state, Leave(BOB), 1.1, P)  # three: 2 needed
    state, events = step(state, Leave(MOD), 1.2, P)  # two (host, ANN): 1 needed, and ANN voted
    assert changed(events).cause == "skip" and state.playback.item_id == SECOND.item_id


def test_a_vote_on_another_item_or_from_a_stranger_is_rejected_and_changes_nothing() -> None:
    state = playing()
    same, events = step(state, VoteSkip(ANN, SECOND.item_id, True), 1.0, P)
    assert same == state and reasons(events) == ["invalid"]
    same, events = step(state, VoteSkip(99, FIRST.item_id, True), 1.0, P)
    assert same == state and reasons(events) == ["forbidden"]


def test_a_skip_with_nothing_after_stops_at_the_end() -> None:
    state = playing(after=None, members=2)
    state, _ = step(state, VoteSkip(HOST, FIRST.item_id, True), 3.0, P)
    state, events = step(state, VoteSkip(MOD, FIRST.item_id, True), 3.0, P)
    assert changed(events).cause == "skip" and state.playback.at_end()


def test_taking_a_vote_back_and_the_ratio_setting() -> None:
    state = playing(members=4)
    state, _ = step(state, VoteSkip(ANN, FIRST.item_id, True), 1.0, P)
    state, events = step(state, VoteSkip(ANN, FIRST.item_id, False), 1.1, P)
    assert events == [SkipVotes(FIRST.item_id, frozenset(), 2)]
    state, _ = step(state, VoteSkip(ANN, FIRST.item_id, True), 1.2, P)
    state, events = step(state, SetQueue(SECOND, 6, 0.25, True), 1.3, P)  # a quarter of four: one vote skips
    assert changed(events).cause == "skip"


def test_a_vote_skip_in_a_paused_room_moves_on_paused() -> None:
    state = playing(members=3)  # 2 of 3 needed
    state, _ = step(state, Command(HOST, "pause", state.playback.version), 3.0, P)
    state, _ = step(state, VoteSkip(HOST, FIRST.item_id, True), 4.0, P)
    state, events = step(state, VoteSkip(MOD, FIRST.item_id, True), 4.0, P)
    assert changed(events).cause == "skip" and state.playback.item_id == SECOND.item_id and state.playback.paused
