"""Quote sources (I/O) and the pure choice among quotes."""
