"""Moderation flows: kick, ban, mute, the host hand-over, and the audit log that can undo them (ADR 0016).

Like every room flow (ADR 0014), each checks the room policy, writes the database (the sanction, the membership
and one log entry), and registers what the live room must learn: a removed person's sockets close with 4003 on
every process once the unit of work commits, told why first; the room hears a `moderation` event. A mute needs
nothing live: chat asks the database (rooms.service.refuse_muted) before it stores a message, on every process.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from watchparty.core.cache import invalidate
from watchparty.core.clock import epoch_ms, iso_z, utcnow
from watchparty.core.realtime import MemberGone, RoleSet, live_change, room_event
from watchparty.models import MemberRole, ModerationEntry, Room, RoomMember, RoomSanction, User, UserRole
from watchparty.rooms import chat_rules, policy, repository, service
from watchparty.rooms.errors import (
    CannotModerate,
    EntryNotFound,
    MemberNotFound,
    NotAllowed,
    NotReversible,
    NotSanctioned,
    RoomFull,
    UserNotFound,
)
from watchparty.rooms.schemas import (
    ChatRulesIn,
    ChatRulesRead,
    FilterTestIn,
    FilterTestRead,
    HostIn,
    KickIn,
    ModerationEntryRead,
    SanctionIn,
    SanctionRead,
)
from watchparty.users import service as users_service

_REMOVED = {"kick": "You were removed from this room", "ban": "You are banned from this room"}


async def _asker(session: AsyncSession, room_id: int, user: User, action: policy.Action) -> tuple[Room, RoomMember]:
    room, member = await service.member_room(session, room_id, user, for_update=True)
    if not policy.allowed(member.role.value, action):
        raise NotAllowed()
    return room, member


async def _target(
    session: AsyncSession, room_id: int, asker: RoomMember, action: policy.Moderation, target_id: int
) -> tuple[User, RoomMember | None]:
    """The person an action is aimed at, and their membership; refused by the policy's targeting rules."""
    target = await users_service.get_user(session, target_id)
    if target is None:
        raise UserNotFound()
    member = await repository.get_member(session, room_id, target_id)
    why = policy.may_moderate(
        asker.role.value,
        action,
        member.role.value if member else None,
        itself=target_id == asker.user_id,
        admin=target.role == UserRole.ADMIN,
    )
    if why is not None:
        raise CannotModerate(why)
    return target, member


def _announce(session: AsyncSession, room_id: int, entry: ModerationEntry, until: datetime | None = None) -> None:
    """The room hears it: who did what to whom (not the reason, which is the log's and the person's)."""
    event = {
        "type": "moderation",
        "action": entry.action,
        "userId": entry.target_id,
        "by": entry.actor_id,
        "until": None if until is None else epoch_ms(until),
    }
    room_event(session, room_id, event)


def _remove(session: AsyncSession, room_id: int, user_id: int, kind: str, reason: str | None) -> None:
    text = _REMOVED[kind] + (f": {reason}" if reason else "")
    live_change(session, room_id, MemberGone(user_id, error=(f"{kind}ed" if kind == "kick" else "banned", text)))
    invalidate(session, "rooms", f"room:{room_id}")


async def kick(session: AsyncSession, user: User, room_id: int, target_id: int, data: KickIn) -> ModerationEntryRead:
    """Remove a member: every socket of theirs in the room closes with 4003, on every process. They may join again
    (a ban keeps them out)."""
    room, asker = await _asker(session, room_id, user, "kick")
    _, member = await _target(session, room_id, asker, "kick", target_id)
    if member is None:
        raise MemberNotFound()
    await repository.delete_member(session, room_id, target_id)
    entry = service.record(session, room_id, user.id, "kick", target_id, {"role": member.role.value,
                                                                          "reason": data.reason})  # fmt: skip
    room.last_activity_at = utcnow()
    await session.flush()
    _remove(session, room_id, target_id, "kick", data.reason)
    _announce(session, room_id, entry)
    return (await _reads(session, [entry]))[0]


async def _sanction(
    session: AsyncSession, user: User, room_id: int, kind: policy.Moderation, data: SanctionIn
) -> tuple[ModerationEntry, RoomMember | None, datetime | None]:
    _, asker = await _asker(session, room_id, user, kind)
    target, member = await _target(session, room_id, asker, kind, data.user_id)
    entry, until = await _impose(
        session, room_id, target, kind, data.duration_seconds, data.reason, actor_id=user.id, member=member
    )
    return entry, member, until


