"""Chat shapes on the wire."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

from watchparty.core.schemas import CamelModel, InputModel
from watchparty.core.validators import no_control_chars
from watchparty.users.schemas import UserPublic

# Stored as plain text; clients escape it when they render it.
Content = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000), AfterValidator(no_control_chars)
]


class MessageCreate(InputModel):
    content: Content
    video_position: Annotated[float, Field(ge=0, le=7 * 24 * 3600, allow_inf_nan=False)] | None = None


class MessageRead(CamelModel):
    id: int
    room_id: int
    user: UserPublic | None = Field(description="null once the account is gone (`authorName` keeps the name)")
    author_name: str | None = Field(default=None, description="the author's name; kept when their account goes")
    content: str
    video_position: float | None
    created_at: datetime


class Cursor(BaseModel):
    model_config = ConfigDict(populate_by_name=True)  # read back from the wire too (its own JSON validates)

    limit: int
    has_more: bool = Field(alias="hasMore")
    next_before: int | None = Field(alias="nextBefore")


class MessagePage(BaseModel):
    success: bool = True
    data: list[MessageRead]
    pagination: Cursor
