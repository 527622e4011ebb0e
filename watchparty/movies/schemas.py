"""Movie shapes on the wire."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import Field, model_validator

from watchparty.core.schemas import CamelModel, InputModel
from watchparty.core.validators import Description, Genre, Language, MediaUrl, Title, TrackLabel, Url

Duration = Annotated[int, Field(ge=0, le=7 * 24 * 3600)]
Year = Annotated[int, Field(ge=1870, le=2100)]
Genres = Annotated[list[Genre], Field(max_length=10)]


class LocalFile(InputModel):
    """A file on the host's own disk (issue 21's local-file mode): it never leaves their machine; the room learns
    what each viewer's copy must match."""

    name: Annotated[str, Field(min_length=1, max_length=255)]
    size: Annotated[int, Field(ge=1, le=2**50)] = Field(description="bytes")
    duration: Annotated[float, Field(gt=0, le=7 * 24 * 3600)] = Field(
        description="seconds, as the host's browser read it"
    )
    fingerprint: Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")] = Field(
        description="SHA-256 (hex) of the file's first MiB followed by its last MiB"
    )


class MovieCreate(InputModel):
    """A movie by its URL (`videoUrl`), or a file everyone plays from their own disk (`localFile`): one of the two."""

    title: Title
    video_url: Url | None = None
    local_file: LocalFile | None = None
    description: Description | None = None
    poster_url: Url | None = None
    duration_seconds: Duration | None = None
    year: Year | None = None
    genres: Genres = Field(default_factory=list)

    @model_validator(mode="after")
    def _one_source(self) -> MovieCreate:
        if (self.video_url is None) == (self.local_file is None):
            raise ValueError("Give exactly one of a video address (videoUrl) and a local file (localFile).")
        return self


class MovieUpdate(InputModel):
    """Send only the fields to change; `null` clears an optional field."""

    title: Title | None = None
    video_url: Url | None = None
    description: Description | None = None
    poster_url: Url | None = None
    duration_seconds: Duration | None = None
    year: Year | None = None
    genres: Genres | None = None


def _from_row(cls: type[CamelModel], value: Any, marker: str, computed: Callable[[Any], dict[str, Any]]) -> Any:
    """An ORM row (it has `marker`) as a dict of the model's fields, with the fields computed from the row."""
    if not hasattr(value, marker):
        return value
    extra = computed(value)
    return {**{k: getattr(value, k) for k in cls.model_fields if k not in extra and hasattr(value, k)}, **extra}


class MediaCheck(CamelModel):
    """The media check's verdict (ADR 0017): `checking` until it comes, then `ready` or `refused`, with a code and
    a sentence for people (`ok`, `ok_no_cors`, `no_ranges`, `no_cors`, `codec`, `web_page`, `not_found`,
    `forbidden`, `http_error`, `timeout`, `unreachable`, `redirect_loop`, `private_address`, `live`,
    `not_media`, `unreadable`, `bad_url`), and what it found."""

    status: Literal["checking", "ready", "refused"]
    code: str | None = None
    message: str | None = None
    kind: Literal["file", "hls", "youtube", "local"] | None = Field(
        default=None, description="how the web client plays it (`local`: each viewer plays their own copy)"
    )
    content_type: str | None = None
    duration: float | None = Field(default=None, description="seconds")
    codecs: list[str] = Field(default_factory=list)
    ranges: bool | None = Field(default=None, description="its server answers range requests (a file needs them)")
    cors: bool | None = Field(default=None, description="its server lets our origin's pages fetch it")
    took_ms: float | None = None
    checked_at: str | None = None
    local_file: LocalFile | None = Field(default=None, description="with `kind: local`: what each copy must match")

    @classmethod
    def of(cls, status: str, facts: dict[str, Any] | None) -> MediaCheck:
        return cls.model_validate({**(facts or {}), "status": status})


class MovieSummary(CamelModel):
    id: int
    title: str
    poster_url: str | None
    video_url: str
    duration_seconds: int | None
    check: MediaCheck

    @model_validator(mode="before")
    @classmethod
    def _check_of_row(cls, value: Any) -> Any:  # a Movie row: its check from its two columns
        return _from_row(
            cls, value, "check_status", lambda row: {"check": MediaCheck.of(row.check_status, row.media_check)}
        )


class MovieRead(MovieSummary):
    description: str | None
    year: int | None
    genres: list[str]
    created_by: int | None
    created_at: datetime
    updated_at: datetime


class SubtitleByUrl(InputModel):
    url: MediaUrl = Field(
        description="an SRT, WebVTT or ASS/SSA file; fetched once by the server, as the media check fetches"
    )
    label: TrackLabel
    language: Language | None = None


class SubtitleRead(CamelModel):
    """A subtitle track, converted to WebVTT and served from this origin at `url`."""

    id: int
    movie_id: int
    label: str
    language: str | None
    source_format: str = Field(description="SRT, WebVTT, ASS or SSA")
    source_encoding: str = Field(description="utf-8, utf-16, cp1251 or latin-1, as the upload was read")
    cues: int
    url: str
    created_by: int | None
    created_at: datetime

    @model_validator(mode="before")
    @classmethod
    def _url_of_row(cls, value: Any) -> Any:  # a Subtitle row: where its WebVTT is served
        return _from_row(cls, value, "vtt", lambda row: {"url": f"/api/movies/{row.movie_id}/subtitles/{row.id}.vtt"})


class UploadCreate(InputModel):
    """The start of an upload: what the file is; its bytes follow in chunks (`PUT /api/uploads/{id}`)."""

    title: Title
    filename: Annotated[str, Field(min_length=1, max_length=255)]
    size: Annotated[int, Field(ge=1, le=2**50)] = Field(description="bytes, exactly")


class UploadError(CamelModel):
    code: str = Field(description="not_media, no_video, codec, unreadable, truncated, frame_too_large, too_long, "
                                  "failed")  # fmt: skip
    message: str


class UploadRead(CamelModel):
    """An upload and its transcode (ADR 0021): `receiving` until `received == size`, then `processing` (with
    `progress` 0–1; `movieId` appears once the first segments play), then `ready` or `failed` with `error`."""

    id: int
    title: str
    filename: str
    size: int
    received: int = Field(description="bytes the server holds: the next chunk starts here")
    chunk_bytes: int = Field(description="the largest chunk the server takes")
    status: Literal["receiving", "processing", "ready", "failed"]
    progress: float = Field(description="the transcode, 0 to 1")
    job_id: str | None = Field(description="the transcode job, once queued: `GET /api/queues/jobs/{jobId}`")
    error: UploadError | None
    movie_id: int | None = Field(description="the catalogue entry, once viewers can start")
    source: dict[str, Any] | None = Field(description="what the file is: duration, width, height, fps, codecs")
    renditions: list[dict[str, Any]] = Field(description="name, width, height and bitrate of each HLS rendition")
    created_at: datetime
    updated_at: datetime
