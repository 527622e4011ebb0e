"""The response envelope and the camelCase base models every domain uses."""

from __future__ import annotations

import math
from typing import Annotated, Any, Generic, TypeVar

from fastapi import Path, Query
from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

T = TypeVar("T")

MAX_PAGE_LIMIT = 100


class CamelModel(BaseModel):
    """Output models: camelCase on the wire, snake_case in Python."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, from_attributes=True)


class InputModel(CamelModel):
    """Request bodies: unknown fields are refused, so that nothing is mass-assigned."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid")


class Envelope(BaseModel, Generic[T]):
    success: bool = True
    data: T


class Pagination(BaseModel):
    page: int
    limit: int
    total: int
    pages: int


class Page(BaseModel, Generic[T]):
    success: bool = True
    data: list[T]
    pagination: Pagination

    @classmethod
    def of(cls, items: list[Any], *, page: int, limit: int, total: int) -> Page[T]:
        return cls(data=items, pagination=Pagination(**pagination(PageParams(page=page, limit=limit), total)))


def pagination(page: PageParams, total: int) -> dict[str, int]:
    """Pagination's wire form (also what Page.of validates), for reads that encode rows directly (ADR 0012)."""
    pages = math.ceil(total / page.limit) if total else 0
    return {"page": page.page, "limit": page.limit, "total": total, "pages": pages}


class ErrorDetail(BaseModel):
    """One entry of `error.details`. A 422 names the `field`, the failed check's `code` (pydantic's error type;
    `missing` for a field left empty), its number as `limit` where it has one, and a sentence as `message`. A 413
    gives its limit in bytes; a full room its capacity. Other errors carry data of their own here, such as a ban's
    `until`, an invite's `usedAt` or `expiredAt`, or an upload's `expected` offset."""

    model_config = ConfigDict(extra="allow")

    field: str | None = Field(default=None, description="the request field, dotted (`body` for the whole body)")
    code: str | None = Field(default=None, description="the failed check, e.g. missing, string_too_short")
    message: str | None = Field(default=None, description="a sentence a person can act on, in English")
    limit: int | float | None = Field(default=None, description="the check's number: a length, a bound, bytes")


class ErrorBody(BaseModel):
    code: str
    message: str
    details: list[ErrorDetail] | None = None


class ErrorEnvelope(BaseModel):
    success: bool = Field(default=False)
    error: ErrorBody


class PageParams(BaseModel):
    page: int
    limit: int

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.limit


PageNumber = Annotated[int, Query(ge=1, le=100_000, description="1-based page number")]
PageLimit = Annotated[int, Query(ge=1, le=MAX_PAGE_LIMIT, description="items per page")]


async def page_params(
    page: PageNumber = 1,
    limit: PageLimit = 10,
) -> PageParams:
    return PageParams(page=page, limit=limit)


def model_dump_camel(model: BaseModel) -> dict[str, Any]:
    return model.model_dump(mode="json", by_alias=True)


def _id_path(description: str) -> Any:
    return Path(ge=1, le=2**31 - 1, description=description)


# Path ids are bounded to the database's integer range, so a huge id is a 422, not a driver error.
RoomId = Annotated[int, _id_path("room id")]
MovieId = Annotated[int, _id_path("movie id")]


class JobAccepted(CamelModel):
    """A background job was queued; GET /api/queues/jobs/{jobId} tells how it is going."""

    job_id: str
    status: str
