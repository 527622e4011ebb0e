"""A room's word filter (ADR 0016), pure: the verdict on a message's text, and the text to store.

Words match whole (not inside other words), in any case; a phrase matches as written. "mask" stores the message
with each match replaced by asterisks; "block" refuses it.
"""

from __future__ import annotations

import re
from typing import Final, Literal

FilterMode = Literal["mask", "block"]
Verdict = Literal["clean", "masked", "blocked"]
MAX_WORDS: Final = 100
MAX_WORD_LENGTH: Final = 40


def _pattern(words: list[str]) -> re.Pattern[str] | None:
    alternatives = sorted({w.strip().lower() for w in words if w.strip()}, key=len, reverse=True)
    if not alternatives:
        return None
    return re.compile(r"(?<!\w)(?:" + "|".join(re.escape(w) for w in alternatives) + r")(?!\w)", re.IGNORECASE)


def judge(text: str, words: list[str], mode: FilterMode | str) -> tuple[Verdict, str]:
    """What the filter does to `text`: ("clean", text), ("masked", the masked text) or ("blocked", text)."""
    pattern = _pattern(words)
    if pattern is None or not pattern.search(text):
        return "clean", text
    if mode == "block":
        return "blocked", text
    return "masked", pattern.sub(lambda m: "*" * len(m.group(0)), text)
