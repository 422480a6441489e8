"""The rebalancing keeper."""
