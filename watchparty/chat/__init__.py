"""Chat messages in rooms."""
