"""Static pages served by the app (the queue dashboard; the web client joins them here)."""

from pathlib import Path

STATIC_DIR = Path(__file__).parent / "static"