async def _impose(
    session: AsyncSession,
    room_id: int,
    target: User,
    kind: policy.Moderation,
    seconds: int | None,
    reason: str | None,
    *,
    actor_id: int | None,
    member: RoomMember | None = None,
) -> tuple[ModerationEntry, datetime | None]:
    """Store a ban or mute (replacing one in force) and its log entry; `actor_id` None: the server itself."""
    now = utcnow()
    until = now + timedelta(seconds=seconds) if seconds else None
    await repository.lift_sanctions(session, room_id, target.id, kind, now)  # a new one replaces the old
    sanction = RoomSanction(room_id=room_id, user_id=target.id, kind=kind, reason=reason, expires_at=until,
                            created_by=actor_id)  # fmt: skip
    if kind == "ban" and target.is_guest:  # a new guest identity from the same device or address is refused too
        sanction.device_hash, sanction.address = target.device_hash, target.guest_address
    session.add(sanction)
    await session.flush()
    details: dict[str, Any] = {"sanctionId": sanction.id, "until": iso_z(until), "reason": reason}
    if member is not None:
        details["role"] = member.role.value
    entry = service.record(session, room_id, actor_id, kind, target.id, details)
    await session.flush()
    return entry, until


async def ban(session: AsyncSession, user: User, room_id: int, data: SanctionIn) -> ModerationEntryRead:
    """Ban an account, for a time or until lifted: a member is removed at once (sockets closed with 4003 on every
    process), and nobody banned joins again, by password, invite or ticket."""
    entry, member, until = await _sanction(session, user, room_id, "ban", data)
    if member is not None:
        await repository.delete_member(session, room_id, data.user_id)
        await session.flush()
        _remove(session, room_id, data.user_id, "ban", data.reason)
    _announce(session, room_id, entry, until)
    return (await _reads(session, [entry]))[0]


async def mute(session: AsyncSession, user: User, room_id: int, data: SanctionIn) -> ModerationEntryRead:
    """Mute a person's chat, for a time or until lifted; they still watch."""
    entry, _, until = await _sanction(session, user, room_id, "mute", data)
    _announce(session, room_id, entry, until)
    return (await _reads(session, [entry]))[0]


async def flood_mute(session: AsyncSession, room_id: int, user_id: int, seconds: int) -> None:
    """The server itself mutes a flooder (no actor in the log); the caller keeps this though it refuses the
    message that tipped it."""
    target = await users_service.get_user(session, user_id)
    assert target is not None  # the flooder is signed in
    entry, until = await _impose(session, room_id, target, "mute", seconds, "flooding", actor_id=None)
    _announce(session, room_id, entry, until)


async def lift(session: AsyncSession, user: User, room_id: int, kind: policy.Moderation, target_id: int,
               *, reverts: ModerationEntry | None = None) -> ModerationEntryRead:  # fmt: skip
    """Lift a ban or a mute in force (404 `not_sanctioned` if there is none)."""
    _, asker = await _asker(session, room_id, user, kind)
    await _target(session, room_id, asker, kind, target_id)
    now = utcnow()
    if not await repository.lift_sanctions(session, room_id, target_id, kind, now):
        raise NotSanctioned()
    original = reverts or await repository.last_unreverted_entry(session, room_id, target_id, kind)
    if original is not None:
        original.reverted_at, original.reverted_by = now, user.id
    details = {"reverts": original.id} if original is not None else {}
    entry = service.record(session, room_id, user.id, f"un{kind}", target_id, details)
    await session.flush()
    _announce(session, room_id, entry)
    return (await _reads(session, [entry]))[0]


async def hand_over(session: AsyncSession, user: User, room_id: int, data: HostIn) -> ModerationEntryRead:
    """The host makes another member the host, and becomes a moderator; every viewer sees both at once."""
    room, asker = await _asker(session, room_id, user, "handOver")
    target = await repository.get_member(session, room_id, data.user_id)
    why = policy.may_hand_over(asker.role.value, target.role.value if target else None,
                               itself=data.user_id == user.id)  # fmt: skip
    if why is not None:
        raise CannotModerate(why) if target is not None or data.user_id == user.id else MemberNotFound(why)
    assert target is not None
    previous = target.role.value
    room.host_id, target.role, asker.role = target.user_id, MemberRole.HOST, MemberRole.MODERATOR
    entry = service.record(session, room_id, user.id, "host", target.user_id, {"from": previous, "to": "host"})
    await session.flush()
    invalidate(session, "rooms", f"room:{room_id}")
    live_change(session, room_id, RoleSet(target.user_id, MemberRole.HOST.value), by=user.id)
    live_change(session, room_id, RoleSet(user.id, MemberRole.MODERATOR.value), by=user.id)
    return (await _reads(session, [entry]))[0]


# ---- chat rules: slow mode and the word filter ------------------------------------------------------------------


async def chat_rules_of(session: AsyncSession, user: User, room_id: int) -> ChatRulesRead:
    room, _ = await _asker(session, room_id, user, "moderateChat")
    return _rules(room)


