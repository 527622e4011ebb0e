from watchparty.core.errors import Forbidden, NotFound, ValidationFailed


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
