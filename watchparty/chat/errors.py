from watchparty.core.errors import AppError, Forbidden, NotFound
from watchparty.rooms.errors import Muted


class MessageNotFound(NotFound):
    code = "message_not_found"
    message = "No such message in this room"


class InvalidReply(AppError):
    status_code = 422
    code = "invalid_reply"
    message = "A reply answers a message of this room that is still there"


class Filtered(Forbidden):
    code = "filtered"
    message = "Your message has a word this room does not allow"


class SlowMode(AppError):
    status_code = 429
    code = "slow_mode"
    message = "Slow mode is on"

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message, headers={"Retry-After": str(max(1, retry_after))})


class Flooded(Muted):
    """A flood mutes its sender; the mute (and its log entry) is kept though the message is refused."""

    keep_changes = True