async def set_chat_rules(session: AsyncSession, user: User, room_id: int, data: ChatRulesIn) -> ChatRulesRead:
    """Slow mode and the word filter (host and moderators); logged, and told to the room (`chatRules`)."""
    room, _ = await _asker(session, room_id, user, "moderateChat")
    before = _rules(room).model_dump(by_alias=True)
    for field, value in data.model_dump(exclude_unset=True, exclude_none=True).items():
        setattr(room, field, value)
    after = _rules(room)
    if after.model_dump(by_alias=True) != before:
        service.record(
            session, room_id, user.id, "rules", None, {"from": before, "to": after.model_dump(by_alias=True)}
        )
        await session.flush()
        invalidate(session, f"room:{room_id}")
        room_event(session, room_id, {"type": "chatRules", "slowModeSeconds": room.slow_mode_seconds, "by": user.id})
    return after


async def test_filter(session: AsyncSession, user: User, room_id: int, data: FilterTestIn) -> FilterTestRead:
    """What the room's filter would do to a text (host and moderators): nothing is stored."""
    room, _ = await _asker(session, room_id, user, "moderateChat")
    verdict, text = chat_rules.judge(data.text, room.word_filter or [], room.filter_mode)
    return FilterTestRead(verdict=verdict, text=text)


def _rules(room: Room) -> ChatRulesRead:
    return ChatRulesRead(
        slow_mode_seconds=room.slow_mode_seconds,
        word_filter=list(room.word_filter or []),
        filter_mode=room.filter_mode,
    )


# ---- the log ------------------------------------------------------------------------------------------------------


async def log(
    session: AsyncSession, user: User, room_id: int, *, before: int | None, limit: int
) -> list[ModerationEntryRead]:
    """The room's moderation log, newest first (host and moderators)."""
    await _asker(session, room_id, user, "moderationLog")
    return await _reads(session, await repository.page_of_entries(session, room_id, before=before, limit=limit))


async def sanctions(session: AsyncSession, user: User, room_id: int, kind: str) -> list[SanctionRead]:
    """The bans (or mutes) in force (host and moderators)."""
    await _asker(session, room_id, user, "moderationLog")
    rows = await repository.sanctions_in_force(session, room_id, kind, utcnow())
    names = await repository.users_by_id(session, {s.created_by for s, _, _ in rows if s.created_by is not None})
    return [
        SanctionRead(
            user=users_service.to_public(s.user_id, username, avatars),
            reason=s.reason,
            expires_at=s.expires_at,
            created_by=_public(s.created_by, names),
            created_at=s.created_at,
        )
        for s, username, avatars in rows
    ]


async def revert(session: AsyncSession, user: User, room_id: int, entry_id: int) -> ModerationEntryRead:
    """Undo a logged action: lift a ban or a mute, let a kicked person back in, put a role back, or hand the host
    role back. It takes the right the action took; 409 `not_reversible` if it is undone already, or the world moved
    on (the person is back, has another role, or the ban expired)."""
    entry = await repository.get_entry(session, room_id, entry_id)
    if entry is None:
        raise EntryNotFound()
    if entry.action in ("delete", "clear") and entry.reverted_at is None:
        return await _restore(session, user, room_id, entry)
    if entry.reverted_at is not None or entry.target_id is None:
        raise NotReversible("That action was undone already" if entry.reverted_at else None)
    match entry.action:
        case "ban" | "mute":
            kind: policy.Moderation = "ban" if entry.action == "ban" else "mute"
            if not await _in_force(session, entry):
                raise NotReversible("That ban or mute is not in force any more")
            undone = await lift(session, user, room_id, kind, entry.target_id, reverts=entry)
            if kind == "ban" and entry.details.get("role"):
                await _readmit(session, room_id, entry.target_id, entry.details["role"])
            return undone
        case "kick":
            _, asker = await _asker(session, room_id, user, "kick")
            await _target(session, room_id, asker, "kick", entry.target_id)
            if not await _readmit(session, room_id, entry.target_id, entry.details.get("role") or "member"):
                raise NotReversible("That person is a member again already")
            return await _reverted(session, user, room_id, entry, "readmit")
        case "role":
            return await _revert_role(session, user, room_id, entry)
        case "host":
            return await _revert_host(session, user, room_id, entry)
    raise NotReversible("An undo is not undone; do the action again instead")


async def _restore(session: AsyncSession, user: User, room_id: int, entry: ModerationEntry) -> ModerationEntryRead:
    """Bring back a deleted message, or a cleared chat, for everyone (`chatRestored`)."""
    await _asker(session, room_id, user, "moderateChat")
    if entry.action == "delete":
        restored = await repository.restore_messages(session, room_id, message_id=entry.details["messageId"])
    else:
        restored = await repository.restore_messages(session, room_id, deleted_at=entry.details["at"])
    entry.reverted_at, entry.reverted_by = utcnow(), user.id
    undo = service.record(session, room_id, user.id, "restore", entry.target_id,
                          {"reverts": entry.id, "count": restored})  # fmt: skip
    await session.flush()
    invalidate(session, f"chat:{room_id}")
    room_event(session, room_id, {"type": "chatRestored", "by": user.id})
    return (await _reads(session, [undo]))[0]


