"""The word filter, pure (rooms/chat_rules.py)."""

from __future__ import annotations

import pytest

from watchparty.rooms import chat_rules


@pytest.mark.parametrize(
    ("text", "words", "mode", "expected"),
    [
        ("all fine", ["darn"], "mask", ("clean", "all fine")),
        ("Darn it", ["darn"], "mask", ("masked", "**** it")),
        ("darning socks", ["darn"], "mask", ("clean", "darning socks")),  # whole words only
        ("a bad word, a BAD  word", ["bad word"], "mask", ("masked", "a ********, a BAD  word")),
        ("darn", ["darn"], "block", ("blocked", "darn")),
        ("ça alors", ["ça"], "mask", ("masked", "** alors")),  # any script
        ("x.y", ["."], "mask", ("clean", "x.y")),  # a word of punctuation is escaped, and not inside a word
        ("anything", [], "block", ("clean", "anything")),
        ("anything", ["  "], "block", ("clean", "anything")),
    ],
)
def test_judge(text: str, words: list[str], mode: str, expected: tuple[str, str]) -> None:
    assert chat_rules.judge(text, words, mode) == expected
