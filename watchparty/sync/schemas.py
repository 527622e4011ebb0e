from __future__ import annotations

from pydantic import Field

from watchparty.core.schemas import CamelModel, InputModel


class TicketRead(CamelModel):
    ticket: str = Field(description="single use; connect to WS /api/rooms/{id}/ws?ticket=... within expiresIn seconds")
    expires_in: int


class ViewerSkew(CamelModel):
    user_id: int
    skew_ms: float = Field(description="the viewer's position minus the room's at its last report; + is ahead")
    rtt_ms: float
    buffering: bool
    age_ms: int = Field(description="how long ago that report was written")


class SyncStats(CamelModel):
    viewers: int = Field(description="viewers with a position report (the last hour)")
    p50_ms: float | None = None
    p95_ms: float | None = None
    max_ms: float | None = None
    per_viewer: list[ViewerSkew] = Field(default_factory=list)


class SkipVoteIn(InputModel):
    item_id: int = Field(ge=1, le=2**31 - 1, description="the item playing (a vote on another one is refused)")
    vote: bool = Field(default=True, description="false takes the vote back")


class SkipVotesRead(CamelModel):
    item_id: int
    votes: int = Field(description="votes of the viewers present now")
    voters: list[int]
    needed: int = Field(description="max(1, ceil(skipRatio × viewers present who may vote)); reaching it skips")