async def _revert_role(session: AsyncSession, user: User, room_id: int, entry: ModerationEntry) -> ModerationEntryRead:
    _, asker = await _asker(session, room_id, user, "setRole")
    assert entry.target_id is not None
    member = await repository.get_member(session, room_id, entry.target_id)
    if member is None or member.role.value != entry.details.get("to"):
        raise NotReversible("That member's role changed since")
    member.role = MemberRole(entry.details["from"])
    live_change(session, room_id, RoleSet(member.user_id, member.role.value), by=asker.user_id)
    invalidate(session, f"room:{room_id}")
    return await _reverted(session, user, room_id, entry, "role", {"from": entry.details["to"],
                                                                   "to": entry.details["from"]})  # fmt: skip


async def _revert_host(session: AsyncSession, user: User, room_id: int, entry: ModerationEntry) -> ModerationEntryRead:
    room, _ = await _asker(session, room_id, user, "handOver")
    if entry.actor_id is None or room.host_id != entry.target_id:
        raise NotReversible("The host role moved on since")
    back = await hand_over(session, user, room_id, HostIn(user_id=entry.actor_id))
    entry.reverted_at, entry.reverted_by = utcnow(), user.id
    await session.flush()
    return back


async def _reverted(
    session: AsyncSession,
    user: User,
    room_id: int,
    entry: ModerationEntry,
    action: str,
    details: dict[str, Any] | None = None,
) -> ModerationEntryRead:
    entry.reverted_at, entry.reverted_by = utcnow(), user.id
    undo = service.record(session, room_id, user.id, action, entry.target_id, {"reverts": entry.id, **(details or {})})
    await session.flush()
    if action == "readmit":
        _announce(session, room_id, undo)
    return (await _reads(session, [undo]))[0]


async def _readmit(session: AsyncSession, room_id: int, user_id: int, role: str) -> bool:
    """Make a removed person a member again, with the role they had (the host role excepted); False if they are a
    member already. The room's capacity holds."""
    room = await repository.get_room(session, room_id)
    if room is None or await repository.get_member(session, room_id, user_id) is not None:
        return False
    if await repository.sanction_in_force(session, room_id, user_id, "ban", utcnow()) is not None:
        raise NotReversible("That person is banned; lift the ban instead")
    if await repository.count_members(session, room_id) >= room.capacity:
        raise RoomFull.of(room.capacity)
    session.add(RoomMember(room_id=room_id, user_id=user_id, role=MemberRole(role if role != "host" else "member")))
    await session.flush()
    invalidate(session, "rooms", f"room:{room_id}")
    return True


async def _in_force(session: AsyncSession, entry: ModerationEntry) -> bool:
    assert entry.target_id is not None
    current = await repository.sanction_in_force(session, entry.room_id, entry.target_id, entry.action, utcnow())
    return current is not None and current.id == entry.details.get("sanctionId")


async def _reads(session: AsyncSession, entries: list[ModerationEntry]) -> list[ModerationEntryRead]:
    ids = {i for e in entries for i in (e.actor_id, e.target_id, e.reverted_by) if i is not None}
    names = await repository.users_by_id(session, ids)
    return [
        ModerationEntryRead(
            id=e.id,
            action=e.action,
            actor=_public(e.actor_id, names),
            target=_public(e.target_id, names),
            details=e.details,
            created_at=e.created_at,
            reverted_at=e.reverted_at,
            reverted_by=_public(e.reverted_by, names),
            reversible=await _reversible(session, e),
        )
        for e in entries
    ]


async def _reversible(session: AsyncSession, entry: ModerationEntry) -> bool:
    if entry.action in ("delete", "clear"):
        return entry.reverted_at is None
    if entry.reverted_at is not None or entry.target_id is None:
        return False
    match entry.action:
        case "ban" | "mute":
            return await _in_force(session, entry)
        case "kick":
            return await repository.get_member(session, entry.room_id, entry.target_id) is None
        case "role":
            member = await repository.get_member(session, entry.room_id, entry.target_id)
            return member is not None and member.role.value == entry.details.get("to")
        case "host":
            room = await repository.get_room(session, entry.room_id)
            return room is not None and room.host_id == entry.target_id
    return False


def _public(user_id: int | None, names: dict[int, tuple[str, dict[str, str] | None]]) -> Any:
    if user_id is None or user_id not in names:
        return None
    username, avatars = names[user_id]
    return users_service.to_public(user_id, username, avatars)
