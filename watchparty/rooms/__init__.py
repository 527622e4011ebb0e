"""Rooms: who is in them, who runs them, and who may see them."""
