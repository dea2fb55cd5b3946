"""HQ's HTTP API under /v1: the kiosk API (`kiosk`) and the staff API (`admin`).

Routers are built by functions that take their dependencies (database, clock,
admin token); `hq.app` wires them. The contract is docs/hq-api.md.
"""
