"""Client frames are parsed strictly; server shapes match docs/protocol.md."""

from __future__ import annotations

import pytest

from watchparty.sync import protocol
from watchparty.sync.engine import Playback, SyncParams


def test_valid_messages_parse() -> None:
    cmd = protocol.parse('{"type": "command", "action": "seek", "baseVersion": 4, "position": 3.0}')
    assert isinstance(cmd, protocol.CommandIn) and (cmd.base_version, cmd.position) == (4, 3.0)
    hello = protocol.parse(b'{"type": "hello", "v": 1, "lastSeq": 41}')
    assert isinstance(hello, protocol.Hello) and hello.last_seq == 41
    report = protocol.parse(
        '{"type": "report", "position": 15.02, "serverTime": 1795700002800.5, "rtt": 42, "offset": -1830.2,'
        ' "paused": false}'
    )
    assert isinstance(report, protocol.Report) and report.rtt == 42


@pytest.mark.parametrize(
    ("frame", "code"),
    [
        ("{not json", "bad_json"),
        ('{"type": "dance"}', "unknown_type"),
        ('{"action": "play"}', "unknown_type"),
        ('{"type": "command", "action": "jump", "baseVersion": 1}', "invalid"),
        ('{"type": "command", "action": "play", "baseVersion": -1}', "invalid"),
        ('{"type": "command", "action": "setRate", "baseVersion": 1, "rate": 100}', "invalid"),
        ('{"type": "ready", "extra": 1}', "invalid"),
        ('{"type": "chat", "content": ""}', "invalid"),
        ('{"type": "chat", "content": "' + "x" * 17000 + '"}', "too_big"),
        ('{"type": "setRole", "userId": 2, "role": "host"}', "invalid"),
    ],
)
def test_bad_frames_get_a_code(frame: str, code: str) -> None:
    with pytest.raises(protocol.BadMessage) as caught:
        protocol.parse(frame)
    assert caught.value.code == code


def test_server_shapes() -> None:
    pb = Playback(media_id=7, position=12.5, anchor=1795700000.3, rate=1.0, paused=False, version=4)
    assert protocol.state(pb) == {
        "mediaId": 7,
        "position": 12.5,
        "anchorServerTime": 1795700000300.0,
        "rate": 1.0,
        "paused": False,
        "version": 4,
    }
    assert protocol.params(SyncParams())["seekFromMs"] == 400


def test_a_state_read_back_from_the_wire_is_the_same_playback() -> None:
    from watchparty.sync.engine import Playback
    from watchparty.sync.protocol import playback_from_wire, state

    pb = Playback(media_id=7, position=12.5, anchor=1_795_700_000.3, rate=1.25, paused=False, version=4)
    back = playback_from_wire(state(pb))
    assert back.version == pb.version and back.media_id == 7 and back.rate == 1.25 and not back.paused
    assert abs(back.anchor - pb.anchor) < 1e-6 and back.position_at(pb.anchor + 2) == pb.position_at(pb.anchor + 2)
