"""Execution: signing and submitting transactions; `venue_legs`: a plan's exchange and broker
legs, previewed (dry run) or executed with the journal as their store."""
