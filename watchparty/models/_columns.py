"""Column helpers shared by the tables."""

from datetime import datetime
from typing import Annotated

from sqlalchemy.orm import mapped_column

from watchparty.core.clock import utcnow
from watchparty.core.db import UTCDateTime

CreatedAt = Annotated[datetime, mapped_column(UTCDateTime(), default=utcnow, nullable=False)]
UpdatedAt = Annotated[datetime, mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow, nullable=False)]
