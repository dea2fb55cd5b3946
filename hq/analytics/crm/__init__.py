"""Connectors to an external CRM (HubSpot, Salesforce), both directions.

- `records`: pure: what HQ forwards of a customer (only what they consented to),
  which CRM opt-outs become withdrawals at HQ, which CRM edits of email, name and
  language HQ takes (phone: reported only), backoff delays.
- `connector`: the interface every CRM implements, and the neutral types it takes.
- `transport`: requests with retries, backoff + jitter, Retry-After (clock injected).
- `hubspot`, `salesforce`: the two implementations.
- `store`: HQ's side in its database: the queue, cursors, what each CRM holds,
  dead letters, sync state and the lease.
- `inbound`: the CRM's edits of contact fields applied at HQ (audit, feed, queues).
- `sync`: one round: bring back the CRM's opt-outs and edits, then push what changed.
- `config`: which connectors run, their URLs and secrets (env or 0600 files).
- `job`: the periodic round inside HQ; `cli`: `kiosk-hq crm sync|status`.

docs/crm-connectors.md says what goes where, field by field.
"""
