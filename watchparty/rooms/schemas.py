"""Room shapes on the wire."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import Field

from watchparty.core.schemas import CamelModel, InputModel
from watchparty.core.validators import Description, Name
from watchparty.models import MemberRole, RoomVisibility
from watchparty.movies.schemas import MovieSummary
from watchparty.users.schemas import Email, UserPublic

RoomPassword = Annotated[str, Field(min_length=4, max_length=128)]
Capacity = Annotated[int, Field(ge=2, le=500)]
MovieRef = Annotated[int, Field(ge=1, le=2**31 - 1)]
Token = Annotated[str, Field(min_length=10, max_length=200)]


class RoomCreate(InputModel):
    name: Name
    description: Description | None = None
    visibility: RoomVisibility = RoomVisibility.PUBLIC
    password: RoomPassword | None = None
    capacity: Capacity = 50
    movie_id: MovieRef | None = None


class RoomUpdate(InputModel):
    """Send only the fields to change. `password: null` removes the password; `movieId: null` clears the movie."""

    name: Name | None = None
    description: Description | None = None
    visibility: RoomVisibility | None = None
    password: RoomPassword | None = None
    capacity: Capacity | None = None
    movie_id: MovieRef | None = Field(
        default=None, description="the room's media: playback starts over from 0, paused, for every live viewer"
    )
    open_control: bool | None = Field(default=None, description="let every member control playback")


class RoleIn(InputModel):
    role: Literal["moderator", "member"] = Field(description="the host role moves by hand-over, not by this call")


class JoinIn(InputModel):
    password: Annotated[str, Field(max_length=128)] | None = None
    invite_token: Token | None = None


class InviteIn(InputModel):
    email: Email


class InviteRead(CamelModel):
    id: int
    email: str
    expires_at: datetime
    job_id: str = Field(description="The email job; its state is at GET /api/queues/jobs/{jobId}")


class RoomRead(CamelModel):
    id: int
    name: str
    description: str | None
    visibility: RoomVisibility
    has_password: bool
    capacity: int
    participant_count: int
    host: UserPublic
    movie: MovieSummary | None
    open_control: bool = Field(description="every member may control playback, not only the host and moderators")
    last_activity_at: datetime
    created_at: datetime


class MemberRead(CamelModel):
    user: UserPublic
    role: MemberRole
    joined_at: datetime
    last_seen_at: datetime
