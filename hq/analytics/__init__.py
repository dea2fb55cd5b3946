"""HQ insight: SQL rollups, the recommendation model, CRM connectors."""
