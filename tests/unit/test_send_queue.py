"""The per-connection send queue is bounded by bytes: an arrival storm of small presence events fits, a pile of
chat messages for a client that stopped reading does not (it is dropped with 4010, and its queue freed)."""

from __future__ import annotations

from typing import Any

import orjson

from watchparty.sync import protocol
from watchparty.sync.ws import SEND_QUEUE_BYTES, Connection


def connection() -> Connection:
    conn = Connection(ws=None, room_id=1, user_id=2)  # type: ignore[arg-type] # the sender is not run here
    conn.go_live()
    return conn


def presence(i: int) -> bytes:
    item: dict[str, Any] = {"type": "presence", "event": "join", "user": {"id": i, "username": f"viewer{i}"}}
    return orjson.dumps({**item, "seq": i})


async def test_a_storm_of_500_arrivals_fits() -> None:
    conn = connection()
    for i in range(1, 501):
        conn.deliver(presence(i), i)
    assert conn.closing is None
    assert conn.queue.qsize() == 500
    assert conn.queued_bytes == sum(len(presence(i)) for i in range(1, 501))


async def test_a_reader_that_stopped_is_dropped_and_its_queue_freed() -> None:
    conn = connection()
    chat = orjson.dumps({"type": "chat", "message": {"content": "x" * 2000}})
    for seq in range(1, SEND_QUEUE_BYTES // len(chat) + 2):
        conn.deliver(chat, seq)
    assert conn.closing == protocol.CLOSE_SLOW
    assert conn.queue.qsize() == 1 and conn.queue.get_nowait() == protocol.CLOSE_SLOW  # only the close is left
    conn.deliver(chat, 10_000)  # nothing more is queued for a connection on its way out
    assert conn.queue.empty()


async def test_an_error_is_sent_before_the_close_it_explains() -> None:
    conn = connection()
    conn.send({"type": "error", "code": "invalid", "message": "the first message must be hello"})
    conn.kick(1008)
    first, second = conn.queue.get_nowait(), conn.queue.get_nowait()
    assert isinstance(first, bytes) and orjson.loads(first)["type"] == "error"
    assert second == 1008


def test_room_state_round_trips_through_its_stored_form() -> None:
    from watchparty.sync import engine
    from watchparty.sync.hub import decode_state, encode_state

    state = engine.RoomState(
        playback=engine.Playback(
            media_id=7, position=12.5, anchor=1795700000.3, rate=1.25, paused=False, version=4, duration=600.0
        ),
        viewers={
            i: engine.Viewer(i, "member", buffering=i == 3, lagging_until=9.5 if i == 4 else 0.0) for i in range(500)
        },
        waiting=engine.Waiting(since=1.0, deadline=11.0, buffering=frozenset({3})),
        open_control=True,
        epoch="a1b2c3d4",
    )
    assert decode_state(encode_state(state)) == state
