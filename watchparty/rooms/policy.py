"""Who may do what in a room: role × action, in one pure module (ADR 0014).

The REST services, the socket handlers, the sync engine and the socket's `welcome` (`you.can`) all ask here, so
that a rule is written once and the web client never hard-codes a role set. No I/O, no framework: a function of
the caller's role in the room and the room's settings.
"""

from __future__ import annotations

from typing import Final, Literal, get_args

Role = Literal["host", "moderator", "member", "guest"]
Action = Literal[
    "control",
    "changeMedia",
    "setRole",
    "openControl",
    "editRoom",
    "deleteRoom",
    "addItem",
    "editPlaylist",
    "vote",
    "voteSkip",
    "kick",
    "ban",
    "mute",
    "moderationLog",
    "handOver",
    "moderateChat",
]
# The moderation actions, in the words a refusal uses ("you cannot kick yourself").
Moderation = Literal["kick", "ban", "mute"]

ROLES: Final[tuple[Role, ...]] = get_args(Role)
ACTIONS: Final[tuple[Action, ...]] = get_args(Action)

# The roles a role may give with setRole: the host makes moderators and members; the host role itself moves by
# hand-over (the host leaves, or hands the room over: `handOver`), never by setRole.
ASSIGNABLE: Final[frozenset[Role]] = frozenset({"moderator", "member"})

_BY_ROLE: Final[dict[Role, frozenset[Action]]] = {
    "host": frozenset(ACTIONS),
    "moderator": frozenset(
        {
            "control",
            "changeMedia",
            "addItem",
            "editPlaylist",
            "vote",
            "voteSkip",
            "kick",
            "ban",
            "mute",
            "moderationLog",
            "moderateChat",
        }
    ),
    "member": frozenset({"vote", "voteSkip"}),
    "guest": frozenset({"vote", "voteSkip"}),  # below member: `membersAdd` does not reach guests
}


def allowed(role: Role | str | None, action: Action, *, open_control: bool = False, members_add: bool = False) -> bool:
    """Whether a member with `role` (None: not a member) may do `action`. Two room settings widen it: open control
    lets every member control playback (play, pause, seek, rate, next, previous), and nothing more; `members_add`
    lets every member (not a guest) add items to the playlist (and remove their own)."""
    if role not in _BY_ROLE:
        return False
    if action == "control" and open_control:
        return True
    if action == "addItem" and members_add and role != "guest":
        return True
    return action in _BY_ROLE[role]


def can(role: Role | str | None, *, open_control: bool = False, members_add: bool = False) -> dict[Action, bool]:
    """Every action with its answer, as `welcome.you.can` carries it."""
    return {action: allowed(role, action, open_control=open_control, members_add=members_add) for action in ACTIONS}


def may_assign(asker: Role | str | None, target_current: Role | str | None, new_role: Role | str) -> str | None:
    """Why `asker` may not give `new_role` to a member whose role is `target_current`, or None if it may."""
    if not allowed(asker, "setRole"):
        return "only the host changes roles"
    if target_current is None:
        return "no such member in this room"
    if new_role not in ASSIGNABLE:
        return "the host role is handed over, not assigned"
    if target_current == "host":
        return "the host's role changes only by hand-over"
    return None


def may_moderate(
    asker: Role | str | None, action: Moderation, target: Role | str | None, *, itself: bool, admin: bool
) -> str | None:
    """Why `asker` may not `action` a person whose role in the room is `target` (None: not a member; a ban still
    reaches them), or None if it may. Nobody moderates themselves, the host or a site administrator; only the host
    moderates a moderator. The caller has checked `allowed(asker, action)`."""
    if itself:
        return f"you cannot {action} yourself"
    if admin:
        return f"a site administrator cannot be {_DONE[action]}"
    if target == "host":
        return f"the host cannot be {_DONE[action]}; the host role moves by hand-over"
    if target == "moderator" and asker != "host":
        return f"only the host can {action} a moderator"
    return None


_DONE: Final[dict[str, str]] = {"kick": "kicked", "ban": "banned", "mute": "muted"}


def may_hand_over(asker: Role | str | None, target: Role | str | None, *, itself: bool) -> str | None:
    """Why `asker` may not make `target` (their role; None: not a member) the host, or None if it may."""
    if itself:
        return "you are the host already"
    if target is None:
        return "only a member of the room can become its host"
    if target == "guest":
        return "a guest cannot host a room; they can sign up first"
    return None
