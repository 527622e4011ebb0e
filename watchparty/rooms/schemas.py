"""Room shapes on the wire."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import Field, model_validator

from watchparty.core.schemas import CamelModel, InputModel
from watchparty.core.validators import Description, Language, MediaUrl, Name, Title
from watchparty.models import MemberRole, RoomVisibility
from watchparty.movies.schemas import MovieSummary
from watchparty.rooms import chat_rules, playlist
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
    guests_allowed: bool | None = Field(
        default=None, description="people with the link may join with only a name; default: on unless private"
    )


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
    guests_allowed: bool | None = Field(default=None, description="people with the link may join with only a name")
    subtitle_language: Language | None = Field(
        default=None, description="the room's default subtitle language (BCP 47); `null` clears it (host)"
    )


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
    guests_allowed: bool = Field(description="people with the link may join with only a name (as guests)")
    slow_mode_seconds: int = Field(description="one chat message per this many seconds per member (0: off)")
    subtitle_language: str | None = Field(
        description="the room's default subtitle language: viewers who chose nothing see the track in it"
    )
    last_activity_at: datetime
    created_at: datetime


class MyRoomRead(CamelModel):
    room: RoomRead
    role: MemberRole = Field(description="the caller's role in the room: host, moderator, member or guest")
    last_seen_at: datetime = Field(description="when the caller last joined the room or wrote in its chat")


class MemberRead(CamelModel):
    user: UserPublic
    role: MemberRole
    joined_at: datetime
    last_seen_at: datetime


# ---- the playlist (ADR 0015) ----------------------------------------------------------------------------------

BaseVersion = Annotated[
    int, Field(ge=0, le=2**31 - 1, description="the playlist version this operation is based on (GET .../playlist)")
]
ItemRef = Annotated[int, Field(ge=1, le=2**31 - 1)]


class PlaylistItemRead(CamelModel):
    id: int
    movie: MovieSummary
    added_by: UserPublic | None = Field(description="null once that account is gone")
    added_at: datetime
    votes: int = Field(description="up-votes (vote mode orders the items still to come by these)")
    voters: list[int] = Field(description="the ids of the members who voted it up")


class PlaylistRead(CamelModel):
    version: int = Field(description="every operation but a vote names the version it was based on")
    mode: playlist.Mode = Field(description="manual: the order as placed; vote: items still to come by votes")
    loop: playlist.Loop = Field(description="at the end of an item: off (the next, or stop), one, all (wrap round)")
    current_item_id: int | None = Field(description="the item playing (the room's movie), or null")
    current_index: int | None = Field(description="its index in `items`")
    members_add: bool = Field(description="every member may add items (else the host and moderators)")
    skip_ratio: float = Field(description="the share of present voters whose skip votes skip the playing item")
    queue_cap: int = Field(description="how many items still to come one member may have added")
    items: list[PlaylistItemRead]


class ItemAdd(InputModel):
    """A catalogue movie (`movieId`), or a media URL that joins the catalogue on the way in (`url`, `title`)."""

    base_version: BaseVersion
    movie_id: MovieRef | None = None
    url: MediaUrl | None = None
    title: Title | None = Field(default=None, description="for `url`: the default is the URL's file name")
    at: playlist.Where = Field(default="end", description="end, or next (right after the playing item)")

    @model_validator(mode="after")
    def _one_source(self) -> ItemAdd:
        if (self.movie_id is None) == (self.url is None):
            raise ValueError("Give exactly one of a catalogue movie (movieId) and a video address (url).")
        return self


class ItemMove(InputModel):
    base_version: BaseVersion
    index: Annotated[int, Field(ge=0, le=playlist.MAX_ITEMS, description="its new 0-based place in the list")]


class Based(InputModel):
    base_version: BaseVersion


class PlaylistUpdate(InputModel):
    """Send only what changes: mode and loop (host and moderators); the room rules membersAdd, skipRatio and
    queueCap (the host)."""

    base_version: BaseVersion
    mode: playlist.Mode | None = None
    loop: playlist.Loop | None = None
    members_add: bool | None = None
    skip_ratio: Annotated[float, Field(gt=0, le=1)] | None = None
    queue_cap: Annotated[int, Field(ge=1, le=playlist.MAX_ITEMS)] | None = None


class VoteIn(InputModel):
    up: bool = Field(description="true: vote it up; false: take the vote back")


class ImportEntry(InputModel):
    url: str = Field(max_length=4096, description="checked line by line: a bad one is reported, not fatal")
    title: str | None = Field(default=None, max_length=400)


class PlaylistImport(InputModel):
    """Up to 200 media URLs, one per line (`text`), or a JSON list (`items`, each with url and title)."""

    base_version: BaseVersion
    text: Annotated[str, Field(max_length=playlist.MAX_IMPORT * 2200)] | None = None
    items: Annotated[list[ImportEntry], Field(max_length=playlist.MAX_IMPORT)] | None = None
    at: playlist.Where = "end"

    @model_validator(mode="after")
    def _one_source(self) -> PlaylistImport:
        if (self.text is None) == (self.items is None):
            raise ValueError("Give exactly one of text (one address a line) and items.")
        return self


class ImportLineError(CamelModel):
    line: int = Field(description="1-based: the line of `text`, or the entry of `items`")
    reason: str


class ImportRead(CamelModel):
    added: int
    errors: list[ImportLineError]
    playlist: PlaylistRead


# ---- moderation (ADR 0016) ---------------------------------------------------------------------------------------

MIN_SANCTION_SECONDS, MAX_SANCTION_SECONDS = 60, 365 * 86400
UserRef = Annotated[int, Field(ge=1, le=2**31 - 1)]
SanctionSeconds = Annotated[
    int,
    Field(
        ge=MIN_SANCTION_SECONDS,
        le=MAX_SANCTION_SECONDS,
        description="how long it lasts: 60 s to 365 days; leave it out for a ban or mute until lifted",
    ),
]
Reason = Annotated[str, Field(min_length=1, max_length=200, description="shown to the person and in the log")]
ModerationAction = Literal[
    "kick", "ban", "unban", "mute", "unmute", "role", "host", "readmit", "delete", "clear", "restore", "rules"
]


class SanctionIn(InputModel):
    """A ban or a mute."""

    user_id: UserRef
    duration_seconds: SanctionSeconds | None = None
    reason: Reason | None = None


class KickIn(InputModel):
    reason: Reason | None = None


class HostIn(InputModel):
    user_id: UserRef = Field(description="a member of the room; the host becomes a moderator")


class SanctionRead(CamelModel):
    user: UserPublic
    reason: str | None
    expires_at: datetime | None = Field(description="null: until lifted")
    created_by: UserPublic | None
    created_at: datetime


class ModerationEntryRead(CamelModel):
    id: int
    action: ModerationAction
    actor: UserPublic | None = Field(description="null: the server itself (a flood mute), or an account now gone")
    target: UserPublic | None
    details: dict[str, Any] = Field(
        description="per action: `until` and `reason` (ban, mute), `role` before a kick or ban, `from`/`to` roles "
        "(role, host), `reverts` (the entry an undo undid)"
    )
    created_at: datetime
    reverted_at: datetime | None
    reverted_by: UserPublic | None
    reversible: bool = Field(description="POST …/moderation-log/{id}/revert would undo it now")


FilterWord = Annotated[str, Field(min_length=1, max_length=chat_rules.MAX_WORD_LENGTH)]


class ChatRulesIn(InputModel):
    """Send only what changes."""

    slow_mode_seconds: Annotated[int, Field(ge=0, le=3600)] | None = Field(
        default=None, description="one message per this many seconds per member; 0: off (host, moderators exempt)"
    )
    word_filter: Annotated[list[FilterWord], Field(max_length=chat_rules.MAX_WORDS)] | None = Field(
        default=None, description="words or phrases, matched whole and in any case"
    )
    filter_mode: Literal["mask", "block"] | None = Field(default=None, description="mask the words, or refuse")


class ChatRulesRead(CamelModel):
    slow_mode_seconds: int
    word_filter: list[str]
    filter_mode: Literal["mask", "block"]


class FilterTestIn(InputModel):
    text: Annotated[str, Field(min_length=1, max_length=2000)]


class FilterTestRead(CamelModel):
    verdict: Literal["clean", "masked", "blocked"]
    text: str = Field(description="the text as it would be stored")
