"""The SQL of cleanup and reports: bulk statements, one per kind of row."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, select, union
from sqlalchemy.ext.asyncio import AsyncSession

from watchparty.models import ActivityReport, Message, OutboxJob, Room, RoomMember, User


async def delete_sent_outbox_rows(session: AsyncSession, before: datetime) -> int:
    result = await session.execute(
        delete(OutboxJob).where(OutboxJob.sent_at.is_not(None), OutboxJob.sent_at < before).returning(OutboxJob.id)
    )
    return len(result.all())


async def activity(session: AsyncSession, since: datetime) -> dict[str, int]:
    rooms = await session.scalar(select(func.count()).select_from(Room).where(Room.last_activity_at >= since))
    messages = await session.scalar(select(func.count()).select_from(Message).where(Message.created_at >= since))
    users_active = union(
        select(User.id.label("uid")).where(User.last_login_at >= since),
        select(Message.user_id.label("uid")).where(Message.created_at >= since, Message.user_id.is_not(None)),
    ).subquery()
    users = await session.scalar(select(func.count()).select_from(users_active))
    new_users = await session.scalar(select(func.count()).select_from(User).where(User.created_at >= since))
    return {
        "roomsActive": int(rooms or 0),
        "messages": int(messages or 0),
        "usersActive": int(users or 0),
        "usersNew": int(new_users or 0),
    }


async def totals(session: AsyncSession) -> dict[str, int]:
    out = {}
    for name, model in (("rooms", Room), ("messages", Message), ("users", User), ("members", RoomMember)):
        out[name] = int(await session.scalar(select(func.count()).select_from(model)) or 0)
    return out


async def add_report(
    session: AsyncSession, kind: str, start: datetime, end: datetime, data: dict[str, Any]
) -> ActivityReport:
    report = ActivityReport(kind=kind, period_start=start, period_end=end, data=data)
    session.add(report)
    await session.flush()
    return report


async def list_reports(session: AsyncSession, limit: int) -> list[ActivityReport]:
    rows = await session.scalars(select(ActivityReport).order_by(ActivityReport.id.desc()).limit(limit))
    return list(rows.all())
