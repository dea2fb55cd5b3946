"""HQ insight: analytics over the chain's events: hourly rollups (rollup.py) and the
figures and charts the console's analytics pages show (figures.py, charts.py), the store
map, the recommendation model (model/) and the CRM connectors (crm/)."""
