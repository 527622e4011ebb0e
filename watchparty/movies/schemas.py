"""Movie shapes on the wire."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import Field

from watchparty.core.schemas import CamelModel, InputModel
from watchparty.core.validators import Description, Genre, Title, Url

Duration = Annotated[int, Field(ge=0, le=7 * 24 * 3600)]
Year = Annotated[int, Field(ge=1870, le=2100)]
Genres = Annotated[list[Genre], Field(max_length=10)]


class MovieCreate(InputModel):
    title: Title
    video_url: Url
    description: Description | None = None
    poster_url: Url | None = None
    duration_seconds: Duration | None = None
    year: Year | None = None
    genres: Genres = Field(default_factory=list)


class MovieUpdate(InputModel):
    """Send only the fields to change; `null` clears an optional field."""

    title: Title | None = None
    video_url: Url | None = None
    description: Description | None = None
    poster_url: Url | None = None
    duration_seconds: Duration | None = None
    year: Year | None = None
    genres: Genres | None = None


class MovieSummary(CamelModel):
    id: int
    title: str
    poster_url: str | None
    video_url: str
    duration_seconds: int | None


class MovieRead(MovieSummary):
    description: str | None
    year: int | None
    genres: list[str]
    created_by: int | None
    created_at: datetime
    updated_at: datetime
