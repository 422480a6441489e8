"""Execution: signing and submitting transactions."""
