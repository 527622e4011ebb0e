"""The playlist's rules, pure (ADR 0015): which item comes after, before or next; where an added item goes; the
order of vote mode; shuffling; the vote-skip threshold. No I/O: lists of item ids in, item ids out, so that the
flows, the engine's inputs and the tests agree on one definition.

The order is the list everyone sees. Items stay in it after they play (so that `previous` and loop "all" work);
the items *after* the current one are the ones still to come. In vote mode those are ordered by their votes, most
first, ties by age (the older first); what has played, and the current item, keep their places.
"""

from __future__ import annotations

import math
import random
from collections.abc import Mapping, Sequence
from typing import Final, Literal

Mode = Literal["manual", "vote"]
Loop = Literal["off", "one", "all"]
Where = Literal["end", "next"]

MODES: Final[tuple[Mode, ...]] = ("manual", "vote")
LOOPS: Final[tuple[Loop, ...]] = ("off", "one", "all")
MAX_ITEMS: Final = 500  # a room's list (Syncplay keeps 250, CyTube 4,000): bounds every event and every shuffle
MAX_IMPORT: Final = 200  # lines of one import
DEFAULT_QUEUE_CAP: Final = 20  # items a member may have waiting to play
DEFAULT_SKIP_RATIO: Final = 0.5


def index_of(order: Sequence[int], item_id: int | None) -> int | None:
    if item_id is None:
        return None
    try:
        return order.index(item_id)
    except ValueError:
        return None


def after(order: Sequence[int], current: int | None, loop: Loop) -> int | None:
    """What plays when the current item ends by itself: itself (loop one), the next one, the first one again
    (loop all), or nothing (the room stops at the end)."""
    i = index_of(order, current)
    if i is None:
        return None
    if loop == "one":
        return current
    if i + 1 < len(order):
        return order[i + 1]
    return order[0] if loop == "all" else None


def next_of(order: Sequence[int], current: int | None, loop: Loop) -> int | None:
    """What `next` moves to: the following item even in loop one (a person asked to move on), wrapping round when
    the list loops; None at the end of a list that does not loop."""
    i = index_of(order, current)
    if i is None:
        return order[0] if order else None
    if i + 1 < len(order):
        return order[i + 1]
    return order[0] if loop != "off" else None


def previous_of(order: Sequence[int], current: int | None, loop: Loop) -> int | None:
    """What `previous` moves to: the item before, the last one when a looping list is at its start, else the
    current item again (from its start)."""
    i = index_of(order, current)
    if i is None:
        return order[-1] if order else None
    if i > 0:
        return order[i - 1]
    return order[-1] if loop != "off" else current


def insert_index(order: Sequence[int], current: int | None, where: Where) -> int:
    """Where an added item goes: at the end, or right after the current item ("next"; the top when nothing
    plays)."""
    if where == "end":
        return len(order)
    i = index_of(order, current)
    return 0 if i is None else i + 1


def upcoming(order: Sequence[int], current: int | None) -> list[int]:
    """The items still to come: those after the current one (all of them when nothing plays)."""
    i = index_of(order, current)
    return list(order) if i is None else list(order[i + 1 :])


def by_votes(
    order: Sequence[int], current: int | None, votes: Mapping[int, int], age: Mapping[int, tuple[float, int]]
) -> list[int]:
    """Vote mode's order: the items up to the current one as they are, then the rest by votes (most first), ties
    by age (`age`: item -> (added at, id), the older first)."""
    i = index_of(order, current)
    head = [] if i is None else list(order[: i + 1])
    rest = upcoming(order, current)
    return head + sorted(rest, key=lambda item: (-votes.get(item, 0), age[item]))


def shuffled(order: Sequence[int], current: int | None, rng: random.Random) -> list[int]:
    """The items still to come in a random order; what has played and the current item keep their places."""
    i = index_of(order, current)
    head = [] if i is None else list(order[: i + 1])
    rest = upcoming(order, current)
    rng.shuffle(rest)
    return head + rest


def moved(order: Sequence[int], item_id: int, index: int) -> list[int]:
    """The order with `item_id` at `index` (clamped to the list)."""
    rest = [i for i in order if i != item_id]
    at = max(0, min(index, len(rest)))
    return [*rest[:at], item_id, *rest[at:]]


def skips_needed(voters: int, ratio: float) -> int:
    """How many skip votes skip the current item, of `voters` members present who may vote: at least `ratio` of
    them, and at least one."""
    return max(1, math.ceil(ratio * voters - 1e-9))
