"""HQ insight: analytics over the chain's events (rollups, the store map, models, connectors)."""
