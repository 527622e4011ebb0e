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


class RoomFull(AppError):
    status_code = 409
    code = "room_full"
    message = "This room is full"


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
