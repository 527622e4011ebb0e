"""ORM tables, one module per table. Importing this package registers them all on Base.metadata."""

from watchparty.core.db import Base
from watchparty.models.activity_report import ActivityReport
from watchparty.models.invite import Invite
from watchparty.models.media_upload import MediaUpload
from watchparty.models.message import Message, MessageReaction
from watchparty.models.moderation import ModerationEntry, RoomSanction
from watchparty.models.movie import Movie
from watchparty.models.outbox_job import OutboxJob
from watchparty.models.password_reset_token import PasswordResetToken
from watchparty.models.playlist_item import PlaylistItem, PlaylistVote
from watchparty.models.refresh_token import RefreshToken
from watchparty.models.room import Room, RoomVisibility
from watchparty.models.room_member import MemberRole, RoomMember
from watchparty.models.subtitle import Subtitle
from watchparty.models.user import User, UserRole

__all__ = [
    "ActivityReport",
    "Base",
    "Invite",
    "MediaUpload",
    "MemberRole",
    "Message",
    "MessageReaction",
    "ModerationEntry",
    "Movie",
    "OutboxJob",
    "PasswordResetToken",
    "PlaylistItem",
    "PlaylistVote",
    "RefreshToken",
    "Room",
    "RoomMember",
    "RoomSanction",
    "RoomVisibility",
    "Subtitle",
    "User",
    "UserRole",
]
