from watchparty.core.errors import Conflict, Forbidden, NotFound, PayloadTooLarge, ValidationFailed


class MovieNotFound(NotFound):
    code = "movie_not_found"
    message = "No such movie"


class NotMovieOwner(Forbidden):
    code = "not_movie_owner"
    message = "Only the movie's creator or an administrator can change it"


class MediaRefused(ValidationFailed):
    code = "media_refused"
    message = "The media check found that this movie will not play in a browser"


class SubtitleNotFound(NotFound):
    code = "subtitle_not_found"
    message = "No such subtitle track"


class InvalidSubtitle(ValidationFailed):
    code = "invalid_subtitle"
    message = "The subtitle file cannot be read"


class TooManySubtitles(ValidationFailed):
    code = "too_many_subtitles"
    message = "A movie has at most 20 subtitle tracks; remove one first"


class UploadNotFound(NotFound):
    code = "upload_not_found"
    message = "No such upload"


class UploadOffsetMismatch(Conflict):
    code = "upload_offset_mismatch"
    message = "This chunk does not start where the upload stands; continue from `offset`"


class UploadNotReceiving(Conflict):
    code = "upload_not_receiving"
    message = "This upload has all its bytes; it takes no more chunks"


class UploadTooLarge(PayloadTooLarge):
    code = "upload_too_large"
    message = "The file is over the upload limit"


class QuotaExceeded(PayloadTooLarge):
    code = "upload_quota_exceeded"
    message = "Your uploads would be over your quota; delete one first"
