"""The movie catalogue."""
