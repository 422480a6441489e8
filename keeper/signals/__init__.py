"""Pure signals: each takes plain values and returns plain values (no I/O)."""
