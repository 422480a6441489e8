"""Relays: one client per submission mode, over httpx."""
