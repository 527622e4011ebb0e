"""Errors of the system endpoints."""

from __future__ import annotations

from watchparty.core.errors import AppError


class MetricsOff(AppError):
    """No METRICS_TOKEN is configured: the endpoint does not exist."""

    status_code = 404
    code = "not_found"
    message = "Not found"


class InvalidMetricsToken(AppError):
    status_code = 401
    code = "not_authenticated"
    message = "GET /api/metrics needs the METRICS_TOKEN as a bearer token"

    def __init__(self) -> None:
        super().__init__(headers={"WWW-Authenticate": "Bearer"})
