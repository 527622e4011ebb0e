"""Chat shapes on the wire."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Final, Literal, get_args

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

from watchparty.core.schemas import CamelModel, InputModel
from watchparty.core.validators import no_control_chars
from watchparty.users.schemas import UserPublic

# Stored as plain text; clients escape it when they render it.
Content = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000), AfterValidator(no_control_chars)
]


Reaction = Literal["👍", "❤️", "😂", "😮", "😢", "🎉"]
REACTIONS: Final[tuple[str, ...]] = get_args(Reaction)


class MessageCreate(InputModel):
    content: Content
    video_position: Annotated[float, Field(ge=0, le=7 * 24 * 3600, allow_inf_nan=False)] | None = None
    reply_to: Annotated[int, Field(ge=1, le=2**31 - 1)] | None = Field(
        default=None, description="the id of the message this answers, in the same room"
    )


class ReplyRead(CamelModel):
    id: int
    author_name: str | None
    excerpt: str | None = Field(description="its first 100 characters; null once it was deleted")


class ReactionRead(CamelModel):
    emoji: Reaction
    count: int
    user_ids: list[int]


class ReactionIn(InputModel):
    emoji: Reaction = Field(description="one of 👍 ❤️ 😂 😮 😢 🎉")
    on: bool = Field(default=True, description="false takes one's reaction back")


class MessageRead(CamelModel):
    id: int
    room_id: int
    user: UserPublic | None = Field(description="null once the account is gone (`authorName` keeps the name)")
    author_name: str | None = Field(default=None, description="the author's name; kept when their account goes")
    content: str
    video_position: float | None
    created_at: datetime
    reply_to: ReplyRead | None = None
    reactions: list[ReactionRead] = Field(default_factory=list, description="in the fixed order of the set")


class Cursor(BaseModel):
    model_config = ConfigDict(populate_by_name=True)  # read back from the wire too (its own JSON validates)

    limit: int
    has_more: bool = Field(alias="hasMore")
    next_before: int | None = Field(alias="nextBefore")


class MessagePage(BaseModel):
    success: bool = True
    data: list[MessageRead]
    pagination: Cursor


class ClearedRead(CamelModel):
    removed: int = Field(description="how many messages were hidden")
