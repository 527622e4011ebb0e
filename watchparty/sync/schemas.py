from __future__ import annotations

from pydantic import Field

from watchparty.core.schemas import CamelModel


class TicketRead(CamelModel):
    ticket: str = Field(description="single use; connect to WS /api/rooms/{id}/ws?ticket=... within expiresIn seconds")
    expires_in: int
