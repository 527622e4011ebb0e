from __future__ import annotations

from pydantic import Field

from watchparty.core.schemas import CamelModel


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
