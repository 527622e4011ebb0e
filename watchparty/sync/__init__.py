"""Realtime rooms: the sync protocol, the pure room engine, and (next) the WebSocket hub."""
