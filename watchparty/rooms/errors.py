from __future__ import annotations

from watchparty.core.errors import AppError, Forbidden, NotFound


class RoomNotFound(NotFound):
    code = "room_not_found"
    message = "No such room"


class NotRoomMember(Forbidden):
    code = "not_a_member"
    message = "Join the room first"


class NotRoomHost(Forbidden):
    code = "not_room_host"
    message = "Only the room's host can do this"


class WrongRoomPassword(Forbidden):
    code = "wrong_room_password"
    message = "The room password is missing or wrong"


class InvalidInvite(Forbidden):
    code = "invalid_invite"
    message = "The invite is invalid, used or expired"


class InviteUsed(Forbidden):
    code = "invite_used"
    message = "This invite was already used: an invite admits one person, once. Ask the host for a new one."


class InviteExpired(Forbidden):
    code = "invite_expired"
    message = "This invite has expired. Ask the host for a new one."


class RoomFull(AppError):
    status_code = 409
    code = "room_full"
    message = "This room is full"

    @classmethod
    def of(cls, capacity: int) -> RoomFull:
        return cls(f"This room is full: it holds {capacity} people", details=[{"limit": capacity}])


class CapacityBelowMembers(AppError):
    status_code = 409
    code = "capacity_below_members"
    message = "The room already has more members than that"


class NotAllowed(Forbidden):
    code = "not_allowed"
    message = "Your role in this room does not allow that"


class InvalidRoleChange(AppError):
    status_code = 422
    code = "invalid_role_change"
    message = "That role change is not possible"


class StalePlaylist(AppError):
    """An operation based on an older playlist version: nothing changed; `details` carries the current list."""

    status_code = 409
    code = "stale_playlist"
    message = "The playlist changed since that version; here is the current one"


class PlaylistConflict(AppError):
    status_code = 409
    code = "playlist_conflict"
    message = "That is not possible with the playlist as it is"


class PlaylistFull(AppError):
    status_code = 409
    code = "playlist_full"
    message = "The playlist is full"


class QueueCapReached(AppError):
    status_code = 409
    code = "queue_cap_reached"
    message = "You have as many items waiting to play as this room allows"


class ItemNotFound(NotFound):
    code = "item_not_found"
    message = "No such item in this room's playlist"


class ImportTooLong(AppError):
    status_code = 422
    code = "import_too_long"
    message = "An import takes at most 200 lines"


class CannotModerate(Forbidden):
    """A moderation action the room's rules refuse for this target: yourself, the host, an administrator, or a
    moderator when the asker is not the host. The message says which."""

    code = "cannot_moderate"
    message = "You cannot do that to this person"


class MemberNotFound(NotFound):
    code = "member_not_found"
    message = "No such member in this room"


class UserNotFound(NotFound):
    code = "user_not_found"
    message = "No such user"


class NotSanctioned(NotFound):
    code = "not_sanctioned"
    message = "That person is not banned or muted here"


class EntryNotFound(NotFound):
    code = "entry_not_found"
    message = "No such entry in this room's moderation log"


class NotReversible(AppError):
    status_code = 409
    code = "not_reversible"
    message = "That action cannot be undone now"


class Banned(Forbidden):
    code = "banned"
    message = "You are banned from this room"


class Muted(Forbidden):
    code = "muted"
    message = "You are muted in this room"


class GuestsNotAllowed(Forbidden):
    code = "guests_not_allowed"
    message = "This room lets in people with an account only: sign up or sign in to join"
