"""Client frames are parsed strictly; server shapes match docs/protocol.md."""

from __future__ import annotations

import re
from pathlib import Path

import orjson
import pytest
from pydantic import ValidationError

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
        "duration": None,
        "itemId": None,
    }
    assert protocol.params(SyncParams())["seekFromMs"] == 400


def test_a_state_read_back_from_the_wire_is_the_same_playback() -> None:
    from watchparty.sync.engine import Playback
    from watchparty.sync.protocol import playback_from_wire, state

    pb = Playback(media_id=7, position=12.5, anchor=1_795_700_000.3, rate=1.25, paused=False, version=4)
    back = playback_from_wire(state(pb))
    assert back.version == pb.version and back.media_id == 7 and back.rate == 1.25 and not back.paused
    assert abs(back.anchor - pb.anchor) < 1e-6 and back.position_at(pb.anchor + 2) == pb.position_at(pb.anchor + 2)


def test_every_builder_makes_a_message_its_definition_accepts() -> None:
    pb = Playback(media_id=7, position=12.5, anchor=1795700000.3, rate=1.0, paused=False, version=4, duration=30.0)
    you = protocol.you(3, "moderator", open_control=False)
    assert protocol.validate_server(orjson.dumps(you)).type == "you"
    assert you["can"]["control"] and you["can"]["changeMedia"] and not you["can"]["setRole"]
    state = {"type": "state", "seq": 4, "state": protocol.state(pb), "executeAt": 1.0, "cause": "ended", "by": None}
    assert protocol.validate_server(orjson.dumps(state)).type == "state"
    assert protocol.validate_server(orjson.dumps(protocol.error("rate_limited", "slow down"))).type == "error"
    with pytest.raises(ValidationError):  # an undocumented field is an error, not a silent extra
        protocol.validate_server(orjson.dumps({**state, "extra": 1}))


def _doc_table(heading: str) -> dict[str, str]:
    """The rows of the table under `heading` in docs/protocol.md: first cell (without backticks) -> second."""
    text = (Path(__file__).resolve().parents[2] / "docs" / "protocol.md").read_text()
    section = text.split(heading, 1)[1].split("\n## ", 1)[0]
    rows = {}
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if line.startswith("|") and len(cells) >= 2 and cells[0][:1] in ("`", *"0123456789"):
            rows[cells[0].strip("`")] = cells[1]
    return rows


def test_docs_list_every_server_message_with_exactly_its_fields() -> None:
    documented = _doc_table("## Messages from the server")
    assert set(documented) == set(protocol.SERVER_MESSAGES)
    for kind, model in protocol.SERVER_MESSAGES.items():
        fields = {f.alias or name for name, f in model.model_fields.items()} - {"type"}
        named = set(re.findall(r"`(\w+)`", documented[kind]))
        assert fields <= named, (kind, fields - named)


def test_docs_list_every_client_message_and_close_code() -> None:
    documented = _doc_table("## Messages from the client")
    kinds = {m.model_fields["type"].annotation.__args__[0] for m in protocol.ClientMessage.__args__[0].__args__}
    assert set(documented) == kinds
    codes = _doc_table("## Close codes (after accept)")
    assert {int(c) for c in codes} == set(protocol.CLOSE_CODES)
