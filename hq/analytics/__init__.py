"""HQ analytics: rollups, the recommendation model, CRM connectors."""
